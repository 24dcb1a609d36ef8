"""GatherElements, GatherND, IsNaN and Flatten(axis=rank): the ops HF transformer exports needed.

Gathers only copy values, so outputs must match onnxruntime exactly (rtol 0 in ``roundtrip`` terms
still allows 1e-6 absolute; the asserts below check equality). IsNaN is exact by IEEE 754."""
import numpy as np
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model, run_tflite

rng = np.random.default_rng(0)
F = TP.FLOAT


def _vi(name, shape, t=F):
    return helper.make_tensor_value_info(name, t, shape)


def test_gather_elements_constant_indices_with_negatives(roundtrip):
    idx = rng.integers(-3, 3, (2, 4, 5)).astype(np.int64)
    m = make_model([helper.make_node("GatherElements", ["x", "i"], ["y"], axis=1)],
                   [_vi("x", [2, 3, 5])], [_vi("y", None)], [numpy_helper.from_array(idx, "i")])
    r = roundtrip(m)
    np.testing.assert_array_equal(r.tflite["y"], r.onnx["y"])
    assert r.ops.get("GATHER") == 1


def test_gather_elements_runtime_indices(roundtrip):
    m = make_model([helper.make_node("GatherElements", ["x", "i"], ["y"], axis=-1)],
                   [_vi("x", [3, 6]), _vi("i", [3, 4], TP.INT64)], [_vi("y", None)])
    feeds = {"x": rng.standard_normal((3, 6)).astype(np.float32),
             "i": rng.integers(-6, 6, (3, 4)).astype(np.int64)}
    r = roundtrip(m, feeds)
    np.testing.assert_array_equal(r.tflite["y"], r.onnx["y"])
    assert r.ops.get("FLOOR_MOD") == 1   # negative runtime indices wrap


def test_gather_nd_constant_indices_on_bool_mask(roundtrip):
    """The dynamo exporter's attention-mask indexing: (1, 16) bool mask, indices (1, 1, 1, 16, 2)."""
    idx = np.stack([np.zeros(16, np.int64), np.arange(16)], -1).reshape(1, 1, 1, 16, 2)
    m = make_model([helper.make_node("Cast", ["x"], ["b"], to=TP.BOOL),
                    helper.make_node("GatherND", ["b", "i"], ["y"])],
                   [_vi("x", [1, 16])], [_vi("y", None, TP.BOOL)], [numpy_helper.from_array(idx, "i")])
    feeds = {"x": (rng.random((1, 16)) > 0.5).astype(np.float32)}
    r = roundtrip(m, feeds)
    np.testing.assert_array_equal(r.tflite["y"], r.onnx["y"])


def test_gather_nd_constant_indices_batch_dims(roundtrip):
    idx = rng.integers(-3, 3, (2, 4, 1)).astype(np.int64)
    m = make_model([helper.make_node("GatherND", ["x", "i"], ["y"], batch_dims=1)],
                   [_vi("x", [2, 3, 5])], [_vi("y", None)], [numpy_helper.from_array(idx, "i")])
    r = roundtrip(m)
    assert r.tflite["y"].shape == (2, 4, 5)
    np.testing.assert_array_equal(r.tflite["y"], r.onnx["y"])


def test_gather_nd_runtime_indices(roundtrip):
    m = make_model([helper.make_node("GatherND", ["x", "i"], ["y"])],
                   [_vi("x", [4, 3, 5]), _vi("i", [6, 2], TP.INT64)], [_vi("y", None)])
    feeds = {"x": rng.standard_normal((4, 3, 5)).astype(np.float32),
             "i": np.stack([rng.integers(0, 4, 6), rng.integers(0, 3, 6)], -1).astype(np.int64)}
    r = roundtrip(m, feeds)
    np.testing.assert_array_equal(r.tflite["y"], r.onnx["y"])
    assert r.ops.get("GATHER_ND") == 1


def test_is_nan_guards_a_fully_masked_softmax(roundtrip, tmp_path):
    """Where(IsNaN(softmax), 0, softmax) as HF attention exports it; a NaN input row must give True."""
    m = make_model([helper.make_node("IsNaN", ["x"], ["nan"]),
                    helper.make_node("Where", ["nan", "zero", "x"], ["y"])],
                   [_vi("x", [2, 5])], [_vi("y", None), _vi("nan", None, TP.BOOL)],
                   [numpy_helper.from_array(np.array(0.0, np.float32), "zero")])
    x = rng.standard_normal((2, 5)).astype(np.float32)
    r = roundtrip(m, {"x": x})
    assert r.ops.get("NOT_EQUAL") == 1
    x[1, 2] = np.nan
    out = run_tflite(r.path, {"x": x})
    assert out["nan"].tolist() == np.isnan(x).tolist() and out["y"][1, 2] == 0.0
    np.testing.assert_array_equal(out["y"][0], x[0])


def test_flatten_axis_equal_to_rank(roundtrip):
    m = make_model([helper.make_node("Flatten", ["x"], ["y"], axis=2)], [_vi("x", [3, 4])], [_vi("y", None)])
    assert roundtrip(m).tflite["y"].shape == (12, 1)


def test_gather_nd_runtime_indices_batch_dims(roundtrip):
    m = make_model([helper.make_node("GatherND", ["x", "i"], ["y"], batch_dims=1)],
                   [_vi("x", [2, 3, 4, 5]), _vi("i", [2, 6, 2], TP.INT64)], [_vi("y", None)])
    feeds = {"x": rng.standard_normal((2, 3, 4, 5)).astype(np.float32),
             "i": np.stack([rng.integers(0, 3, (2, 6)), rng.integers(0, 4, (2, 6))], -1).astype(np.int64)}
    r = roundtrip(m, feeds)
    assert r.tflite["y"].shape == (2, 6, 5)
    np.testing.assert_array_equal(r.tflite["y"], r.onnx["y"])
