"""``--shape NAME=DIMS`` / ``shapes=``: a transformer export with a dynamic sequence axis converts once
its length is fixed; without it the refusal names the flag. Bad values are one-line InputErrors."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

import edgekit
from edgekit.errors import InputError, ModelError

from .conftest import run_onnx, run_tflite


def dynamic_seq_model():
    """ids (batch, seq) -> embedding Gather -> Softmax over the sequence axis: a shape chain reads the
    sequence length (Shape -> Gather -> Range positions), as HF exports do."""
    table = numpy_helper.from_array(np.random.default_rng(0).standard_normal((10, 4)).astype(np.float32), "table")
    nodes = [helper.make_node("Gather", ["table", "ids"], ["e"]),
             helper.make_node("Shape", ["ids"], ["s"]),
             helper.make_node("Gather", ["s", "one"], ["n"], axis=0),
             helper.make_node("Range", ["zero", "n", "step"], ["pos"]),
             helper.make_node("Cast", ["pos"], ["posf"], to=TP.FLOAT),
             helper.make_node("Unsqueeze", ["posf", "axes"], ["pos2"]),
             helper.make_node("Add", ["e", "pos2"], ["h"]),
             helper.make_node("Softmax", ["h"], ["y"], axis=1)]
    inits = [table, numpy_helper.from_array(np.array(1, np.int64), "one"),
             numpy_helper.from_array(np.array(0, np.int64), "zero"), numpy_helper.from_array(np.array(1, np.int64), "step"),
             numpy_helper.from_array(np.array([-1], np.int64), "axes")]
    g = helper.make_graph(nodes, "dyn", [helper.make_tensor_value_info("ids", TP.INT64, ["batch", "seq"])],
                          [helper.make_tensor_value_info("y", TP.FLOAT, ["batch", "seq", 4])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)


def test_dynamic_sequence_is_refused_naming_the_flag(tmp_path):
    with pytest.warns(Warning), pytest.raises(ModelError, match=r"--shape ids=DIMS"):
        edgekit.convert(dynamic_seq_model(), tmp_path / "o.tflite")
    assert not (tmp_path / "o.tflite").exists()


def test_shape_fixes_the_sequence_length(tmp_path):
    out = tmp_path / "o.tflite"
    edgekit.convert(dynamic_seq_model(), out, shapes={"ids": [1, 7]})
    ids = np.random.default_rng(1).integers(0, 10, (1, 7)).astype(np.int64)
    want = run_onnx(dynamic_seq_model(), {"ids": ids})["y"]
    got = run_tflite(out, {"ids": ids})["y"]
    assert got.shape == (1, 7, 4)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)   # softmax of the same floats: rounding only


@pytest.mark.parametrize("shapes, match", [({"nope": [1, 7]}, "not an input"), ({"ids": [1, 7, 1]}, "does not fit"),
                                           ({"ids": [0, 7]}, "out of range"), ({"ids": ["a"]}, "not a list of integers")])
def test_bad_shapes_are_one_line_errors(tmp_path, shapes, match):
    with pytest.raises(InputError, match=match):
        edgekit.convert(dynamic_seq_model(), tmp_path / "o.tflite", shapes=shapes)
    assert not (tmp_path / "o.tflite").exists()


def test_cli_shape_flag(tmp_path, capsys):
    import onnx

    from edgekit.cli import main

    src = tmp_path / "dyn.onnx"
    onnx.save(dynamic_seq_model(), src)
    assert main(["convert", str(src), "-o", str(tmp_path / "o.tflite"), "--shape", "ids=1,5"]) == 0
    assert "ids=1,5 (fixed by --shape)" in capsys.readouterr().out
    assert main(["convert", str(src), "-o", str(tmp_path / "p.tflite"), "--shape", "ids"]) == 2   # EdgekitError exit code
    assert "bad --shape 'ids'" in capsys.readouterr().err
