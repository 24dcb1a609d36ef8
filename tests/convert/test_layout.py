"""Layout planning: NHWC chains carry no TRANSPOSE; one at the input and one per 4-D output."""
import numpy as np
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

rng = np.random.default_rng(0)


def w(name, shape):
    return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)


def residual_block_model():
    """conv-relu -> depthwise conv -> conv, + residual add, maxpool, avgpool, then a 4-D output."""
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], pads=[1, 1, 1, 1], group=8),
        helper.make_node("Clip", ["c2", "lo", "hi"], ["r2"]),
        helper.make_node("Conv", ["r2", "w3"], ["c3"]),
        helper.make_node("Add", ["c3", "r1"], ["s"]),
        helper.make_node("Mul", ["s", "scale"], ["m"]),
        helper.make_node("MaxPool", ["m"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Sigmoid", ["p"], ["y"]),
    ]
    inits = [w("w1", (8, 3, 3, 3)), w("b1", (8,)), w("w2", (8, 1, 3, 3)), w("w3", (8, 8, 1, 1)), w("scale", (8, 1, 1)),
             numpy_helper.from_array(np.array(0, np.float32), "lo"), numpy_helper.from_array(np.array(6, np.float32), "hi")]
    return make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 8, 8])],
                      [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)


def test_chain_has_transposes_only_at_input_and_output(roundtrip):
    r = roundtrip(residual_block_model())
    # Relu and Clip(0,6) fused into their convs: no RELU/RELU6 ops left
    assert r.ops == {"TRANSPOSE": 2, "CONV_2D": 2, "DEPTHWISE_CONV_2D": 1, "ADD": 1, "MUL": 1,
                     "MAX_POOL_2D": 1, "LOGISTIC": 1}


def test_nhwc_input_layout_removes_input_transpose(roundtrip):
    r = roundtrip(residual_block_model(), input_layout="nhwc")
    assert r.ops["TRANSPOSE"] == 1   # only the 4-D output goes back to NCHW


def test_flatten_gemm_after_global_pool_needs_no_transpose(roundtrip):
    """GAP -> Flatten -> Gemm: with 1x1 spatial size NHWC and NCHW flatten identically."""
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["c"], ["g"]),
             helper.make_node("Flatten", ["g"], ["f"]),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["y"], transB=1)]
    m = make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 8, 8])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], [w("w1", (8, 3, 3, 3)), w("fw", (5, 8)), w("fb", (5,))])
    r = roundtrip(m)
    assert r.ops.get("TRANSPOSE") == 1, r.ops


def test_reshape_split_and_merge_keeps_nhwc(roundtrip):
    """conv -> Reshape (N, 2, C/2, H, W) -> Mul -> Reshape back -> conv: the split channel axis stays
    innermost physically, so no TRANSPOSE is needed between the convs."""
    shape5 = numpy_helper.from_array(np.array([1, 2, 4, 6, 6], np.int64), "s5")
    shape4 = numpy_helper.from_array(np.array([1, 8, 6, 6], np.int64), "s4")
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Reshape", ["c", "s5"], ["r5"]),
             helper.make_node("Mul", ["r5", "k"], ["m"]),
             helper.make_node("Reshape", ["m", "s4"], ["r4"]),
             helper.make_node("Conv", ["r4", "w2"], ["y"])]
    m = make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 6, 6])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)],
                   [w("w1", (8, 3, 3, 3)), w("w2", (4, 8, 1, 1)), shape5, shape4, w("k", (2, 1, 1, 1))])
    r = roundtrip(m)
    assert r.ops == {"TRANSPOSE": 2, "CONV_2D": 2, "RESHAPE": 2, "MUL": 1}


def test_flatten_of_spatial_map_then_gemm_permutes_weights(roundtrip):
    """Flatten of an NHWC map with H*W > 1 keeps the ONNX (C, H, W) feature order: instead of a
    TRANSPOSE back to NCHW, the Gemm's weight columns are permuted to (H, W, C) order."""
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Gemm", ["f", "fw"], ["y"], transB=1)]
    m = make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 5, 5])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], [w("w1", (4, 3, 3, 3)), w("fw", (6, 36))])
    r = roundtrip(m)
    assert r.ops == {"TRANSPOSE": 1, "CONV_2D": 1, "FULLY_CONNECTED": 1}   # only the input TRANSPOSE


def test_attention_head_merge_costs_one_transpose(roundtrip):
    """(B,H,S,D) -> Transpose(0,2,1,3) -> Reshape(B,S,H*D) -> MatMul: the head merge needs exactly one
    TRANSPOSE (the Transpose itself is a relabeling; the reshape reads the ONNX order)."""
    shape = numpy_helper.from_array(np.array([1, 4, 6], np.int64), "s")
    nodes = [helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 1, 3]),
             helper.make_node("Reshape", ["t", "s"], ["r"]),
             helper.make_node("MatMul", ["r", "w"], ["y"])]
    m = make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [1, 2, 4, 3])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], [shape, w("w", (6, 5))])
    assert roundtrip(m).ops == {"TRANSPOSE": 1, "RESHAPE": 1, "FULLY_CONNECTED": 1}


def test_flatten_of_spatial_map_with_other_consumer_keeps_transpose(roundtrip):
    """When the flattened features also leave the graph, their ONNX order must be materialized."""
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"]),
             helper.make_node("Flatten", ["c"], ["f"]),
             helper.make_node("Gemm", ["f", "fw"], ["y"], transB=1)]
    m = make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 5, 5])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None), helper.make_tensor_value_info("f", TP.FLOAT, None)],
                   [w("w1", (4, 3, 3, 3)), w("fw", (6, 36))])
    r = roundtrip(m)
    assert r.ops["TRANSPOSE"] == 2
