"""Temporary directories of edgekit runs that were killed, removed by a later run (issue 17, item 8).

A run ended by SIGKILL (or a power cut) cannot clean up; the next ``edgekit`` command does, for the
directories it recognises by name in the system temp dir: ``edgekit-q-*``/``edgekit-q4-*``
(quantization: a full copy of the weights), ``edgekit-cv-*``, ``edgekit-tfq-*`` (conversion),
``ek-ssh-*`` (ssh control sockets) and onnxruntime's
``pre.quant.*`` (made by the quantizer edgekit calls). One is removed only when all of these hold:
it is a real directory owned by this user, it was last modified before this run started, no live
process has a file, working directory or unix socket in it, and either the process that made it (its
``.edgekit-owner`` file) is gone, or, for directories without one (``pre.quant.*``, which other
onnxruntime users make too), it has not changed for an hour.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import time
from pathlib import Path

OURS = ("edgekit-q-", "edgekit-q4-", "edgekit-cv-", "edgekit-tfq-", "ek-ssh-")
FOREIGN = ("pre.quant.",)
FOREIGN_AGE_S = 3600.0
OWNER = ".edgekit-owner"  # "pid start-time" of the process that made the directory


def make_temp_dir(prefix: str) -> Path:
    """``tempfile.mkdtemp`` plus an owner file, so a later run can tell a live owner from a dead one."""
    d = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        (d / OWNER).write_text(f"{os.getpid()} {_start_time(os.getpid())}")
    except OSError:
        pass  # unmarked: judged like a foreign directory
    except BaseException:  # Ctrl-C/SIGTERM right here: the caller never gets the path to remove it
        shutil.rmtree(d, ignore_errors=True)
        raise
    return d


@contextlib.contextmanager
def temp_dir(prefix: str):
    """``tempfile.TemporaryDirectory`` with an owner file (yields a Path)."""
    d = None
    try:
        d = make_temp_dir(prefix)
        yield d
    finally:
        if d is not None:
            shutil.rmtree(d, ignore_errors=True)


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (/proc/PID/stat field 22): a reused pid differs."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def _owner_alive(d: Path) -> bool | None:
    """True/False from the owner file; None when there is none (or it is unreadable)."""
    try:
        pid_s, start = (d / OWNER).read_text().split()
        pid = int(pid_s)
    except (OSError, ValueError):
        return None
    if not os.path.exists(f"/proc/{pid}") and not _pid_exists(pid):
        return False
    return start == "?" or _start_time(pid) in (start, "?")


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(tmpdir: str | None = None, started: float | None = None) -> list[Path]:
    """Remove stale temp directories; the ones removed. Never raises for a directory it cannot judge."""
    root = Path(tmpdir or tempfile.gettempdir())
    started = time.time() if started is None else started
    try:
        names = [n for n in os.listdir(root) if n.startswith(OURS + FOREIGN)]
    except OSError:
        return []
    candidates = [root / n for n in names if _stale(root / n, started)]
    if not candidates:
        return []
    busy = _in_use(candidates)
    removed = []
    for d in candidates:
        if d not in busy:
            shutil.rmtree(d, ignore_errors=True)
            if not d.exists():
                removed.append(d)
    return removed


def _stale(d: Path, started: float) -> bool:
    try:
        st = os.lstat(d)
    except OSError:
        return False
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():  # never follow a symlink, never others' files
        return False
    alive = _owner_alive(d)
    if alive is not None:
        return not alive and st.st_mtime < started
    return st.st_mtime < started - FOREIGN_AGE_S  # unmarked (pre.quant.*, older edgekit): an hour untouched


def _in_use(dirs: list[Path]) -> set[Path]:
    """The directories some live process uses: an open file or cwd in /proc, or a bound unix socket."""
    prefixes = {str(d.resolve()): d for d in dirs}
    busy: set[Path] = set()

    def mark(path: str) -> None:
        for prefix, d in prefixes.items():
            if path == prefix or path.startswith(prefix + os.sep):
                busy.add(d)

    try:
        with open("/proc/net/unix") as fh:  # ssh ControlMaster sockets: the master holds them, not as paths
            for line in fh:
                parts = line.split()
                if len(parts) >= 8:
                    mark(parts[7])
    except OSError:
        pass
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:  # no /proc (macOS): keep everything we cannot judge
        return set(dirs)
    for pid in pids:
        for link in ("cwd", "root"):
            try:
                mark(os.readlink(f"/proc/{pid}/{link}"))
            except OSError:
                pass
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                mark(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except OSError:
                pass
    return busy
