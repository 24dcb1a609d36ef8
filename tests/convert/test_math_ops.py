"""Math, normalization and activation lowerings added for transformers and classic CNNs:
LayerNormalization, Erf, Gelu (and the erf-GELU fusion), Softmax / LogSoftmax (both opset
semantics), Reduce*, Pow, Sqrt, Exp, unary math, Min/Max, Reciprocal, LRN.

Tolerance: the default (1e-5 * max(1, range) + 1e-6) everywhere, including the standalone Erf: its
A&S 7.1.26 approximation is within 1.5e-7 of erf in exact arithmetic (5.3e-7 measured in float32),
far inside it; the test also checks the absolute error directly (<= 1e-6).
"""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

rng = np.random.default_rng(0)


def f32(name, value):
    return numpy_helper.from_array(np.asarray(value, np.float32), name)


def i64(name, value):
    return numpy_helper.from_array(np.asarray(value, np.int64), name)


def one(node, shape, inits=(), opset=13, prefix_conv=False):
    nodes, in_name = [node], "x"
    inits = list(inits)
    if prefix_conv:   # make "x" a conv output, carried NHWC
        nodes.insert(0, helper.make_node("Conv", ["img", "cw"], ["x"]))
        inits.append(f32("cw", rng.standard_normal((shape[1], shape[1], 1, 1))))
        in_name = "img"
    return make_model(nodes, [helper.make_tensor_value_info(in_name, TP.FLOAT, list(shape))],
                      [helper.make_tensor_value_info(o, TP.FLOAT, None) for o in node.output if o], inits, opset=opset)


@pytest.mark.parametrize("axis", [-1, 1])
def test_layer_normalization(roundtrip, axis):
    shape = (2, 5, 16)
    inits = [f32("g", rng.standard_normal(shape[axis:])), f32("b", rng.standard_normal(shape[axis:]))]
    r = roundtrip(one(helper.make_node("LayerNormalization", ["x", "g", "b"], ["y"], axis=axis, epsilon=1e-12),
                      shape, inits, opset=17))
    assert r.ops == {"MEAN": 2, "SUB": 1, "MUL": 3, "ADD": 2, "RSQRT": 1}


def test_layer_normalization_nhwc_channels_no_transpose_inside(roundtrip):
    """LayerNorm over (C, H, W) of a conv output: axes remapped, scale permuted, no TRANSPOSE added."""
    shape = (1, 4, 3, 5)
    inits = [f32("g", rng.standard_normal(shape[1:]))]
    r = roundtrip(one(helper.make_node("LayerNormalization", ["x", "g"], ["y"], axis=1), shape, inits, opset=17,
                      prefix_conv=True))
    assert r.ops["TRANSPOSE"] == 2


def test_erf_standalone_accuracy(roundtrip):
    x = np.linspace(-6, 6, 4001, dtype=np.float32).reshape(1, -1)
    r = roundtrip(one(helper.make_node("Erf", ["x"], ["y"]), x.shape), {"x": x})
    assert float(np.max(np.abs(r.tflite["y"] - r.onnx["y"]))) <= 1e-6
    assert "SIGN" in r.ops and "EXP" in r.ops


@pytest.mark.parametrize("variant", ["div_mul_mul", "half_first", "mul_inv_sqrt2"])
def test_erf_gelu_pattern_fuses_to_gelu(roundtrip, variant):
    """torch's nn.GELU export (and two equivalent spellings) becomes ONE GELU op."""
    nodes = [helper.make_node("Relu", ["x"], ["h"])]   # x of the pattern is an intermediate value
    if variant == "mul_inv_sqrt2":
        nodes.append(helper.make_node("Mul", ["h", "isq2"], ["s"]))
    else:
        nodes.append(helper.make_node("Div", ["h", "sq2"], ["s"]))
    nodes += [helper.make_node("Erf", ["s"], ["e"]), helper.make_node("Add", ["e", "one"], ["a"])]
    if variant == "half_first":
        nodes += [helper.make_node("Mul", ["h", "half"], ["hh"]), helper.make_node("Mul", ["hh", "a"], ["y"])]
    else:
        nodes += [helper.make_node("Mul", ["h", "a"], ["m"]), helper.make_node("Mul", ["m", "half"], ["y"])]
    inits = [f32("sq2", np.sqrt(2)), f32("isq2", 1 / np.sqrt(2)), f32("one", 1.0), f32("half", 0.5)]
    m = make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [2, 64])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    r = roundtrip(m)
    assert r.ops == {"RELU": 1, "GELU": 1}


