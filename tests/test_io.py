"""Atomic outputs: a failure or Ctrl-C inside the write leaves neither a partial file nor a temp file."""
from __future__ import annotations

import os

import pytest

from edgekit._io import atomic_path, atomic_write, write_bytes, write_text


def test_write_bytes_and_text(tmp_path):
    assert write_bytes(tmp_path / "a.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    assert write_text(tmp_path / "sub" / "a.txt", "héllo\n").read_text(encoding="utf-8") == "héllo\n"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["a.bin", "a.txt", "sub"]  # no temp files left


def test_output_gets_the_mode_a_plain_open_gives(tmp_path):
    """mkstemp makes 0600 files; an output (a model to copy to a device) must follow the umask instead."""
    mask = os.umask(0o022)
    os.umask(mask)
    path = write_text(tmp_path / "r.json", "{}")
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~mask


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_leaves_no_file_and_no_temp(tmp_path, exc):
    with pytest.raises(type(exc)):
        with atomic_write(tmp_path / "out.json", "w") as fh:
            fh.write("partial")
            raise exc
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("exc", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_keeps_the_previous_file_intact(tmp_path, exc):
    target = write_text(tmp_path / "out.json", "old")
    with pytest.raises(type(exc)):
        with atomic_write(target, "w") as fh:
            fh.write("new but partial")
            raise exc
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_atomic_path_keeps_the_suffix_and_renames_on_success(tmp_path):
    with atomic_path(tmp_path / "m.onnx") as tmp:
        assert tmp.suffix == ".part" and tmp.name.endswith(".onnx.part") and tmp.parent == tmp_path
        assert tmp.name.startswith(".m.onnx.")  # hidden while partial
        tmp.write_bytes(b"model")
        assert not (tmp_path / "m.onnx").exists()
    assert (tmp_path / "m.onnx").read_bytes() == b"model" and list(tmp_path.iterdir()) == [tmp_path / "m.onnx"]


def test_atomic_path_cleans_up_on_interrupt(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "m.onnx") as tmp:
            tmp.write_bytes(b"half")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_refuses_read_modes(tmp_path):
    with pytest.raises(ValueError):
        with atomic_write(tmp_path / "x", "rb"):
            pass


def test_atomic_dir_yields_an_empty_directory_and_replaces_the_old_one(tmp_path):
    from edgekit._io import atomic_dir

    out = tmp_path / "bundle"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with atomic_dir(out) as tmp:
        assert tmp.is_dir() and not any(tmp.iterdir())  # a library may write straight into it
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]  # no temp or backup left beside it


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt])
def test_atomic_dir_failure_keeps_the_old_directory(tmp_path, exc):
    from edgekit._io import atomic_dir

    out = tmp_path / "bundle"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(exc):
        with atomic_dir(out) as tmp:
            (tmp / "half.txt").write_text("half")
            raise exc()
    assert sorted(p.name for p in out.iterdir()) == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["bundle"]
