"""The preprocessing spec in a float conversion's metadata: it follows --input-layout, takes the CLI's
preprocessing flags, and INT8-only flags are refused instead of silently ignored."""
import json

import numpy as np
import pytest

import edgekit
from edgekit.cli import main

from .test_api import conv_model, read_metadata


def _src(tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(conv_model().SerializeToString())  # stores {"mean": [0.5]} as edgekit.preprocess
    return src


@pytest.mark.parametrize("layout, expected", [(None, None), ("nchw", None), ("nhwc", "nhwc")])
def test_stored_spec_follows_the_tflite_input_layout(tmp_path, layout, expected):
    out = edgekit.convert(_src(tmp_path), tmp_path / "m.tflite", input_layout=layout)
    spec = json.loads(read_metadata(out)["edgekit.preprocess"])
    assert spec.get("layout") == expected        # the ONNX spec is copied as is unless the layout changed
    assert spec["mean"] == [0.5]


def test_cli_preprocessing_flags_go_into_the_metadata(tmp_path):
    out = tmp_path / "m.tflite"
    assert main(["convert", str(_src(tmp_path)), "-o", str(out), "--mean", "0.25", "--std", "0.5",
                 "--input-layout", "nhwc"]) == 0
    spec = json.loads(read_metadata(out)["edgekit.preprocess"])
    assert spec["mean"] == [0.25] and spec["std"] == [0.5]      # flags win over the stored mean 0.5
    assert spec["layout"] == "nhwc"                             # the TFLite input's layout


def test_cli_explicit_metadata_entry_wins_over_flags(tmp_path):
    out = tmp_path / "m.tflite"
    assert main(["convert", str(_src(tmp_path)), "-o", str(out), "--mean", "0.25",
                 "--metadata", 'edgekit.preprocess={"mean": [0.75]}']) == 0
    assert json.loads(read_metadata(out)["edgekit.preprocess"]) == {"mean": [0.75]}


@pytest.mark.parametrize("flags, named", [(["--calib", "x"], "--calib"), (["--seed", "3"], "--seed"),
                                          (["--io", "int8", "--report", "r.json"], "--io, --report")])
def test_cli_int8_only_flags_without_int8_are_refused(tmp_path, capsys, flags, named):
    out = tmp_path / "m.tflite"
    assert main(["convert", str(_src(tmp_path)), "-o", str(out), *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and named in err[0] and "--int8" in err[0], err
    assert not out.exists()


def test_cli_without_preprocessing_flags_keeps_the_stored_spec(tmp_path):
    out = tmp_path / "m.tflite"
    assert main(["convert", str(_src(tmp_path)), "-o", str(out)]) == 0
    assert json.loads(read_metadata(out)["edgekit.preprocess"]) == {"mean": [0.5]}
    x = np.zeros((1, 8, 6, 6), np.float32)
    assert edgekit.load(out).run(x)["scores"].shape == (1, 16, 6, 6)


def test_cli_preprocessing_flags_on_a_token_model_are_refused(tmp_path, capsys):
    """Image flags on token ids would store an image spec that the data never follows: one line, no output."""
    import onnx
    from onnx import TensorProto, helper

    emb = onnx.numpy_helper.from_array(np.ones((10, 4), np.float32), "emb")
    g = helper.make_graph([helper.make_node("Gather", ["emb", "ids"], ["y"])], "tok",
                          [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 7])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 7, 4])], [emb])
    src, out = tmp_path / "tok.onnx", tmp_path / "tok.tflite"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(src))
    assert main(["convert", str(src), "-o", str(out), "--mean", "0.5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "describe images" in err[0] and "1x7 int64" in err[0], err
    assert not out.exists()
    assert main(["convert", str(src), "-o", str(out)]) == 0  # without the flags it converts
