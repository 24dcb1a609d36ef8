"""Bad scheme input: one line, exit 1, no file (issue 12); a calibration set a scheme does not need warns."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgekit
from edgekit.cli import main
from edgekit.quantize.scheme import PRESETS, AType, Scheme, SchemeError

from .conftest import mlp


def _one_line_exit_1(capsys, argv, out, *needles):
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    for n in needles:
        assert n in err, err
    assert not out.exists() and not list(out.parent.glob(out.name + "*"))


@pytest.fixture
def model(tmp_path):
    return mlp(tmp_path / "m.onnx")


def conv_only(path):
    """Conv -> Relu: weights, but no MatMul/Gemm for int4."""
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["c"], name="conv"),
                           helper.make_node("Relu", ["c"], ["y"], name="relu")], "c",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    import onnx
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    return path


@pytest.mark.parametrize("suffix", [".onnx", ".tflite"])
def test_unknown_scheme(model, tmp_path, capsys, suffix):
    out = tmp_path / f"o{suffix}"
    _one_line_exit_1(capsys, ["quantize", str(model), "--scheme", "w3", "-o", str(out)], out,
                     "unknown quantization scheme 'w3'", ", ".join(PRESETS))


def test_a_scheme_the_format_lacks_lists_the_formats_schemes(model, tmp_path):
    from edgekit.quantize.backend import schemes_for

    u8 = Scheme("w8a8-u8", PRESETS["w8a8"].weights, AType.UINT8)  # TFLite's integer kernels are int8 only
    with pytest.raises(SchemeError, match="scheme w8a8-u8 is not available for tflite: tflite has " +
                       ", ".join(schemes_for("tflite"))):
        edgekit.quantize(model, tmp_path / "o.tflite", scheme=u8)
    assert not (tmp_path / "o.tflite").exists()


@pytest.mark.parametrize("suffix", [".onnx", ".tflite"])
def test_block_size_that_does_not_divide_the_input_dimension(model, tmp_path, capsys, suffix):
    out = tmp_path / f"o{suffix}"
    _one_line_exit_1(capsys, ["quantize", str(model), "--scheme", "w4", "--block-size", "128", "-o", str(out)], out,
                     "--block-size 128 does not divide the input dimension 64 of fc1", "--block-size 64")


def test_block_size_values_and_schemes(model, tmp_path, capsys):
    out = tmp_path / "o.onnx"
    _one_line_exit_1(capsys, ["quantize", str(model), "--scheme", "w4", "--block-size", "48", "-o", str(out)], out,
                     "block size must be one of 32, 64, 128, 256, got 48")
    _one_line_exit_1(capsys, ["quantize", str(model), "--scheme", "w8a8", "--block-size", "32", "-o", str(out)], out,
                     "--block-size applies to blockwise schemes")


@pytest.mark.parametrize("suffix", [".onnx", ".tflite"])
def test_w4_on_a_model_without_matmul(tmp_path, capsys, suffix):
    out = tmp_path / f"o{suffix}"
    _one_line_exit_1(capsys, ["quantize", str(conv_only(tmp_path / "c.onnx")), "--scheme", "w4", "-o", str(out)], out,
                     "c.onnx has no MatMul/Gemm with constant weights")


def test_calibration_data_for_a_scheme_that_needs_none_warns(model, tmp_path, capsys):
    np.save(tmp_path / "c.npy", np.random.default_rng(0).normal(size=(8, 64)).astype(np.float32))
    out = tmp_path / "o.onnx"
    assert main(["quantize", str(model), "--scheme", "w4", "--calib", str(tmp_path / "c.npy"), "-o", str(out)]) == 0
    cap = capsys.readouterr()
    assert "warning: scheme w4 needs no calibration data" in cap.err and out.is_file()
    assert "SQNR vs float" in cap.out  # what the data was used for
