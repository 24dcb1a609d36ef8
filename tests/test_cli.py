"""The ``edgekit`` command: targets, profile, and the one-line error contract (traceback only with --debug)."""
from __future__ import annotations

import json
import platform
import subprocess
import sys

import numpy as np
import pytest

from edgekit.cli import main
from edgekit.targets import list_targets, targets_dir
from helpers import onnx_builder, tflite_builder

X86 = platform.machine().lower() in ("x86_64", "amd64")
HOST = "x86_64" if X86 else "linux-arm64"


def cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_no_command_prints_help(capsys):
    code, out, _ = cli(capsys)
    assert code == 2 and "usage: edgekit" in out


def test_targets_table_and_json(capsys):
    names = [t.name for t in list_targets()]
    code, out, _ = cli(capsys, "targets")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["name", "arch", "cpu"]
    for name in names:
        assert any(line.startswith(name + " ") for line in lines), name
    x86 = next(line for line in lines if line.startswith("x86_64 "))
    assert "U8S8 qdq" in x86  # the measured x86 scheme is shown
    code, out, _ = cli(capsys, "targets", "--json")
    data = json.loads(out)
    assert code == 0 and [t["name"] for t in data] == names
    assert data == [t.to_dict() for t in list_targets()]


def test_profile_prints_a_table_and_writes_json(capsys, tmp_path):
    model = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    out_json = tmp_path / "out" / "p.json"
    code, out, err = cli(capsys, "profile", str(model), "--target", HOST, "--runs", "5", "--warmup", "1",
                         "--json", str(out_json))
    assert code == 0, err
    assert out.splitlines()[0].split()[:2] == ["model", "target"]
    assert any(line.split()[:3] == ["m.onnx", HOST, "host"] for line in out.splitlines()), out
    record = json.loads(out_json.read_text())
    assert record["runs"] == 5 and record["model_bytes"] == model.stat().st_size
    assert sorted(p.name for p in out_json.parent.iterdir()) == ["p.json"]  # written atomically, no temp left


def test_profile_user_toml_and_dynamic_model(capsys, tmp_path):
    toml = tmp_path / "mine.toml"
    toml.write_text((targets_dir() / f"{HOST}.toml").read_text().replace(f'name = "{HOST}"', 'name = "mine"', 1))
    model = tflite_builder.fc_model(tmp_path / "d.tflite", np.ones((3, 4)), np.zeros(3), batch=-1)
    code, out, err = cli(capsys, "profile", str(model), "--target", str(toml), "--runs", "2", "--warmup", "0")
    assert code == 0, err
    assert any(line.split()[:2] == ["d.tflite", "mine"] for line in out.splitlines()), out
    assert "warning: input 'x' has a dynamic dimension; it was measured with 1" in out + err


@pytest.mark.skipif(not X86, reason="the refusal is for an arm target profiled from an x86 host")
def test_arm_target_refused_then_on_host(capsys, tmp_path):
    model = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    code, out, err = cli(capsys, "profile", str(model), "--target", "raspberry-pi-5", "--runs", "2")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "raspberry-pi-5 is aarch64 but this host is x86_64" in err
    assert "--on-host" in err and "--remote" in err
    code, out, err = cli(capsys, "profile", str(model), "--target", "raspberry-pi-5", "--runs", "2", "--warmup", "0",
                         "--on-host")
    assert code == 0, err
    assert "measured on this x86_64 host with raspberry-pi-5's settings; not a device measurement" in out


