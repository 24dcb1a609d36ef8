"""Gemm, MatMul and BatchNormalization (standalone and folded into Conv/Gemm)."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

Y = helper.make_tensor_value_info("y", TP.FLOAT, None)
rng = np.random.default_rng(0)


def const(name, shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TP.FLOAT, list(shape))


@pytest.mark.parametrize("attrs,b_shape,c_shape", [
    ({}, (6, 4), (4,)), ({"transB": 1}, (4, 6), (4,)), ({"transB": 1, "alpha": 0.5, "beta": 2.0}, (4, 6), (1, 4)),
    ({"transB": 1}, (4, 6), None), ({"transA": 1}, (6, 4), (4,)), ({}, (6, 4), (3, 4)),
])
def test_gemm(roundtrip, attrs, b_shape, c_shape):
    a_shape = (6, 3) if attrs.get("transA") else (3, 6)
    inits = [const("b", b_shape)] + ([const("c", c_shape)] if c_shape else [])
    ins = ["a", "b"] + (["c"] if c_shape else [])
    r = roundtrip(make_model([helper.make_node("Gemm", ins, ["y"], **attrs)], [vi("a", a_shape)], [Y], inits))
    assert r.ops.get("FULLY_CONNECTED") == 1


@pytest.mark.parametrize("a_shape,b_shape,const_b", [
    ((3, 6), (6, 4), True), ((2, 5, 6), (6, 4), True), ((2, 5, 6), (2, 6, 3), False), ((2, 5, 6), (6, 3), False),
])
def test_matmul(roundtrip, a_shape, b_shape, const_b):
    inputs, inits = [vi("a", a_shape)], []
    if const_b:
        inits.append(const("b", b_shape))
    else:
        inputs.append(vi("b", b_shape))
    r = roundtrip(make_model([helper.make_node("MatMul", ["a", "b"], ["y"])], inputs, [Y], inits))
    assert set(r.ops) == ({"FULLY_CONNECTED"} if const_b else {"BATCH_MATMUL"})


def bn_inits(c):
    return [numpy_helper.from_array(v.astype(np.float32), n) for v, n in (
        (rng.random(c) + 0.5, "g"), (rng.standard_normal(c), "be"), (rng.standard_normal(c), "mu"),
        (rng.random(c) + 0.5, "var"))]


def test_batchnorm_standalone(roundtrip):
    m = make_model([helper.make_node("BatchNormalization", ["x", "g", "be", "mu", "var"], ["y"], epsilon=1e-3)],
                   [vi("x", (1, 4, 5, 5))], [Y], bn_inits(4))
    assert roundtrip(m).ops == {"MUL": 1, "ADD": 1}


def test_batchnorm_folded_into_conv_with_relu_fused(roundtrip):
    m = make_model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                    helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["b"]),
                    helper.make_node("Relu", ["b"], ["y"])],
                   [vi("x", (1, 3, 6, 6))], [Y], [const("w", (4, 3, 3, 3))] + bn_inits(4))
    assert roundtrip(m).ops == {"TRANSPOSE": 2, "CONV_2D": 1}


@pytest.mark.parametrize("trans_b", [0, 1])
def test_batchnorm_folded_into_gemm(roundtrip, trans_b):
    m = make_model([helper.make_node("Gemm", ["x", "w", "bias"], ["c"], transB=trans_b),
                    helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["y"])],
                   [vi("x", (2, 6))], [Y], [const("w", (4, 6) if trans_b else (6, 4)), const("bias", (4,))] + bn_inits(4))
    assert roundtrip(m).ops == {"FULLY_CONNECTED": 1}


def test_matmul_then_bias_add_is_one_fully_connected(roundtrip):
    """torch's Linear on a 3-D input exports as MatMul + Add(bias): one FC with a bias, ReLU fused."""
    m = make_model([helper.make_node("MatMul", ["a", "w"], ["mm"]), helper.make_node("Add", ["mm", "bias"], ["s"]),
                    helper.make_node("Relu", ["s"], ["y"])],
                   [vi("a", (2, 5, 6))], [Y], [const("w", (6, 4)), const("bias", (4,))])
    assert roundtrip(m).ops == {"FULLY_CONNECTED": 1}
