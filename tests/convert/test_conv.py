"""Conv lowering: regular, depthwise, grouped, dilated, strided, asymmetric pads, auto_pad, 1-D."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model


def conv_model(c_in, c_out, k, group=1, hw=(9, 9), bias=True, **attrs):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((c_out, c_in // group, *k)).astype(np.float32)
    inits = [numpy_helper.from_array(w, "w")]
    ins = ["x", "w"]
    if bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(c_out).astype(np.float32), "b"))
        ins.append("b")
    node = helper.make_node("Conv", ins, ["y"], group=group, **attrs)
    return make_model([node], [helper.make_tensor_value_info("x", TP.FLOAT, [1, c_in, *hw])],
                      [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)


@pytest.mark.parametrize("c_in,c_out,k,group,attrs", [
    (3, 8, (3, 3), 1, dict(pads=[1, 1, 1, 1])),                      # SAME-equivalent pads
    (3, 8, (3, 3), 1, dict(strides=[2, 2], pads=[1, 1, 1, 1])),      # stride 2: TF SAME differs -> explicit PAD
    (4, 4, (3, 3), 4, dict(pads=[1, 1, 1, 1])),                      # depthwise
    (4, 8, (3, 3), 4, dict(pads=[1, 1, 1, 1])),                      # depthwise, multiplier 2
    (4, 6, (3, 3), 2, dict()),                                       # grouped
    (3, 5, (3, 3), 1, dict(dilations=[2, 2], pads=[2, 2, 2, 2])),    # dilated
    (3, 5, (3, 2), 1, dict(pads=[0, 1, 2, 0])),                      # asymmetric pads, non-square kernel
    (3, 5, (3, 3), 1, dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    (3, 5, (3, 3), 1, dict(auto_pad="SAME_LOWER", strides=[2, 2])),
    (3, 5, (1, 1), 1, dict(auto_pad="VALID")),
])
def test_conv2d(roundtrip, c_in, c_out, k, group, attrs):
    r = roundtrip(conv_model(c_in, c_out, k, group, **attrs))
    assert r.ops.get("CONV_2D", 0) + r.ops.get("DEPTHWISE_CONV_2D", 0) == 1


def test_conv1d_without_bias(roundtrip):
    rng = np.random.default_rng(2)
    w = numpy_helper.from_array(rng.standard_normal((6, 3, 3)).astype(np.float32), "w")
    m = make_model([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1])],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 10])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], [w])
    roundtrip(m)
