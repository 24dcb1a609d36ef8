"""The profile matrix (models x targets, one table) and the throttling rule."""
from __future__ import annotations

import json
import platform

import pytest

import edgekit
from edgekit.cli import main as cli_main
from edgekit.profile.remote import throttle_warnings
from edgekit.profile.transport import build_options, kinds
from helpers import onnx_builder

HOST = "x86_64" if platform.machine().lower() in ("x86_64", "amd64") else "linux-arm64"
OTHER = "raspberry-pi-4"  # aarch64: on an x86 host it can only be measured remotely (here: sshd on 127.0.0.1)


def test_matrix_models_by_targets_one_table(sshd, tmp_path, capsys):
    a = onnx_builder.add_relu_model(tmp_path / "a.onnx")
    b = onnx_builder.add_relu_model(tmp_path / "b.onnx", n=8)
    out = tmp_path / "matrix.json"
    rc = cli_main(["profile", str(a), str(b), "--targets", f"{HOST},{OTHER}", "--remote-map", f"{OTHER}=ssh://ekpi",
                   "--ssh-config", str(sshd.config), "--remote-python", sshd.python, "--runs", "3", "--warmup", "0",
                   "--json", str(out)])
    stdout = capsys.readouterr().out
    assert rc == 0
    records = json.loads(out.read_text())
    cells = [(r["model"], r["target"], r["measured_on"]) for r in records]
    assert cells == [(str(a), HOST, "host"), (str(a), OTHER, "ssh://ekpi"),
                     (str(b), HOST, "host"), (str(b), OTHER, "ssh://ekpi")]
    table_lines = [l for l in stdout.splitlines() if l.startswith(("a.onnx", "b.onnx"))]
    assert len(table_lines) == 4 and stdout.count("measured on") == 1  # one table, one header
    if platform.machine() != "aarch64":  # the mapped device is this x86 machine: the record says so
        assert all(any("but target raspberry-pi-4 is aarch64" in w for w in r["warnings"])
                   for r in records if r["target"] == OTHER)


def test_matrix_goes_on_after_a_failing_cell(tmp_path, capsys):
    a = onnx_builder.add_relu_model(tmp_path / "a.onnx")
    rc = cli_main(["profile", str(a), "--targets", f"{HOST},{OTHER}", "--runs", "2", "--warmup", "0"])
    captured = capsys.readouterr()
    assert rc == 2 and captured.out.count("a.onnx") == 1  # the host cell is in the table
    assert f"a.onnx on {OTHER}:" in captured.err and "--remote" in captured.err


@pytest.mark.parametrize("argv, message", [
    (["--targets", f"{HOST}", "--remote-map", "nope=ssh://x"], "--remote-map names 'nope'"),
    (["--targets", f"{HOST}", "--remote-map", "justtext"], "is not T=URL"),
    (["--target", HOST, "--targets", HOST], "--target and --targets together")])
def test_matrix_bad_arguments(tmp_path, capsys, argv, message):
    a = onnx_builder.add_relu_model(tmp_path / "a.onnx")
    assert cli_main(["profile", str(a), *argv]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("before, after, governor, expected", [
    ({"cpu": 50.0}, {"cpu": 81.5}, "performance", ["reached 81.5 degC"]),
    ({"cpu": 50.0}, {"cpu": 61.0}, None, ["heated by 11.0 degC"]),
    ({"cpu": 50.0, "gpu": 40.0}, {"cpu": 55.0, "gpu": 44.0}, "performance", []),
    ({}, {}, "ondemand", ["governor is 'ondemand'"]),
    ({}, {}, None, [])])
def test_throttle_rule(before, after, governor, expected):
    got = throttle_warnings({"governor": governor}, {"before": before, "after": after})
    assert len(got) == len(expected) and all(e in g for e, g in zip(expected, got))


def test_remote_options_check_files_and_belong_to_their_transport(tmp_path):
    ssh, adb = kinds()["ssh"], kinds()["adb"]
    with pytest.raises(edgekit.errors.InputError, match="--identity .* not found"):
        build_options(ssh, identity=tmp_path / "none")
    with pytest.raises(edgekit.errors.InputError, match="unknown remote option 'colour'"):
        build_options(ssh, colour="red")
    with pytest.raises(edgekit.errors.InputError, match="--delegate does not apply to ssh addresses.*adb://"):
        build_options(ssh, delegate="gpu")
    assert build_options(ssh, remote_python=None).remote_python == "python3"
    assert build_options(adb, delegate="gpu", identity=None).delegate == "gpu"