def _bad_inputs(tmp_path):
    """(label, argv, text the one-line error must contain) for each bad input of issue section 5."""
    good_onnx = onnx_builder.fc_model(tmp_path / "g.onnx", np.ones((32, 32)), np.zeros(32))
    good_tfl = tflite_builder.fc_model(tmp_path / "g.tflite", np.ones((32, 32)), np.zeros(32))
    (tmp_path / "notes.onnx").write_text("not a model")
    (tmp_path / "t.onnx").write_bytes(good_onnx.read_bytes()[:100])
    (tmp_path / "t.tflite").write_bytes(good_tfl.read_bytes()[:100])
    x86 = (targets_dir() / f"{HOST}.toml").read_text()
    (tmp_path / "bad.toml").write_text(x86.replace("\ncores = ", '\ncores = "four" #', 1))
    return [
        ("missing file", [str(tmp_path / "none.onnx")], "not found"),
        ("not a model", [str(tmp_path / "notes.onnx")], "cannot load notes.onnx: not a valid ONNX file"),
        ("truncated onnx", [str(tmp_path / "t.onnx")], "cannot load t.onnx: not a valid ONNX file"),
        ("truncated tflite", [str(tmp_path / "t.tflite")], "cannot load t.tflite: not a valid TFLite model"),
        ("unknown target", [str(good_tfl), "--target", "toaster"], "unknown target 'toaster'"),
        ("malformed toml", [str(good_tfl), "--target", str(tmp_path / "bad.toml")], "bad.toml: key 'cores' must be int"),
        ("threads 0", [str(good_tfl), "--target", HOST, "--threads", "0"], "threads must be >= 1"),
        ("runs 0", [str(good_tfl), "--target", HOST, "--runs", "0"], "runs must be >= 1"),
        ("runs negative", [str(good_tfl), "--target", HOST, "--runs", "-3"], "runs must be >= 1"),
    ]


def test_bad_inputs_give_one_line_and_nonzero_exit(capsys, tmp_path):
    for label, argv, text in _bad_inputs(tmp_path):
        code, out, err = cli(capsys, "profile", *argv)
        assert code == 2, label
        assert err.startswith("edgekit profile: error: ") and err.count("\n") == 1, (label, err)
        assert text in err, (label, err)
        assert "Traceback" not in err and out == "", label


def test_debug_raises_for_a_traceback(tmp_path):
    from edgekit.errors import InputError

    with pytest.raises(InputError):
        main(["--debug", "profile", str(tmp_path / "none.onnx")])


def test_real_console_one_line_then_traceback_with_debug(tmp_path):
    """Through a real interpreter: what a user sees on the terminal."""
    cmd = [sys.executable, "-m", "edgekit", "profile", str(tmp_path / "none.onnx")]
    plain = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2 and plain.stdout == ""
    assert plain.stderr.count("\n") == 1 and "not found" in plain.stderr and "Traceback" not in plain.stderr
    debug = subprocess.run(cmd[:3] + ["--debug"] + cmd[3:], capture_output=True, text=True, timeout=120)
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr and "InputError" in debug.stderr


@pytest.mark.parametrize("argv, text", [
    (["profile", "m.onnx", "--threads", "abc"], "argument --threads: invalid int value: 'abc'"),
    (["profile"], "the following arguments are required: MODEL"),
    (["frobnicate"], "invalid choice: 'frobnicate'")])
def test_usage_mistakes_are_one_line_too(capsys, argv, text):
    """argparse would print its whole usage block first; the contract is one line and a non-zero exit."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    assert exc.value.code == 2 and out == ""
    assert err.count("\n") == 1 and text in err and "--help` for the options" in err and "usage:" not in err


def test_model_path_that_is_a_directory(capsys, tmp_path):
    code, out, err = cli(capsys, "profile", str(tmp_path), "--target", HOST)
    assert code == 2 and err.count("\n") == 1 and "is a directory" in err and "not found" not in err


def test_closed_pipe_is_not_a_traceback():
    """`edgekit targets --json | head -1`: the reader leaves early; no traceback, the SIGPIPE status."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before edgekit starts: its first write fails, whatever the timing
    try:
        proc = subprocess.run([sys.executable, "-m", "edgekit", "targets", "--json"], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert proc.returncode == 141 and proc.stderr == ""  # no traceback, no "Exception ignored" at exit


def test_unwritable_output_is_one_line_not_a_traceback(capsys, tmp_path):
    # /proc refuses new files whatever the user's rights: an OSError no command-specific check catches first
    model = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    code, out, err = cli(capsys, "convert", str(model), "-o", "/proc/edgekit-test/m.tflite")
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgekit convert: error:") and "/proc/edgekit-test" in lines[0]
    assert "Traceback" not in err
