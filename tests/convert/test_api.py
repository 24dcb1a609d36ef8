"""edgekit.convert / CLI behaviour: signature, metadata, fp16, errors, atomic output, dynamic batch."""
import json

import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

import edgekit
from edgekit.errors import EdgekitWarning, InputError, ModelError, UnsupportedOpError

from .conftest import make_model, run_tflite


def conv_model(batch=1, c_in=8):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, c_in, 3, 3)).astype(np.float32), "w")
    m = make_model([helper.make_node("Conv", ["image", "w"], ["c"], pads=[1, 1, 1, 1]),
                    helper.make_node("Relu", ["c"], ["scores"])],
                   [helper.make_tensor_value_info("image", TP.FLOAT, [batch, c_in, 6, 6])],
                   [helper.make_tensor_value_info("scores", TP.FLOAT, None)], [w])
    m.metadata_props.add(key="edgekit.preprocess", value=json.dumps({"mean": [0.5]}))
    return m


def read_metadata(path):
    from ai_edge_litert import schema_py_generated as fb

    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(path.read_bytes(), 0))
    return {m.name.decode(): bytes(model.buffers[m.buffer].data).decode() for m in model.metadata}


def test_signature_uses_onnx_names_and_metadata_is_stored(tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(conv_model().SerializeToString())
    out = edgekit.convert(src, tmp_path / "m.tflite", metadata={"author": "test"})
    x = np.random.default_rng(1).standard_normal((1, 8, 6, 6)).astype(np.float32)
    got = run_tflite(out, {"image": x})
    assert set(got) == {"scores"} and got["scores"].shape == (1, 16, 6, 6)
    meta = read_metadata(out)
    assert json.loads(meta["edgekit.preprocess"]) == {"mean": [0.5]}
    assert meta["author"] == "test"
    prov = json.loads(meta["edgekit.provenance"])
    import hashlib
    assert prov["source_sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert prov["edgekit_version"] == edgekit.__version__


def test_fp16_halves_size_and_stays_close(roundtrip):
    r32 = roundtrip(conv_model(c_in=256))   # 147 KB of weights, so the file is mostly weights
    # float16 weights: 11-bit mantissa (relative error <= 2**-11 per weight); sums of 2304 products
    # with random signs keep the output error well under 1e-2 of its range
    r16 = roundtrip(conv_model(c_in=256), rtol=1e-2, fp16=True)
    assert r16.ops.get("DEQUANTIZE") == 2   # conv weights and bias
    ratio = r16.path.stat().st_size / r32.path.stat().st_size
    assert 0.45 < ratio < 0.6, ratio


def test_unsupported_op_fails_before_writing(tmp_path):
    m = make_model([helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Einsum", ["r"], ["y"], name="mix", equation="ij->ij"),
                    helper.make_node("Det", ["y"], ["z"], name="det1")],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [3, 3])], [helper.make_tensor_value_info("z", TP.FLOAT, None)])
    out = tmp_path / "bad.tflite"
    with pytest.raises(UnsupportedOpError) as exc:
        edgekit.convert(m, out)
    msg = str(exc.value)
    assert "Einsum (node 'mix', opset 13)" in msg and "Det (node 'det1', opset 13)" in msg
    assert "Conv" in msg and "\n" not in msg     # lists supported ops, one line
    assert list(tmp_path.iterdir()) == []        # no partial or temp file


def test_unknown_attribute_is_refused(tmp_path):
    """Not in the op's ONNX schema: onnx.checker refuses the model before the converter sees it."""
    m = make_model([helper.make_node("Relu", ["x"], ["y"], name="r", flavour=1)],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [3])], [helper.make_tensor_value_info("y", TP.FLOAT, None)])
    with pytest.raises(ModelError, match="not a valid ONNX model: Unrecognized attribute: flavour"):
        edgekit.convert(m, tmp_path / "x.tflite")
    assert not (tmp_path / "x.tflite").exists()


def test_dynamic_batch_is_fixed_to_one_with_a_warning(roundtrip):
    with pytest.warns(EdgekitWarning, match="dynamic batch"):
        r = roundtrip(conv_model(batch="N"), inputs={"image": np.ones((1, 8, 6, 6), np.float32)})
    assert r.tflite["scores"].shape[0] == 1


def test_bad_options_are_input_errors(tmp_path):
    with pytest.raises(InputError):
        edgekit.convert(conv_model(), tmp_path / "a.tflite", input_layout="hwcn")
    with pytest.raises(InputError):
        edgekit.convert(conv_model(), tmp_path / "a.tflite", to="coreml")


def test_cli_converts_and_reports(tmp_path, capsys):
    from edgekit.cli import main

    src = tmp_path / "m.onnx"
    src.write_bytes(conv_model().SerializeToString())
    before = src.read_bytes()
    assert main(["convert", str(src), "-o", str(tmp_path / "o.tflite"), "--fp16", "--input-layout", "nhwc"]) == 0
    assert "CONV_2D" in capsys.readouterr().out
    assert src.read_bytes() == before            # the input is never modified
    got = run_tflite(tmp_path / "o.tflite", {"image": np.zeros((1, 6, 6, 8), np.float32)})
    assert got["scores"].shape == (1, 16, 6, 6)


def test_cli_missing_file_is_one_line_error(tmp_path, capsys):
    from edgekit.cli import main

    assert main(["convert", str(tmp_path / "nope.onnx")]) == 2
    err = capsys.readouterr().err.strip()
    assert "does not exist" in err and len(err.splitlines()) == 1


def test_output_equal_to_input_is_refused(tmp_path):
    src = tmp_path / "m.onnx"
    src.write_bytes(conv_model().SerializeToString())
    before = src.read_bytes()
    with pytest.raises(InputError, match="never overwrites"):
        edgekit.convert(src, src)
    assert src.read_bytes() == before


def test_model_with_external_data_converts(tmp_path):
    """Weights stored beside the .onnx (onnx external data) are read from the model's folder."""
    import onnx

    src = tmp_path / "ext" / "m.onnx"
    src.parent.mkdir()
    model = conv_model()
    onnx.save(model, str(src), save_as_external_data=True, all_tensors_to_one_file=True,
              location="m.weights", size_threshold=0)
    assert (src.parent / "m.weights").stat().st_size > 0
    x = np.random.default_rng(3).standard_normal((1, 8, 6, 6)).astype(np.float32)
    out = edgekit.convert(src, tmp_path / "m.tflite")
    from .conftest import run_onnx
    want = run_onnx(conv_model(), {"image": x})["scores"]
    # the converter tests' tolerance (conftest): rounding-order differences only
    np.testing.assert_allclose(run_tflite(out, {"image": x})["scores"], want, rtol=0,
                               atol=1e-5 * max(1.0, float(np.ptp(want))) + 1e-6)


def test_float16_onnx_model_is_refused_cleanly(tmp_path):
    """A half-precision ONNX graph has no TFLite float16 kernels to run on (only weight storage):
    refused with the dtype named, instead of a model that aborts the interpreter."""
    w = numpy_helper.from_array(np.ones((4, 3, 1, 1), np.float16), "w")
    m = make_model([helper.make_node("Conv", ["x", "w"], ["y"])],
                   [helper.make_tensor_value_info("x", TP.FLOAT16, [1, 3, 4, 4])],
                   [helper.make_tensor_value_info("y", TP.FLOAT16, None)], [w])
    with pytest.raises(UnsupportedOpError, match="float16"):
        edgekit.convert(m, tmp_path / "h.tflite")
    assert list(tmp_path.iterdir()) == []