def test_gelu_pattern_with_shared_intermediate_is_not_fused(roundtrip):
    """The erf value is also a graph output: fusing would lose it, so the Erf is lowered instead."""
    nodes = [helper.make_node("Div", ["x", "sq2"], ["s"]), helper.make_node("Erf", ["s"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["a"]), helper.make_node("Mul", ["x", "a"], ["m"]),
             helper.make_node("Mul", ["m", "half"], ["y"])]
    m = make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [2, 8])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None),
                    helper.make_tensor_value_info("e", TP.FLOAT, None)],
                   [f32("sq2", np.sqrt(2)), f32("one", 1.0), f32("half", 0.5)])
    r = roundtrip(m)
    assert "GELU" not in r.ops


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_opset20(roundtrip, approximate):
    r = roundtrip(one(helper.make_node("Gelu", ["x"], ["y"], approximate=approximate), (3, 10), opset=20))
    assert r.ops == {"GELU": 1}


@pytest.mark.parametrize("op,code", [("Softmax", "SOFTMAX"), ("LogSoftmax", "LOG_SOFTMAX")])
@pytest.mark.parametrize("opset,axis", [(11, 1), (11, -1), (13, 1), (13, -1)])
def test_softmax(roundtrip, op, code, opset, axis):
    r = roundtrip(one(helper.make_node(op, ["x"], ["y"], axis=axis), (2, 3, 4, 5), opset=opset))
    assert r.ops[code] == 1


def test_softmax_over_channels_of_nhwc_value_needs_no_transpose(roundtrip):
    r = roundtrip(one(helper.make_node("Softmax", ["x"], ["y"], axis=1), (1, 6, 3, 3), prefix_conv=True))
    assert r.ops == {"TRANSPOSE": 2, "CONV_2D": 1, "SOFTMAX": 1}


@pytest.mark.parametrize("op,code", [("ReduceMean", "MEAN"), ("ReduceMax", "REDUCE_MAX"), ("ReduceSum", "SUM"),
                                     ("ReduceMin", "REDUCE_MIN")])
@pytest.mark.parametrize("keepdims", [0, 1])
@pytest.mark.parametrize("opset", [13, 18])
def test_reduce_after_conv(roundtrip, op, code, keepdims, opset):
    """Axes given as attribute or input; the NHWC conv output is reduced on remapped axes."""
    axes_input = opset >= 18 or (op == "ReduceSum" and opset >= 13)
    if axes_input:
        node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keepdims)
        inits = [i64("axes", [1, -1])]
    else:
        node = helper.make_node(op, ["x"], ["y"], axes=[1, -1], keepdims=keepdims)
        inits = []
    r = roundtrip(one(node, (1, 4, 3, 5), inits, opset=opset, prefix_conv=True))
    assert r.ops[code] == 1 and r.ops["TRANSPOSE"] <= 2


def test_reduce_all_axes_default(roundtrip):
    r = roundtrip(one(helper.make_node("ReduceMean", ["x"], ["y"]), (2, 3, 4), opset=13))
    assert r.onnx["y"].shape == (1, 1, 1) and r.ops == {"MEAN": 1}


@pytest.mark.parametrize("exponent,code", [(2.0, "MUL"), (0.5, "SQRT"), (-0.5, "RSQRT"), (3.0, "POW"), (-1.0, "DIV")])
def test_pow_constant_exponent(roundtrip, exponent, code):
    x = np.abs(rng.standard_normal((2, 7))).astype(np.float32) + 0.1
    r = roundtrip(one(helper.make_node("Pow", ["x", "e"], ["y"]), x.shape, [f32("e", exponent)]), {"x": x})
    assert r.ops == {code: 1}


@pytest.mark.parametrize("op,code", [("Sqrt", "SQRT"), ("Exp", "EXP"), ("Neg", "NEG"), ("Abs", "ABS"), ("Log", "LOG"),
                                     ("Floor", "FLOOR"), ("Ceil", "CEIL"), ("Sin", "SIN"), ("Cos", "COS"),
                                     ("Sign", "SIGN"), ("Reciprocal", "DIV")])
