"""Broadcasting binary ops and Sum, with runtime and constant operands of several ranks."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

Y = helper.make_tensor_value_info("y", TP.FLOAT, None)


def vi(name, shape):
    return helper.make_tensor_value_info(name, TP.FLOAT, list(shape))


@pytest.mark.parametrize("op,tfl", [("Add", "ADD"), ("Sub", "SUB"), ("Mul", "MUL"), ("Div", "DIV")])
@pytest.mark.parametrize("a_shape,b_shape", [((1, 3, 4, 5), (1, 3, 4, 5)), ((2, 3, 4), (4,)), ((1, 3, 4, 5), (3, 1, 1)),
                                             ((1, 3, 4, 5), (1, 1, 4, 1))])
def test_binary_runtime_operands(roundtrip, op, tfl, a_shape, b_shape):
    feeds = {"a": np.random.default_rng(0).standard_normal(a_shape).astype(np.float32),
             "b": (np.random.default_rng(1).random(b_shape) + 0.5).astype(np.float32)}  # away from 0 for Div
    r = roundtrip(make_model([helper.make_node(op, ["a", "b"], ["y"])], [vi("a", a_shape), vi("b", b_shape)], [Y]), feeds)
    assert r.ops == {tfl: 1}


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_binary_constant_first_operand(roundtrip, op):
    c = numpy_helper.from_array((np.random.default_rng(2).random((3, 1, 1)) + 0.5).astype(np.float32), "c")
    roundtrip(make_model([helper.make_node(op, ["c", "x"], ["y"])], [vi("x", (1, 3, 4, 4))], [Y], [c]))


def test_sum_three_inputs_broadcast(roundtrip):
    m = make_model([helper.make_node("Sum", ["a", "b", "c"], ["y"])],
                   [vi("a", (1, 3, 4, 4)), vi("b", (1, 3, 4, 4)), vi("c", (4,))], [Y])
    assert roundtrip(m).ops == {"ADD": 2}


def test_sum_single_input_graph_output_is_copied(roundtrip):
    m = make_model([helper.make_node("Sum", ["a"], ["y"])], [vi("a", (2, 3))], [Y])
    assert roundtrip(m).ops == {"RESHAPE": 1}   # an output cannot be the input tensor itself
