"""Malformed data and model inputs found by tools/fuzz.py are one-line errors, not tracebacks."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper

from edgekit.errors import DataError, ModelError


def test_unknown_input_element_type_is_a_model_error():
    from edgekit.data.model import onnx_inputs

    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    m = helper.make_model(g)
    m.graph.input[0].type.tensor_type.elem_type = 0
    with pytest.raises(ModelError, match="model input 'x' has element type 0"):
        onnx_inputs(m)


@pytest.mark.parametrize("content", [b"", b"\x93NUMPY\x01\x00"])
def test_empty_or_cut_npy_is_a_data_error(tmp_path, content):
    from edgekit.data import open_source
    from edgekit.data.sources import InputSpec

    path = tmp_path / "d.npy"
    path.write_bytes(content)
    with pytest.raises(DataError, match="cannot read"):
        open_source(path, None, [InputSpec("x", (1, 4), np.dtype(np.float32))])

