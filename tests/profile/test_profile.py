"""edgekit.profile on the host: the record's keys and sanity, budgets, and the host/device rule."""
from __future__ import annotations

import contextlib
import json
import os
import platform
import re

import numpy as np
import pytest

import edgekit
from edgekit.errors import EdgekitWarning, InputError, ModelError, TargetError
from edgekit.profile import Protocol, parse_runner_output
from edgekit.targets import targets_dir
from helpers import onnx_builder, tflite_builder

X86 = platform.machine().lower() in ("x86_64", "amd64")
HOST = "x86_64" if X86 else "linux-arm64"
def as_json(*args, **kwargs) -> dict:
    """edgekit.profile's record as ``--json`` writes it (the typed record must survive the round trip)."""
    from edgekit.profile import ProfileRecord

    rec = edgekit.profile(*args, **kwargs)
    assert isinstance(rec, ProfileRecord) and ProfileRecord.from_dict(rec.to_dict()) == rec
    return rec.to_dict()


KEYS = {"model", "format", "target", "measured_on", "threads", "runs", "runtime", "host", "load_ms",
        "first_run_ms", "latency_ms", "throughput_per_s", "memory_mb", "model_bytes", "budget"}


def user_target(tmp_path, **budgets) -> str:
    """A user's own toml: the shipped host target with other budgets."""
    text = (targets_dir() / f"{HOST}.toml").read_text()
    for key, value in budgets.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    path = tmp_path / "mine.toml"
    path.write_text(text.replace(f'name = "{HOST}"', 'name = "mine"', 1))
    return str(path)


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_record_keys_and_sanity(tmp_path, fmt):
    builder = onnx_builder if fmt == "onnx" else tflite_builder
    path = builder.add_relu_model(tmp_path / f"m.{fmt}")
    r = as_json(path, HOST, warmup=2, runs=20)
    assert KEYS <= set(r)
    assert (r["model"], r["format"], r["target"], r["measured_on"]) == (str(path), fmt, HOST, "host")
    assert r["threads"] == edgekit.get_target(HOST).threads and r["runs"] == 20
    assert r["runtime"]["name"] == ("onnxruntime" if fmt == "onnx" else "ai_edge_litert") and r["runtime"]["version"]
    assert {"arch", "cpu", "cores", "os", "python"} <= set(r["host"]) and r["host"]["arch"] == platform.machine()
    lat = r["latency_ms"]
    assert set(lat) == {"mean", "std", "min", "p50", "p90", "p99", "max"}
    assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert r["load_ms"] > 0 and r["first_run_ms"] > 0
    assert r["throughput_per_s"] == pytest.approx(1000 / lat["mean"])
    mem = r["memory_mb"]
    assert mem["peak_rss"] >= mem["baseline_rss"] > 0
    assert mem["growth"] == pytest.approx(mem["peak_rss"] - mem["baseline_rss"])
    assert r["model_bytes"] == path.stat().st_size
    assert r["pid"] != os.getpid()  # measured in a fresh child process, not in this one
    assert set(r["budget"]) == {"latency_ms", "memory_mb", "model_mb"}
    for verdict in r["budget"].values():
        assert isinstance(verdict["pass"], bool)
        assert verdict["pass"] == (verdict["measured"] <= verdict["limit"])
    json.dumps(r)


def test_budgets_judge_the_measurement(tmp_path):
    path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    # a latency limit no machine meets, a size limit one byte short, a memory limit every process meets
    size_mb = path.stat().st_size / 1e6
    r = as_json(path, user_target(tmp_path, latency_ms=1e-9, model_mb=size_mb - 1e-6, memory_mb=1e6),
                        warmup=0, runs=3)
    assert r["target"] == "mine"
    assert r["budget"]["latency_ms"]["pass"] is False and r["budget"]["latency_ms"]["statistic"] == "p50"
    assert r["budget"]["model_mb"]["pass"] is False
    assert r["budget"]["memory_mb"]["pass"] is True


def test_arm_target_from_x86_is_refused(tmp_path):
    if not X86:
        pytest.skip("this host is ARM: the refusal is for profiling an arm target from an x86 host")
    path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    with pytest.raises(TargetError) as exc:
        edgekit.profile(path, "raspberry-pi-4", runs=1)
    msg = str(exc.value)
    assert "raspberry-pi-4 is aarch64 but this host is x86_64" in msg
    assert "not the device's" in msg and "--remote ssh://" in msg and "--on-host" in msg


