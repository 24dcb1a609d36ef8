"""edgekit.data.model: the inputs an ONNX file declares, and one-line errors for files that are not models."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgekit.data.model import model_inputs
from edgekit.errors import InputError, ModelError


def test_inputs_skip_initializers_and_leave_open_dims_none(tmp_path):
    w = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"]), helper.make_node("Cast", ["ids"], ["c"], to=TensorProto.FLOAT)],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2]),
              helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 7]),
              helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 3])],  # an initializer listed as input
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y", "c")], [w])
    path = tmp_path / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    got = model_inputs(path)
    assert [(i.name, i.shape, np.dtype(i.dtype)) for i in got] == [("x", (None, 2), np.float32), ("ids", (1, 7), np.int64)]


def test_missing_file_and_non_model_are_edgekit_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        model_inputs(tmp_path / "nope.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\xff\x00 not a protobuf")
    with pytest.raises(ModelError, match="cannot read"):
        model_inputs(bad)
