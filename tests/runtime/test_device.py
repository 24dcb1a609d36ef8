"""The device runner (edgekit/runtime/device.py): backends, measurement protocol, and standing alone."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from edgekit.errors import ModelError
from edgekit.runtime import device
from helpers import onnx_builder, tflite_builder


def test_detect_format(tmp_path):
    tfl = tflite_builder.add_relu_model(tmp_path / "renamed.bin")  # found by its identifier, not its name
    assert device.detect_format(str(tfl)) == "tflite"
    assert device.detect_format(str(onnx_builder.add_relu_model(tmp_path / "m.onnx"))) == "onnx"
    assert device.detect_format(str(onnx_builder.add_relu_model(tmp_path / "M.ONNX"))) == "onnx"
    (tmp_path / "x.bin").write_bytes(b"\0" * 16)
    with pytest.raises(ModelError, match="neither a TFLite flatbuffer nor an .onnx file"):
        device.detect_format(str(tmp_path / "x.bin"))


def test_dims_fix_dynamic_to_one():
    assert device._dims([None, 3, "H", -1]) == ([1, 3, 1, 1], (0, 2, 3))  # which dims were open, by index
    assert device._dims([2, 3]) == ([2, 3], ())


def test_ort_reason_strips_status_and_source_location():
    msg = ("[ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model from /x/m.onnx failed:"
           "/onnxruntime_src/onnxruntime/core/graph/graph.cc:1 onnxruntime::Graph::Graph(...) "
           "This is an invalid model.\nmore lines")
    assert device._ort_reason(msg) == "This is an invalid model."


def test_sample_inputs_match_shape_dtype_and_are_deterministic():
    infos = [device.TensorInfo("f", (1, 3), "float32"), device.TensorInfo("q", (2, 2), "int8", 0.1, 0),
             device.TensorInfo("ids", (1, 5), "int64")]
    a, b = device.sample_inputs(infos, seed=7), device.sample_inputs(infos, seed=7)
    for info in infos:
        assert a[info.name].shape == info.shape and a[info.name].dtype == info.dtype
        np.testing.assert_array_equal(a[info.name], b[info.name])
    assert set(np.unique(a["ids"])) <= {0, 1}  # token ids / masks stay in the always-valid range


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_measure_record_is_sane(tmp_path, fmt):
    builder = onnx_builder if fmt == "onnx" else tflite_builder
    path = builder.add_relu_model(tmp_path / f"m.{fmt}")
    r = device.measure(str(path), threads=1, warmup=2, runs=15)
    assert (r["format"], r["threads"], r["runs"], r["warmup"]) == (fmt, 1, 15, 2)
    lat = r["latency_ms"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["max"]
    assert lat["min"] <= lat["mean"] <= lat["max"] and lat["std"] >= 0
    assert r["throughput_per_s"] == pytest.approx(1000 / lat["mean"])
    mem = r["memory_mb"]
    assert mem["peak_rss"] >= mem["baseline_rss"] > 0
    assert mem["growth"] == pytest.approx(mem["peak_rss"] - mem["baseline_rss"])
    assert r["model_bytes"] == path.stat().st_size and r["pid"] == os.getpid()
    assert {"arch", "cpu", "cores", "os", "python"} <= set(r["host"])
    json.dumps(r)  # the runner prints it: it must be plain JSON


def test_measure_for_a_duration(tmp_path):
    path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    r = device.measure(str(path), threads=1, warmup=0, runs=None, duration=0.05)
    assert r["runs"] >= 1  # a time budget, not a count: any positive count is right


def _run_standalone(args, cwd):
    """Run device.py as a device would: edgekit is made unimportable, so the file must stand alone."""
    code = ("import runpy, sys; sys.modules['edgekit'] = None; "
            f"sys.argv = ['device.py', *{args!r}]; runpy.run_path({str(device.__file__)!r}, run_name='__main__')")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_runner_stands_alone_and_prints_one_json_record(tmp_path):
    path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    out = _run_standalone([str(path), "--threads", "1", "--warmup", "1", "--runs", "5"], tmp_path)
    assert out.returncode == 0, out.stderr
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert record["runs"] == 5 and record["pid"] != os.getpid()


def test_runner_reports_errors_as_json_with_exit_3(tmp_path):
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"1234TFL3" + b"\xff" * 64)
    out = _run_standalone([str(bad)], tmp_path)
    assert out.returncode == 3
    err = json.loads(out.stdout.strip().splitlines()[-1])["error"]
    assert err["kind"] == "ModelError" and "bad.tflite" in err["what"]


def test_timings_are_exact_up_to_the_cap():
    x = np.random.default_rng(4).gamma(2.0, 1.5, 500) + 3.0  # latency-like: positive, right-skewed
    t = device.Timings(cap=500)
    for v in x:
        t.add(float(v))
    s = t.stats()
    want = dict(zip(["p50", "p90", "p99"], np.percentile(x, [50, 90, 99])))
    want.update(mean=x.mean(), std=x.std(), min=x.min(), max=x.max())
    # the running sums are float64 sums of the same values in another order: rounding only
    assert s == pytest.approx(want, rel=1e-9)


def test_timings_beyond_the_cap_keep_exact_moments_and_a_uniform_sample():
    x = np.random.default_rng(5).permutation(np.arange(20000, dtype=float))  # every value 0..19999 once
    t = device.Timings(cap=1000, seed=1)
    for v in x:
        t.add(float(v))
    s = t.stats()
    assert t.n == 20000 and (s["min"], s["max"]) == (0.0, 19999.0)
    assert s["mean"] == pytest.approx(x.mean(), rel=1e-12) and s["std"] == pytest.approx(x.std(), rel=1e-9)
    # a uniform sample of 1000 from 0..19999: a quantile's standard error is 20000*sqrt(p(1-p)/1000), i.e.
    # 316 at p50, 190 at p90, 63 at p99; allow 4 standard errors (seeded, so this is not flaky either way)
    for key, p, se in (("p50", 0.50, 316), ("p90", 0.90, 190), ("p99", 0.99, 63)):
        assert abs(s[key] - p * 19999) <= 4 * se, (key, s[key])
    assert s["min"] <= s["p50"] <= s["p90"] <= s["p99"] <= s["max"]


def test_memory_figures_do_not_grow_with_the_number_of_runs(tmp_path):
    """Peak RSS must be the model's: keeping every run's time in a list grew ~32 bytes a run (6.4 MB here)."""
    path = str(tflite_builder.add_relu_model(tmp_path / "m.tflite"))
    code = ("import json, sys; from edgekit.runtime.device import measure\n"
            "print(json.dumps(measure(sys.argv[1], threads=1, warmup=0, runs=int(sys.argv[2]))['memory_mb']))")
    growth = {}
    for runs in (2000, 200_000):  # each in a fresh process, as edgekit profile does
        out = subprocess.run([sys.executable, "-c", code, path, str(runs)], capture_output=True, text=True,
                             timeout=600)
        assert out.returncode == 0, out.stderr
        growth[runs] = json.loads(out.stdout.strip().splitlines()[-1])["growth"]
    # 198,000 more runs: at most 2 MB more (allocator noise); a per-run list would add >= 6 MB
    assert growth[200_000] - growth[2000] <= 2.0, growth
