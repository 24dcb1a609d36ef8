"""convert's result table: the input layout is said only for image inputs."""
from __future__ import annotations

import numpy as np

from edgekit.cli import main
from tests.helpers.onnx_builder import _save


def token_model(path):
    """ids int64 [1, 8] -> embedding Gather [1, 8, 16] -> ReduceMean over the tokens -> [1, 16]."""
    from onnx import TensorProto, helper, numpy_helper

    emb = np.random.default_rng(0).standard_normal((32, 16)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["emb", "ids"], ["h"]),
         helper.make_node("ReduceMean", ["h"], ["y"], axes=[1], keepdims=0)], "tokens",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])],
        [numpy_helper.from_array(emb, "emb")])
    return _save(graph, path)


def test_token_model_has_no_input_layout(tmp_path, capsys):
    src = token_model(tmp_path / "tok.onnx")
    assert main(["convert", str(src), "-o", str(tmp_path / "tok.tflite")]) == 0
    row = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("input layout"))
    assert "nchw" not in row and "tokens, not an image" in row


def test_image_model_keeps_its_layout(tmp_path, capsys):
    from tests.quantize.conftest import conv_classifier

    src = conv_classifier(tmp_path / "m.onnx")
    assert main(["convert", str(src), "-o", str(tmp_path / "m.tflite"), "--input-layout", "nhwc"]) == 0
    row = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("input layout"))
    assert row.split()[-1] == "nhwc"
