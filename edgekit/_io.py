"""Atomic output (a failure or Ctrl-C never leaves a partial file behind) and early output-path checks."""
from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import IO, Iterator

from .errors import InputError


def _temp_name(target: Path, suffix: str = "") -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + ".part", dir=target.parent)
    try:  # mkstemp makes the file 0600; an output should get the mode a plain open() would give it
        os.chmod(name, 0o666 & ~_umask())
    finally:
        os.close(fd)
    return Path(name)


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, keep_suffix: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    For libraries that write to a path themselves (onnx.save, onnxruntime.quantization). The
    temporary file keeps the target's suffix when ``keep_suffix`` so such libraries that look at the
    extension still see it. For a directory output use ``atomic_dir``.
    """
    target = Path(path)
    if _special(target):  # /dev/null, a terminal: write through it, never replace the device node
        yield target
        return
    _refuse_special(target, "output")  # a FIFO or socket: never swapped for a regular file
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_name(target, target.suffix if keep_suffix else "")
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:  # also KeyboardInterrupt: nothing partial stays behind
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a new empty directory beside ``path``; it replaces ``path`` only if the block succeeds.

    An existing ``path`` is moved aside first and removed after the swap, so a failure at any point
    leaves either the old directory or the new one, never a mix.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it 0700; give it the mode mkdir would
    try:
        yield tmp
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=target.parent))
            os.replace(target, old / "d")
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:  # also KeyboardInterrupt: nothing partial stays behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", encoding: str | None = None) -> Iterator[IO]:
    """Open a temp file beside ``path`` for writing; fsync and rename it into place on success."""
    if "w" not in mode:
        raise ValueError("atomic_write only writes")
    with atomic_path(path) as tmp:
        with open(tmp, mode, encoding=encoding if "b" not in mode else None) as fh:
            yield fh
            fh.flush()
            if stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # a device written through cannot be synced
                os.fsync(fh.fileno())


def write_bytes(path: str | os.PathLike, data: bytes, check=None) -> Path:
    """Write ``data`` atomically; ``check(tmp)`` sees the complete temporary file before it is renamed
    into place (edgekit runs each model it writes once before keeping it; a raise keeps nothing)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if check is not None:
            check(tmp)
    return Path(path)


def write_text(path: str | os.PathLike, text: str) -> Path:
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return Path(path)


def _special(path: Path) -> bool:
    """True for an existing character device (/dev/null, a tty): written through, never renamed over.

    ``os.replace`` onto a device node swaps it for a regular file; as root that would replace the
    system's /dev/null (issue 17). Other non-regular files (FIFOs, sockets, block devices) are refused
    by ``check_output`` and ``_refuse_special``.
    """
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def _refuse_special(p: Path, what: str) -> None:
    try:
        mode = os.stat(p).st_mode
    except OSError:
        return  # not there yet: a new file
    if stat.S_ISDIR(mode):
        raise InputError(f"{what} {p} is a directory", "a file path is needed",
                         "give a file name, e.g. -o out/model.onnx")
    if not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
        kind = "FIFO" if stat.S_ISFIFO(mode) else "socket" if stat.S_ISSOCK(mode) else "special file"
        raise InputError(f"{what} {p} is a {kind}", "edgekit writes regular files (or through a character "
                         "device such as /dev/null) and never replaces other files", "give a regular file path")


def same_file(a, b) -> bool:
    """True when paths ``a`` and ``b`` name one file: equal after resolving symlinks, or hard links."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.resolve() == pb.resolve():
            return True
        return os.path.samefile(pa, pb)
    except (OSError, RuntimeError):  # one does not exist (yet), or a symlink loop
        return False


def check_output(path, what: str = "output", inputs=()) -> None:
    """Fail before any work when ``path`` cannot be written or would overwrite one of ``inputs``.

    ``inputs``: every file the command reads (models, data, reports; None entries are skipped). An
    output that is an input (also through a symlink or hard link) is refused: `convert m.onnx -o m.onnx`
    replaced the model it read (issue 17). A directory, FIFO or socket is refused; a character device
    is written through. Without this, an unwritable -o is found only after calibration, as an OSError.
    """
    p = Path(path)
    for src in inputs:
        if src is not None and not _special(p) and same_file(p, src):
            raise InputError(f"{what} {p} is also an input of this command ({src})",
                             "edgekit never overwrites what it reads", "write to another path")
    _refuse_special(p, what)
    if _special(p):
        return  # written through: nothing is created beside it
    parent = p.parent if str(p.parent) else Path(".")
    while not parent.exists() and parent != parent.parent:  # the first existing ancestor is the one to write into
        parent = parent.parent
    try:  # a real probe: os.access says yes to root even where nothing can be created (/proc, read-only mounts)
        if not parent.is_dir():
            raise NotADirectoryError(f"{parent} is not a directory")
        tempfile.TemporaryFile(dir=parent).close()
    except OSError as exc:
        raise InputError(f"cannot write {what} {p}", f"{parent} is not a writable directory "
                         f"({exc.strerror or exc})", "choose a path in a writable directory") from None
