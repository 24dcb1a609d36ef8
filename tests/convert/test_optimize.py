"""TFLite-level passes: which producers take a fused activation, and that results stay exact."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

rng = np.random.default_rng(0)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TP.FLOAT, list(shape))


ACTS = {"Relu": ([], {"RELU"}), "Clip6": (["lo0", "hi6"], {"RELU6"}), "Clip1": (["lom1", "hi1"], {"RELU_N1_TO_1"})}
BOUNDS = [numpy_helper.from_array(np.array(v, np.float32), n) for v, n in ((0, "lo0"), (6, "hi6"), (-1, "lom1"), (1, "hi1"))]


def act_node(kind, x, y):
    extra, _ = ACTS[kind]
    return helper.make_node("Relu" if kind == "Relu" else "Clip", [x, *extra], [y])


@pytest.mark.parametrize("kind", list(ACTS))
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_activation_fused_into_binary(roundtrip, op, kind):
    m = make_model([helper.make_node(op, ["a", "b"], ["s"]), act_node(kind, "s", "y")],
                   [vi("a", (1, 3, 4, 4)), vi("b", (1, 3, 4, 4))], [vi("y", (1, 3, 4, 4))], BOUNDS)
    feeds = {"a": rng.standard_normal((1, 3, 4, 4)).astype(np.float32) * 4,
             "b": (rng.random((1, 3, 4, 4)) + 0.5).astype(np.float32)}
    r = roundtrip(m, feeds)
    assert not set(r.ops) & ACTS[kind][1]   # fused: no separate activation op


def test_activation_fused_into_transpose_conv_and_pool(roundtrip):
    w = numpy_helper.from_array(rng.standard_normal((3, 4, 3, 3)).astype(np.float32), "w")
    m = make_model([helper.make_node("ConvTranspose", ["x", "w"], ["c"], strides=[2, 2]), act_node("Relu", "c", "r"),
                    helper.make_node("AveragePool", ["r"], ["p"], kernel_shape=[2, 2]), act_node("Clip1", "p", "y")],
                   [vi("x", (1, 3, 4, 4))], [vi("y", (1, 4, 8, 8))], [w, *BOUNDS])
    assert roundtrip(m).ops == {"TRANSPOSE": 2, "TRANSPOSE_CONV": 1, "AVERAGE_POOL_2D": 1}


def test_activation_not_fused_into_concatenation(roundtrip):
    """CONCATENATION has a fused_activation_function field, but the kernel ignores it."""
    m = make_model([helper.make_node("Concat", ["a", "b"], ["c"], axis=1), act_node("Relu", "c", "y")],
                   [vi("a", (1, 3, 4, 4)), vi("b", (1, 3, 4, 4))], [vi("y", (1, 6, 4, 4))])
    assert roundtrip(m).ops == {"CONCATENATION": 1, "RELU": 1}


def test_activation_not_fused_when_pre_activation_is_used(roundtrip):
    m = make_model([helper.make_node("Add", ["a", "b"], ["s"]), act_node("Relu", "s", "r"),
                    helper.make_node("Mul", ["s", "r"], ["y"])],
                   [vi("a", (2, 5)), vi("b", (2, 5))], [vi("y", (2, 5))])
    assert roundtrip(m).ops == {"ADD": 1, "RELU": 1, "MUL": 1}


@pytest.mark.parametrize("p,q,left", [((0, 2, 3, 1), (0, 3, 1, 2), 0), ((0, 2, 3, 1), (0, 2, 1, 3), 1)])
def test_transpose_pairs_cancel_or_compose(tmp_path, p, q, left):
    """IR-level: TRANSPOSE(TRANSPOSE(x, p), q) -> x (inverse) or one TRANSPOSE(x, p[q]); the written
    model still computes x.transpose(p).transpose(q)."""
    from edgekit._io import write_bytes
    from edgekit.convert.ir import TModel, TOp, TTensor
    from edgekit.convert.optimize import cancel_transposes
    from edgekit.convert.writer import serialize

    from .conftest import run_tflite, tflite_ops

    x = TTensor("x", (1, 2, 3, 4), np.float32)
    mid = TTensor("mid", tuple(x.shape[a] for a in p), np.float32)
    y = TTensor("y", tuple(mid.shape[a] for a in q), np.float32)
    const = lambda v, n: TTensor(n, (4,), np.int32, np.array(v, np.int32))  # noqa: E731
    ops = [TOp("TRANSPOSE", [x, const(p, "p")], [mid]), TOp("TRANSPOSE", [mid, const(q, "q")], [y]),
           TOp("RELU", [y], [TTensor("out", y.shape, np.float32)])]
    model = TModel(ops, [x], [ops[-1].outputs[0]])
    cancel_transposes(model)
    path = write_bytes(tmp_path / "t.tflite", serialize(model))
    assert tflite_ops(path).get("TRANSPOSE", 0) == left
    feed = rng.standard_normal((1, 2, 3, 4)).astype(np.float32)
    want = np.maximum(feed.transpose(p).transpose(q), 0)
    np.testing.assert_array_equal(run_tflite(path, {"x": feed})["out"], want)
