"""MaxPool, AveragePool (pads, ceil_mode, count_include_pad), GlobalAverage/MaxPool, ConvTranspose."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

Y = helper.make_tensor_value_info("y", TP.FLOAT, None)


def model(op, hw=(9, 9), c=3, **attrs):
    return make_model([helper.make_node(op, ["x"], ["y"], **attrs)],
                      [helper.make_tensor_value_info("x", TP.FLOAT, [1, c, *hw])], [Y], opset=13)


POOL_CASES = [
    dict(kernel_shape=[2, 2], strides=[2, 2]),
    dict(kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1]),
    dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
    dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1),
    dict(kernel_shape=[3, 2], strides=[2, 1], pads=[0, 1, 2, 0]),
    dict(kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER"),
]


@pytest.mark.parametrize("attrs", POOL_CASES)
def test_max_pool(roundtrip, attrs):
    assert roundtrip(model("MaxPool", **attrs)).ops.get("MAX_POOL_2D") == 1


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("attrs", POOL_CASES)
def test_average_pool(roundtrip, attrs, count_include_pad):
    r = roundtrip(model("AveragePool", count_include_pad=count_include_pad, **attrs))
    assert r.ops.get("AVERAGE_POOL_2D") == 1


def test_global_pools(roundtrip):
    assert roundtrip(model("GlobalAveragePool")).ops == {"TRANSPOSE": 2, "MEAN": 1}
    assert roundtrip(model("GlobalMaxPool")).ops == {"TRANSPOSE": 2, "MAX_POOL_2D": 1}


@pytest.mark.parametrize("attrs", [
    dict(strides=[2, 2]), dict(strides=[2, 2], pads=[1, 1, 1, 1]), dict(strides=[2, 2], pads=[1, 1, 1, 1], output_padding=[1, 1]),
    dict(strides=[1, 1], pads=[0, 1, 2, 0]), dict(strides=[2, 2], pads=[0, 0, 2, 2]), dict(strides=[2, 2], auto_pad="SAME_UPPER"),
    dict(strides=[2, 2], auto_pad="SAME_LOWER"), dict(strides=[2, 2], output_shape=[10, 10]),
])
@pytest.mark.parametrize("k", [3, 4])
def test_conv_transpose(roundtrip, attrs, k):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((3, 5, k, k)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.standard_normal(5).astype(np.float32), "b")
    m = make_model([helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 5, 5])], [Y], [w, b])
    assert roundtrip(m).ops.get("TRANSPOSE_CONV") == 1


@pytest.mark.parametrize("op", ["MaxPool", "AveragePool"])
@pytest.mark.parametrize("attrs", [dict(kernel_shape=[3], strides=[2]), dict(kernel_shape=[3], pads=[1, 1]),
                                   dict(kernel_shape=[2], strides=[2], ceil_mode=1)])
def test_pool_1d(roundtrip, op, attrs):
    m = make_model([helper.make_node(op, ["x"], ["y"], **attrs)],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 9])], [Y])
    roundtrip(m)


@pytest.mark.parametrize("before,pad_op", [("Relu", "PAD"), ("Tanh", "PADV2")])
def test_max_pool_padding_value(roundtrip, before, pad_op):
    """Explicit max-pool padding must never win: -inf (PADV2) in general, but zeros (PAD, which
    XNNPACK delegates) when the input is a ReLU output and so >= 0."""
    m = make_model([helper.make_node(before, ["x"], ["r"]),
                    helper.make_node("MaxPool", ["r"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 8, 8])], [Y])
    assert pad_op in roundtrip(m).ops
