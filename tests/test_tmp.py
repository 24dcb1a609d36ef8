"""edgekit._tmp: temp directories of killed runs are removed by a later run, and nothing else is."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from edgekit import _tmp


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _mk(root, name, owner=None, age_s=0.0):
    d = root / name
    d.mkdir()
    (d / "weights.bin").write_bytes(b"x" * 100)
    if owner is not None:
        (d / _tmp.OWNER).write_text(owner)
    past = time.time() - age_s
    os.utime(d, (past, past))
    return d


def test_clean_stale_removes_only_dead_owners_and_old_foreign_dirs(tmp_path):
    me = f"{os.getpid()} {_tmp._start_time(os.getpid())}"
    dead = f"{_dead_pid()} 1"
    dirs = {
        "edgekit-q-dead": (dead, 10, True),            # its process is gone: a SIGKILLed quantize
        "ek-ssh-dead": (dead, 10, True),
        "edgekit-q-live": (me, 10, False),             # this process made it: in use
        "edgekit-q-reused": (f"{os.getpid()} 999999999", 10, True),  # same pid, other start time: pid reused
        "pre.quant.old": (None, 2 * 3600, True),        # unmarked, untouched for 2 h
        "pre.quant.recent": (None, 60, False),          # unmarked, may be another program's live dir
        "edgekit-q-unmarked-recent": (None, 60, False),
        "unrelated-old": (dead, 2 * 3600, False),       # not a name edgekit makes
    }
    for name, (owner, age, _) in dirs.items():
        _mk(tmp_path, name, owner, age)
    started = time.time()
    removed = {p.name for p in _tmp.clean_stale(str(tmp_path), started)}
    assert removed == {n for n, (_, _, gone) in dirs.items() if gone}
    assert {p.name for p in tmp_path.iterdir()} == {n for n, (_, _, gone) in dirs.items() if not gone}


def test_a_dir_newer_than_the_run_or_held_open_is_kept(tmp_path):
    dead = f"{_dead_pid()} 1"
    new = _mk(tmp_path, "edgekit-q-new", dead, age_s=-60)  # modified after the run started
    held = _mk(tmp_path, "pre.quant.held", None, age_s=2 * 3600)
    with open(held / "weights.bin", "rb"):  # a live process (this one) has a file open inside
        assert _tmp.clean_stale(str(tmp_path), time.time()) == []
    assert new.exists() and held.exists()


def test_symlinks_are_never_followed(tmp_path):
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep").write_text("x")
    link = tmp_path / "edgekit-q-link"
    link.symlink_to(target)
    assert _tmp.clean_stale(str(tmp_path), time.time() + 10) == []
    assert (target / "keep").exists()


def test_temp_dir_marks_its_owner_and_removes_itself():
    with _tmp.temp_dir("edgekit-q-") as d:
        pid, start = (d / _tmp.OWNER).read_text().split()
        assert int(pid) == os.getpid() and _tmp._owner_alive(d) is True
    assert not d.exists()
