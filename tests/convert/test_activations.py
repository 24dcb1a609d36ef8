"""Activations and unary ops, each alone on a 4-D input (they keep the layout they are given)."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

X = helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 5, 4])
Y = helper.make_tensor_value_info("y", TP.FLOAT, None)


@pytest.mark.parametrize("op,attrs,expected", [
    ("Relu", {}, "RELU"), ("Sigmoid", {}, "LOGISTIC"), ("Tanh", {}, "TANH"),
    ("LeakyRelu", {"alpha": 0.2}, "LEAKY_RELU"), ("LeakyRelu", {}, "LEAKY_RELU"),
    ("HardSigmoid", {}, "MUL"), ("HardSigmoid", {"alpha": 1 / 6, "beta": 0.5}, "MUL"),
])
def test_unary(roundtrip, op, attrs, expected):
    r = roundtrip(make_model([helper.make_node(op, ["x"], ["y"], **attrs)], [X], [Y]))
    assert expected in r.ops


def test_hard_swish(roundtrip):
    r = roundtrip(make_model([helper.make_node("HardSwish", ["x"], ["y"])], [X], [Y], opset=14))
    assert r.ops == {"HARD_SWISH": 1}


@pytest.mark.parametrize("lo,hi,expected", [
    (0.0, 6.0, {"RELU6": 1}), (-1.0, 1.0, {"RELU_N1_TO_1": 1}), (0.0, None, {"RELU": 1}),
    (-0.5, 0.7, {"MAXIMUM": 1, "MINIMUM": 1}), (None, 0.3, {"MINIMUM": 1}),
])
def test_clip(roundtrip, lo, hi, expected):
    inits = [numpy_helper.from_array(np.array(v, np.float32), n) for v, n in ((lo, "lo"), (hi, "hi")) if v is not None]
    ins = ["x", "lo" if lo is not None else "", "hi" if hi is not None else ""]
    r = roundtrip(make_model([helper.make_node("Clip", ins, ["y"])], [X], [Y], inits))
    assert r.ops == expected


def test_clip_opset6_attributes(roundtrip):
    r = roundtrip(make_model([helper.make_node("Clip", ["x"], ["y"], min=0.0, max=6.0)], [X], [Y], opset=6))
    assert r.ops == {"RELU6": 1}


@pytest.mark.parametrize("slope_shape", [(3, 1, 1), (1,), (4,)])
def test_prelu(roundtrip, slope_shape):
    slope = numpy_helper.from_array(np.random.default_rng(0).random(slope_shape).astype(np.float32), "s")
    r = roundtrip(make_model([helper.make_node("PRelu", ["x", "s"], ["y"])], [X], [Y], [slope]))
    assert r.ops == {"PRELU": 1}


def test_legacy_consumed_inputs_attribute_is_accepted(tmp_path):
    """opset-1 models carry ``consumed_inputs`` (an in-place hint without semantics) on many ops.
    onnxruntime no longer runs opset 1, so the reference is numpy."""
    import edgekit

    from .conftest import run_tflite

    m = make_model([helper.make_node("Relu", ["x"], ["y"], consumed_inputs=[0])], [X], [Y], opset=1)
    m.ir_version = 3
    x = np.linspace(-2, 2, 60, dtype=np.float32).reshape(1, 3, 5, 4)
    got = run_tflite(edgekit.convert(m, tmp_path / "r.tflite"), {"x": x})["y"]
    np.testing.assert_array_equal(got, np.maximum(x, 0))