def test_unary_math(roundtrip, op, code):
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    if op in ("Sqrt", "Log", "Reciprocal"):
        x = np.abs(x) + 0.1
    r = roundtrip(one(helper.make_node(op, ["x"], ["y"]), x.shape), {"x": x})
    assert r.ops == {code: 1}


@pytest.mark.parametrize("op,code", [("Min", "MINIMUM"), ("Max", "MAXIMUM")])
def test_min_max_variadic_broadcast(roundtrip, op, code):
    m = make_model([helper.make_node(op, ["a", "b", "c"], ["y"])],
                   [helper.make_tensor_value_info("a", TP.FLOAT, [2, 3, 4]),
                    helper.make_tensor_value_info("b", TP.FLOAT, [3, 1])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], [f32("c", rng.standard_normal(4))])
    r = roundtrip(m)
    assert r.ops == {code: 2}


@pytest.mark.parametrize("size", [3, 5])
def test_lrn(roundtrip, size):
    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=1e-3, beta=0.75, bias=2.0)
    r = roundtrip(one(node, (1, 8, 4, 4)))
    assert r.ops["LOCAL_RESPONSE_NORMALIZATION"] == 1


def test_lrn_even_size_is_refused(tmp_path):
    import edgekit
    from edgekit.errors import UnsupportedOpError

    with pytest.raises(UnsupportedOpError, match="even size"):
        edgekit.convert(one(helper.make_node("LRN", ["x"], ["y"], size=4), (1, 8, 4, 4)), tmp_path / "m.tflite")


@pytest.mark.parametrize("op,code", [("Equal", "EQUAL"), ("Less", "LESS"), ("Greater", "GREATER"),
                                     ("LessOrEqual", "LESS_EQUAL"), ("GreaterOrEqual", "GREATER_EQUAL")])
def test_attention_mask_compare_where(roundtrip, op, code):
    """scores.masked_fill(ids <op> 0, -1e9): a comparison of int64 ids, then Where (SELECT_V2) broadcasting
    the (1, 1, 1, T) mask over (1, H, T, T) scores."""
    nodes = [helper.make_node(op, ["ids", "zero"], ["m"]), helper.make_node("Not", ["m"], ["keep"]),
             helper.make_node("Unsqueeze", ["keep", "ax"], ["k4"]),
             helper.make_node("Where", ["k4", "scores", "neg"], ["y"])]
    m = make_model(nodes, [helper.make_tensor_value_info("ids", TP.INT64, [1, 6]),
                           helper.make_tensor_value_info("scores", TP.FLOAT, [1, 2, 6, 6])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)],
                   [i64("zero", 0), i64("ax", [1, 2]), f32("neg", -1e9)])
    ids = np.array([[5, 0, 3, 0, 1, 2]], np.int64)
    r = roundtrip(m, {"ids": ids, "scores": rng.standard_normal((1, 2, 6, 6)).astype(np.float32)})
    np.testing.assert_array_equal(r.tflite["y"], r.onnx["y"])   # a select copies values: exact
    assert r.ops[code] == 1 and r.ops["SELECT_V2"] == 1 and r.ops["LOGICAL_NOT"] == 1


@pytest.mark.parametrize("a_shape,b_shape,b_const", [
    ((2, 3, 4, 5), (2, 3, 5, 6), False),    # attention: both runtime
    ((2, 1, 4, 5), (3, 5, 6), True),        # batch broadcasting against a constant
    ((2, 7, 5), (5, 6), True),              # 3-D x constant matrix -> FULLY_CONNECTED(keep_num_dims)
])
def test_matmul_batched(roundtrip, a_shape, b_shape, b_const):
    inputs = [helper.make_tensor_value_info("a", TP.FLOAT, list(a_shape))]
    inits = [f32("b", rng.standard_normal(b_shape))] if b_const else []
    if not b_const:
        inputs.append(helper.make_tensor_value_info("b", TP.FLOAT, list(b_shape)))
    m = make_model([helper.make_node("MatMul", ["a", "b"], ["y"])], inputs,
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    r = roundtrip(m)
    assert r.ops == ({"FULLY_CONNECTED": 1} if len(b_shape) == 2 else {"BATCH_MATMUL": 1})
