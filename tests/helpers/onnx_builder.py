"""Tiny ONNX test graphs built with onnx.helper (IR 10: onnxruntime 1.31 reads at most IR 13)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _save(graph, path, opset: int = 13) -> Path:
    import onnx
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return Path(path)


def add_relu_model(path, n: int = 4) -> Path:
    """Inputs ``a``, ``b`` [1, n]; outputs in this order: ``z_relu`` = relu(a + b), ``a_sum`` = a + b.

    Same graph as the TFLite builder's add_relu_model; output order deliberately not alphabetical.
    """
    from onnx import TensorProto, helper

    vi = lambda name: helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, n])  # noqa: E731
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["a_sum"]), helper.make_node("Relu", ["a_sum"], ["z_relu"])],
        "add_relu", [vi("a"), vi("b")], [vi("z_relu"), vi("a_sum")])
    return _save(graph, path)


def fc_model(path, weights: np.ndarray, bias: np.ndarray, batch=1) -> Path:
    """y = x @ weights.T + bias (Gemm transB=1); ``batch="N"`` makes the batch dim symbolic."""
    from onnx import TensorProto, helper, numpy_helper

    out_f, in_f = weights.shape
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w", "bias"], ["y"], transB=1)], "fc",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, in_f])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, out_f])],
        [numpy_helper.from_array(weights.astype(np.float32), "w"),
         numpy_helper.from_array(bias.astype(np.float32), "bias")])
    return _save(graph, path)


def gather_out_of_range_model(path) -> Path:
    """Well-formed (onnx.checker passes, shapes and types right) but index 5 of a 3-row table: only
    running it shows the fault. Input ``x`` [1, 4], output ``y`` [1, 4]; the Gather node is ``pick``."""
    return _save(gather_out_of_range_graph(), path)


def gather_out_of_range_graph():
    from onnx import TensorProto, helper, numpy_helper

    table = numpy_helper.from_array(np.ones((3, 4), np.float32), "table")
    idx = numpy_helper.from_array(np.array([5], np.int64), "idx")
    graph = helper.make_graph([helper.make_node("Gather", ["table", "idx"], ["row"], name="pick"),
                               helper.make_node("Add", ["x", "row"], ["y"])], "gather_oob",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [table, idx])
    return graph