def test_on_host_says_so(tmp_path):
    if not X86:
        pytest.skip("needs an x86 host: on ARM the Pi target runs on the host anyway")
    path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    fewer = len(os.sched_getaffinity(0)) < 4  # the Pi 4's 4 threads share this host's cores: said in a warning
    with pytest.warns(EdgekitWarning, match="usable cores") if fewer else contextlib.nullcontext():
        r = as_json(path, "raspberry-pi-4", on_host=True, warmup=0, runs=3)
    assert r["measured_on"] == "host" and r["target"] == "raspberry-pi-4"
    assert r["threads"] == 4  # the target's settings
    assert "not a device measurement" in r["note"] and r["host"]["arch"] == "x86_64"


def test_dynamic_batch_is_measured_with_one_and_warns(tmp_path):
    path = tflite_builder.fc_model(tmp_path / "d.tflite", np.ones((3, 4)), np.zeros(3), batch=-1)
    with pytest.warns(EdgekitWarning, match="'x' has a dynamic dimension; it was measured with 1"):
        r = as_json(path, HOST, warmup=0, runs=2)
    assert r["dynamic_inputs"] == ["x"]


def test_runner_errors_become_edgekit_errors(tmp_path):
    """The runner's own error record (what a device reports) becomes the EdgekitError it names. profile()
    itself refuses such a file earlier (edgekit.validate), so the runner is called directly here."""
    from edgekit.profile.runner import Protocol, measure_local

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage")
    with pytest.raises(ModelError, match=r"onnxruntime cannot load .*bad\.onnx"):
        measure_local(bad, Protocol(runs=1), 1)
    with pytest.raises(ModelError, match=r"cannot load bad\.onnx: not a valid ONNX file"):
        edgekit.profile(bad, HOST, runs=1)


@pytest.mark.parametrize("kwargs,message", [
    ({"threads": 0}, "threads must be >= 1"), ({"threads": -2}, "threads must be >= 1"),
    ({"threads": 1.5}, "threads must be >= 1"), ({"runs": 0}, "runs must be >= 1"),
    ({"runs": -1}, "runs must be >= 1"), ({"warmup": -1}, "warmup must be >= 0"),
    ({"duration": 0.0}, "duration must be > 0"),
])
def test_bad_protocol(tmp_path, kwargs, message):
    path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    with pytest.raises(InputError, match=message):
        edgekit.profile(path, HOST, **kwargs)


def test_missing_model_and_unknown_target(tmp_path):
    with pytest.raises(InputError, match="not found"):
        edgekit.profile(tmp_path / "none.tflite", HOST)
    path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    with pytest.raises(TargetError, match="unknown target 'toaster'"):
        edgekit.profile(path, "toaster")


def test_parse_runner_output():
    assert parse_runner_output('noise\n{"format": "onnx"}\n', "", 0, "host") == {"format": "onnx"}
    with pytest.raises(ModelError, match=r"runner on the host failed \(exit 139\): Segmentation fault"):
        parse_runner_output("", "line 1\nSegmentation fault\n", 139, "host")
    err = '{"error": {"kind": "InputError", "what": "w", "why": "y", "fix": "f"}}'
    with pytest.raises(InputError, match="w: y. F."):
        parse_runner_output(err, "", 3, "host")


def test_protocol_runner_args():
    assert Protocol(runs=7, warmup=1).check().runner_args(2) == [
        "--threads", "2", "--warmup", "1", "--runs", "7", "--seed", "0"]
    assert Protocol(duration=1.5).runner_args(1)[-2:] == ["--duration", "1.5"]


def test_more_threads_than_cores_warns(tmp_path):
    import warnings

    path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    cores = len(os.sched_getaffinity(0))
    with pytest.warns(EdgekitWarning, match=f"{cores + 1} threads on {cores} usable cores"):
        r = as_json(path, HOST, threads=cores + 1, warmup=0, runs=2)
    assert r["threads"] == cores + 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        edgekit.profile(path, HOST, threads=1, warmup=0, runs=2)
    assert not [w for w in caught if "usable cores" in str(w.message)]
