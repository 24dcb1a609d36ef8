"""1-D and 3-D pooling on TFLite's 2-D pool kernels (``ops/_pool.py``).

3-D pooling runs as (H, W) pooling of the (N*D, H, W, C) view followed by a (kd, 1) pooling over D:
max is separable, and the average's divisor is the product of per-axis cell counts, so both are exact
up to float rounding of the two-stage average (tolerance: the harness's 1e-5 of the output range).
"""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper

from .conftest import make_model


def _pool(op, shape, **attrs):
    return make_model([helper.make_node(op, ["x"], ["y"], **attrs)],
                      [helper.make_tensor_value_info("x", TP.FLOAT, shape)],
                      [helper.make_tensor_value_info("y", TP.FLOAT, None)])


@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[2, 2, 2]),
    dict(kernel_shape=[3, 3, 2], strides=[2, 1, 2], pads=[1, 1, 0, 1, 0, 1]),
    dict(kernel_shape=[2, 3, 3], strides=[2, 2, 2], ceil_mode=1),
    dict(kernel_shape=[3, 3, 3], auto_pad="SAME_UPPER"),
])
def test_max_pool_3d(roundtrip, attrs):
    r = roundtrip(_pool("MaxPool", [1, 3, 5, 6, 7], **attrs))
    assert r.ops.get("MAX_POOL_2D") == 2


@pytest.mark.parametrize("attrs", [
    dict(kernel_shape=[2, 2, 2], strides=[2, 2, 2]),
    dict(kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1], count_include_pad=0),
    dict(kernel_shape=[3, 3, 3], pads=[1, 0, 1, 1, 1, 0], count_include_pad=1),
    dict(kernel_shape=[2, 3, 3], strides=[2, 2, 2], ceil_mode=1, count_include_pad=1, pads=[0, 1, 1, 0, 1, 1]),
])
def test_average_pool_3d(roundtrip, attrs):
    r = roundtrip(_pool("AveragePool", [2, 3, 5, 6, 7], **attrs))
    assert r.ops.get("AVERAGE_POOL_2D") == 2


def test_max_pool_3d_negative_inputs_with_padding(roundtrip):
    """Padding must never win a max window: all-negative inputs with pads."""
    m = _pool("MaxPool", [1, 2, 4, 4, 4], kernel_shape=[3, 3, 3], pads=[1, 1, 1, 1, 1, 1])
    x = -1.0 - np.random.default_rng(0).random((1, 2, 4, 4, 4)).astype(np.float32)
    r = roundtrip(m, {"x": x})
    assert (r.tflite["y"] < 0).all()


def test_average_pool_1d(roundtrip):
    r = roundtrip(_pool("AveragePool", [1, 4, 9], kernel_shape=[3], strides=[2], pads=[1, 1], count_include_pad=1))
    assert r.ops.get("AVERAGE_POOL_2D") == 1


def test_dilated_pooling_refused_in_one_line(tmp_path):
    import edgekit
    from edgekit.errors import UnsupportedOpError

    with pytest.raises(UnsupportedOpError, match="dilated pooling"):
        edgekit.convert(_pool("MaxPool", [1, 1, 6, 6], kernel_shape=[2, 2], dilations=[2, 2]), tmp_path / "o.tflite")
    assert not (tmp_path / "o.tflite").exists()


def test_max_pool_indices_refused_in_one_line(tmp_path):
    import edgekit
    from edgekit.errors import UnsupportedOpError

    m = make_model([helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2])],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 1, 4, 4])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None), helper.make_tensor_value_info("i", TP.INT64, None)])
    with pytest.raises(UnsupportedOpError, match=r"MaxPool .*Indices output.*no TFLite builtin") as err:
        edgekit.convert(m, tmp_path / "o.tflite")
    assert "\n" not in str(err.value) and not (tmp_path / "o.tflite").exists()
