"""ArgMax/ArgMin (on an NHWC-carried value, keepdims, select_last_index with ties) and Elu/Celu."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model


def _conv_then(node, out_type=TP.INT64):
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 3, 1, 1)).astype(np.float32), "w")
    return make_model([helper.make_node("Conv", ["x", "w"], ["c"]), node],
                      [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 5, 6])],
                      [helper.make_tensor_value_info("y", out_type, None)], [w])


@pytest.mark.parametrize("op,code", [("ArgMax", "ARG_MAX"), ("ArgMin", "ARG_MIN")])
@pytest.mark.parametrize("axis,keepdims", [(1, 1), (1, 0), (-1, 0), (2, 1)])
def test_arg_after_conv_keeps_nhwc(roundtrip, op, code, axis, keepdims):
    r = roundtrip(_conv_then(helper.make_node(op, ["c"], ["y"], axis=axis, keepdims=keepdims)))
    # the reduction reads the conv's NHWC output as is: TRANSPOSEs only at the graph input and (when the
    # output is not in the ONNX order) at the graph output
    assert r.ops.get(code) == 1 and r.ops.get("TRANSPOSE", 0) == (1 if (axis, keepdims) == (1, 0) else 2)


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
def test_arg_select_last_index_with_ties(roundtrip, op):
    m = make_model([helper.make_node(op, ["x"], ["y"], axis=1, keepdims=0, select_last_index=1)],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [3, 4])], [helper.make_tensor_value_info("y", TP.INT64, None)],
                   opset=12)
    x = np.array([[1, 3, 3, 0], [2, 2, 2, 2], [0, -1, 5, -1]], np.float32)   # ties: the last index must win
    assert roundtrip(m, {"x": x}).ops.get("REVERSE_V2") == 1


@pytest.mark.parametrize("alpha,code", [(1.0, "ELU"), (0.5, "SELECT_V2")])
def test_elu(roundtrip, alpha, code):
    m = make_model([helper.make_node("Elu", ["x"], ["y"], alpha=alpha)], [helper.make_tensor_value_info("x", TP.FLOAT, [2, 8])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)])
    assert code in roundtrip(m).ops


def test_celu(roundtrip):
    m = make_model([helper.make_node("Celu", ["x"], ["y"], alpha=2.0)], [helper.make_tensor_value_info("x", TP.FLOAT, [2, 8])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)])
    roundtrip(m)
