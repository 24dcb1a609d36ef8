"""Target profiles: the shipped ones, a user's own toml, and malformed files."""
from __future__ import annotations

import json

import pytest

from edgekit.errors import TargetError
from edgekit.targets import Format, QFormat, QType, Reach, Target, get_target, list_targets, targets_dir

REQUIRED = {"x86_64", "raspberry-pi-4", "raspberry-pi-5", "android-arm64"}


def test_shipped_targets_state_everything_the_issue_asks():
    targets = {t.name: t for t in list_targets()}
    assert REQUIRED <= set(targets)
    for t in targets.values():
        assert isinstance(t, Target) and t.arch and t.cpu and t.ram_mb > 0
        assert 1 <= t.threads <= t.cores
        assert isinstance(t.runtime.format, Format) and t.runtime.name and isinstance(t.reach, Reach)
        assert None not in (t.budgets.latency_ms, t.budgets.memory_mb, t.budgets.model_mb)
        assert t.source.endswith(f"{t.name}.toml")  # the file is named after the target
    pi4, pi5 = targets["raspberry-pi-4"], targets["raspberry-pi-5"]
    assert (pi4.cpu, pi4.cores, pi4.arch) == ("Cortex-A72", 4, "aarch64")
    assert (pi5.cpu, pi5.cores, pi5.arch) == ("Cortex-A76", 4, "aarch64")
    assert targets["android-arm64"].reach is Reach.ADB and "xnnpack" in targets["android-arm64"].runtime.delegates


def test_int8_scheme_per_arch():
    """x86: U8 activations / S8 weights QDQ (measured fastest, see targets/x86_64.toml); ARM: S8/S8."""
    for t in list_targets():
        q = t.onnx_int8
        assert q.format is QFormat.QDQ and q.weights is QType.INT8
        assert q.activations is (QType.UINT8 if t.arch == "x86_64" else QType.INT8), t.name
        assert t.tflite_int8.activations is QType.INT8


def test_to_dict_is_plain_json():
    d = get_target("x86_64").to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["quantize"]["onnx_activations"] == "uint8" and d["quantize"]["onnx"] == "w8a8" and d["reach"] == "local"


def test_users_own_toml_path(tmp_path):
    text = (targets_dir() / "raspberry-pi-5.toml").read_text().replace('name = "raspberry-pi-5"', 'name = "my-board"')
    path = tmp_path / "board.toml"
    path.write_text(text.replace("latency_ms = ", "latency_ms = 7.5 #", 1))
    t = get_target(str(path))
    assert t.name == "my-board" and t.budgets.latency_ms == 7.5 and t.source == str(path)
    assert get_target(path) == t  # a Path works as well as a str


def test_unknown_target_lists_the_shipped_ones():
    with pytest.raises(TargetError, match=r"unknown target 'pi-9': shipped targets are: .*raspberry-pi-4"):
        get_target("pi-9")
    with pytest.raises(TargetError, match=r"target file .*nope\.toml not found"):
        get_target("/nonexistent/nope.toml")


# Each case: a change to a valid toml, then what the error must name (file is always checked).
MINIMAL = """name = "t"
description = "d"
arch = "x86_64"
cpu = "c"
cores = 4
threads = 1
ram_mb = 1024
reach = "local"

[runtime]
format = "onnx"
name = "onnxruntime"

[budgets]
latency_ms = 10.0
"""
CASES = {
    "wrong type": (("cores = 4", 'cores = "four"'), ["key 'cores'", "must be int", "'four'"]),
    "float for int": (("ram_mb = 1024", "ram_mb = 1024.5"), ["key 'ram_mb'", "must be int"]),
    "nested wrong type": (("latency_ms = 10.0", 'latency_ms = "fast"'), ["key 'budgets.latency_ms'", "float"]),
    "unknown key": (("cpu = \"c\"", 'cpu = "c"\ncolour = "red"'), ["unknown key 'colour'", "known keys", "ram_mb"]),
    "nested unknown key": (("latency_ms = 10.0", "latency_ms = 10.0\nenergy_j = 1"),
                           ["unknown key 'budgets.energy_j'"]),
    "missing key": (("arch = \"x86_64\"\n", ""), ["missing key 'arch'", "expected str"]),
    "nested missing key": (('name = "onnxruntime"\n', ""), ["missing key 'runtime.name'"]),
    "list expected": (('name = "onnxruntime"', 'name = "onnxruntime"\ndelegates = "xnnpack"'),
                      ["key 'runtime.delegates'", "must be a list of str", "'xnnpack'"]),
    "bad enum": (('reach = "local"', 'reach = "usb"'), ["key 'reach'", "one of local|ssh|adb", "'usb'"]),
    "value for a table": (('reach = "local"', 'reach = "local"\nint8 = 5'), ["key 'int8'", "a table"]),
    "invalid syntax": (("cores = 4", "cores = = 4"), ["not valid TOML", "line 5"]),
    "threads zero": (("threads = 1", "threads = 0"), ["'threads'", "from 1 to", "got 0"]),
    # issue 17 item 3: resources a device can have, and numbers that are numbers
    "threads beyond the bound": (("threads = 1", "threads = 2000"), ["'threads'", "from 1 to 16", "got 2000"]),
    "negative RAM": (("ram_mb = 1024", "ram_mb = -512"), ["'ram_mb'", "> 0", "got -512"]),
    "NaN budget": (("latency_ms = 10.0", "latency_ms = nan"), ["'budgets.latency_ms'", "got nan"]),
    "infinite budget": (("latency_ms = 10.0", "latency_ms = inf"), ["'budgets.latency_ms'", "got inf"]),
    "zero budget": (("latency_ms = 10.0", "latency_ms = 0.0"), ["'budgets.latency_ms'", "finite number > 0"]),
    "cores beyond any device": (("cores = 4", "cores = 100000"), ["'cores'", "from 1 to 4096"]),
}


def test_minimal_toml_is_valid(tmp_path):
    path = tmp_path / "t.toml"
    path.write_text(MINIMAL)
    assert get_target(path).budgets.latency_ms == 10.0


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_toml_names_file_key_and_type(tmp_path, case):
    (old, new), must = CASES[case]
    assert old in MINIMAL
    path = tmp_path / "bad.toml"
    path.write_text(MINIMAL.replace(old, new, 1))
    with pytest.raises(TargetError) as exc:
        get_target(path)
    msg = str(exc.value)
    assert str(path) in msg and "\n" not in msg
    for part in must:
        assert part in msg, (part, msg)
    assert "budgets, source" not in msg  # edgekit fills that key in itself; offering it to users would mislead
