"""runtime.probe: a model is loaded and run once in a child before edgekit trusts it (issue 19, point 1)."""
from __future__ import annotations

import sys

import numpy as np
import pytest

import edgekit
from edgekit.errors import ModelError
from edgekit.runtime import probe
from helpers import onnx_builder, tflite_builder


def test_good_files_are_ok_and_cached_by_hash(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEKIT_CACHE_DIR", str(tmp_path / "cache"))  # not the session's: these bytes recur
    for path in (onnx_builder.add_relu_model(tmp_path / "m.onnx"), tflite_builder.add_relu_model(tmp_path / "m.tflite")):
        fmt = path.suffix[1:]
        digest = probe.file_digest(path)
        assert not probe.cached_ok(digest, fmt)
        assert probe.probe(path).ok
        assert probe.cached_ok(digest, fmt)  # the next load of these bytes costs no child run
        copy = tmp_path / f"copy{path.suffix}"
        copy.write_bytes(path.read_bytes())
        assert probe.cached_ok(probe.file_digest(copy), fmt)


def test_a_runtime_error_on_a_static_model_is_an_error_verdict(tmp_path):
    path = onnx_builder.gather_out_of_range_model(tmp_path / "g.onnx")
    v = probe.probe(path)
    assert v.status == "error" and "pick" in v.what
    assert not probe.cached_ok(probe.file_digest(path), "onnx")  # failures are not remembered
    with pytest.raises(ModelError, match="onnxruntime failed running node 'pick' \\(Gather\\)"):
        v.raise_for(path)


# Stand-ins for a runtime that aborts or hangs inside the child: no real model file that makes this
# LiteRT/onnxruntime abort is known to edgekit's tests, and the worker's handling is the same for any child.
ABORTING_RUNTIME = [sys.executable, "-c", "import os, sys; sys.stdin.readline(); os.abort()"]
HANGING_RUNTIME = [sys.executable, "-c", "import sys, time; sys.stdin.readline(); time.sleep(600)"]


def test_a_child_killed_by_a_signal_is_a_crash_verdict(tmp_path):
    worker = probe._Worker(ABORTING_RUNTIME)
    try:
        v = worker.ask(str(tmp_path / "m.tflite"), "tflite")
    finally:
        worker.stop()
    assert v.status == "crash" and "SIGABRT" in v.what
    with pytest.raises(ModelError, match=r"m\.tflite crashed the runtime \(SIGABRT"):
        v.raise_for(tmp_path / "m.tflite")


def test_a_child_that_does_not_answer_is_a_hang_verdict(tmp_path, monkeypatch):
    monkeypatch.setattr(probe, "PROBE_TIMEOUT_S", 0.5)
    worker = probe._Worker(HANGING_RUNTIME)
    v = worker.ask(str(tmp_path / "m.onnx"), "onnx")
    assert v.status == "hang" and worker.proc is None  # the hung child was killed, not left behind


def test_worker_survives_many_models_and_a_dead_worker_is_replaced(tmp_path):
    paths = [tflite_builder.fc_model(tmp_path / f"f{i}.tflite", np.eye(4) * i, np.zeros(4)) for i in range(3)]
    for p in paths:
        assert probe.probe(p, use_cache=False).ok
    first = probe._WORKER.proc
    first.kill()
    first.wait()
    assert probe.probe(paths[0], use_cache=False).ok  # a fresh worker answered
    assert probe._WORKER.proc is not first


def test_load_and_eval_refuse_what_the_probe_refuses(tmp_path):
    """edgekit.load runs the check; check=False skips it (for files edgekit has just verified itself)."""
    path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    data = bytearray(path.read_bytes())
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(bytes(data[: len(data) - 40]))
    with pytest.raises(ModelError, match="cannot load bad.tflite"):
        edgekit.load(bad)
    assert edgekit.load(path).run({"a": np.ones((1, 4), np.float32), "b": np.ones((1, 4), np.float32)})


def test_inputs_declared_larger_than_memory_are_refused_before_allocation(tmp_path):
    """Found by tools/fuzz.py: an input of 1x3x10^9x8 made the probe try to allocate 179 GiB."""
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 10**9, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 10**9, 8])])
    path = tmp_path / "huge.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), str(path))
    v = probe.probe(path)
    assert v.status == "error" and "GiB" in v.what and "x [1, 3, 1000000000, 8]" in v.what


def test_probes_from_threads_get_their_own_verdicts(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    good = [tflite_builder.fc_model(tmp_path / f"g{i}.tflite", np.eye(4) * (i + 1), np.zeros(4)) for i in range(4)]
    bad = [onnx_builder.gather_out_of_range_model(tmp_path / f"b{i}.onnx") for i in range(4)]
    paths = [p for pair in zip(good, bad) for p in pair]
    with ThreadPoolExecutor(4) as pool:
        verdicts = list(pool.map(lambda p: probe.probe(p, use_cache=False), paths))
    assert [v.status for v in verdicts] == ["ok", "error"] * 4
