"""Issue 17 items 1-2: no command overwrites one of its inputs or replaces a special file.

Each case runs the real CLI on a small generated model and asserts the one-line error, that every
input is byte-for-byte unchanged, and that nothing new was written.
"""
from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from edgekit._io import atomic_path, check_output, write_text
from edgekit.cli import main
from edgekit.errors import InputError
from helpers import onnx_builder, tflite_builder


@pytest.fixture
def files(tmp_path):
    rng = np.random.default_rng(0)
    w, b = rng.standard_normal((3, 4)).astype(np.float32), np.zeros(3, np.float32)
    onnx_builder.fc_model(tmp_path / "m.onnx", w, b)
    tflite_builder.fc_model(tmp_path / "m.tflite", w, b)
    np.save(tmp_path / "calib.npy", rng.standard_normal((4, 4)).astype(np.float32))
    np.savez(tmp_path / "data.npz", x=rng.standard_normal((4, 4)).astype(np.float32), labels=np.arange(4) % 3)
    write_text(tmp_path / "r.json", "{}\n")
    return tmp_path


def _snapshot(root):
    return {p.name: (p.read_bytes() if p.is_file() else None) for p in root.iterdir()}


def _refused(capsys, root, argv, command):
    before = _snapshot(root)
    code = main([a.replace("@", str(root) + os.sep) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith(f"edgekit {command}: error:") and "input of this command" in lines[0]
    assert _snapshot(root) == before  # inputs unchanged, nothing written
    return lines[0]


@pytest.mark.parametrize("argv", [
    ["convert", "@m.onnx", "-o", "@m.onnx"],
    ["convert", "@m.onnx", "-o", "@m.onnx", "--int8", "--calib", "@calib.npy"],
    ["convert", "@m.onnx", "-o", "@m.onnx", "--dynamic"],
    ["convert", "@m.onnx", "-o", "@calib.npy", "--int8", "--calib", "@calib.npy"],
    ["convert", "@m.onnx", "-o", "@x.tflite", "--int8", "--calib", "@calib.npy", "--report", "@m.onnx"],
    ["eval", "@m.onnx", "--data", "@data.npz", "--json", "@m.onnx"],
    ["eval", "@m.onnx", "--data", "@data.npz", "--json", "@data.npz"],
    ["profile", "@m.tflite", "--json", "@m.tflite"],
    ["quantize", "@m.onnx", "--calib", "@calib.npy", "-o", "@m.onnx"],
    ["quantize", "@m.onnx", "--calib", "@calib.npy", "-o", "@calib.npy"],
    ["quantize", "@m.onnx", "--calib", "@calib.npy", "-o", "@q.onnx", "--report", "@calib.npy"],
    ["report", "@r.json", "-o", "@r.html", "--title", "t"],  # fine by itself: see the .md case below
], ids=lambda a: " ".join(a).replace("@", ""))
def test_an_output_that_is_an_input_is_refused_before_work(capsys, files, argv):
    if argv[0] == "report":  # the .md summary beside r.html would overwrite an input named r.md
        os.rename(files / "r.json", files / "r.md")
        argv = ["report", "@r.md", "-o", "@r.html"]
    _refused(capsys, files, argv, argv[0])


def test_symlink_and_hard_link_to_the_input_are_the_input(capsys, files):
    os.symlink(files / "m.onnx", files / "link.tflite")
    os.link(files / "m.onnx", files / "hard.tflite")
    _refused(capsys, files, ["convert", "@m.onnx", "-o", "@link.tflite"], "convert")
    _refused(capsys, files, ["convert", "@m.onnx", "-o", "@hard.tflite"], "convert")
    assert (files / "link.tflite").is_symlink()


def test_distill_output_over_its_teacher_is_refused(capsys, files):
    _refused(capsys, files, ["distill", "--teacher", "@m.onnx", "--student", "tiny-mobilenet", "--data",
                             "@data.npz", "-o", "@m.onnx"], "distill")


def test_bundle_into_the_directory_holding_its_model_is_refused(capsys, files):
    code = main(["bundle", str(files / "m.onnx"), "--target", "x86_64", "-o", str(files)])
    err = capsys.readouterr().err
    assert code == 2 and "holds an input of this bundle" in err and (files / "m.onnx").is_file()


def test_fifo_output_is_refused_not_replaced(capsys, files):
    fifo = files / "pipe.json"
    os.mkfifo(fifo)
    code = main(["profile", str(files / "m.tflite"), "--json", str(fifo), "--runs", "1", "--warmup", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "is a FIFO" in err.strip().splitlines()[0]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    with pytest.raises(InputError, match="FIFO"):  # the writers refuse it too, whoever calls them
        with atomic_path(fifo):
            pass
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_directory_output_is_refused(files):
    (files / "d").mkdir()
    with pytest.raises(InputError, match="is a directory"):
        check_output(files / "d", "--json file")


def test_dev_null_is_written_through_not_replaced(capsys, files):
    before = os.stat(os.devnull)
    write_text(os.devnull, "{}\n")
    code = main(["eval", str(files / "m.onnx"), "--data", str(files / "data.npz"), "--json", os.devnull])
    assert code == 0, capsys.readouterr().err
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (before.st_ino, before.st_rdev)
    assert not [p for p in os.listdir(os.path.dirname(os.devnull)) if p.startswith(".null.")]  # no temp beside it


def test_bundle_output_that_is_a_fifo_is_refused(capsys, files):
    fifo = files / "b"
    os.mkfifo(fifo)
    code = main(["bundle", str(files / "m.onnx"), "--target", "x86_64", "-o", str(fifo)])
    assert code == 2 and "is a file" in capsys.readouterr().err and stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_profile_fleet_json_over_a_model_is_refused(capsys, files):
    (files / "fleet.toml").write_text("")
    _refused(capsys, files, ["profile", "@m.onnx", "--fleet", "@fleet.toml", "--json", "@fleet.toml"], "profile")
