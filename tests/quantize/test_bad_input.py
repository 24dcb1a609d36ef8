import numpy as np
import pytest

import edgekit
from edgekit.errors import DataError, InputError, QuantizeError

from .conftest import conv_classifier


@pytest.mark.parametrize("array,match", [
    (np.zeros((4, 3, 9, 8), np.float32), r"input 'x' has shape \[1, 3, 9, 8\].*expects 'x' \[1, 3, 8, 8\]"),
    (np.zeros((4, 3, 8, 8), np.int32), r"input 'x' has dtype int32.*'x' \[1, 3, 8, 8\] float32"),
])
def test_wrong_shape_or_dtype_names_the_input_and_shape(tiny_model, tmp_path, array, match):
    np.save(tmp_path / "c.npy", array)
    with pytest.raises(DataError, match=match):
        edgekit.quantize(tiny_model, tmp_path / "c.npy", tmp_path / "o.onnx")
    assert not (tmp_path / "o.onnx").exists()


def test_wrong_input_name(tiny_model, tmp_path):
    np.savez(tmp_path / "c.npz", image=np.zeros((4, 3, 8, 8), np.float32))
    with pytest.raises(DataError, match=r"'image' is not a model input.*'x' \[1, 3, 8, 8\]"):
        edgekit.quantize(tiny_model, tmp_path / "c.npz", tmp_path / "o.onnx")


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_calibration_data(tiny_model, tmp_path, bad):
    data = np.ones((4, 3, 8, 8), np.float32)
    data[2, 0, 0, 0] = bad
    np.save(tmp_path / "c.npy", data)
    with pytest.raises(DataError, match="sample 2: input 'x' contains (NaN|Inf)"):
        edgekit.quantize(tiny_model, tmp_path / "c.npy", tmp_path / "o.onnx")
    assert not list(tmp_path.glob("*.part"))


def test_model_with_no_float_weights(tmp_path, calib_npy):
    path = conv_classifier(tmp_path / "noweights.onnx", weights=False)
    with pytest.raises(QuantizeError, match="has no float weights"):
        edgekit.quantize(path, calib_npy, tmp_path / "o.onnx")


def test_already_quantized_model(tiny_model, calib_npy, tmp_path):
    first = edgekit.quantize(tiny_model, calib_npy, tmp_path / "q.onnx").output
    with pytest.raises(QuantizeError, match="already quantized"):
        edgekit.quantize(first, calib_npy, tmp_path / "qq.onnx")


def test_opset_below_what_the_quantizer_supports(tmp_path, calib_npy):
    old = conv_classifier(tmp_path / "old.onnx", opset=9)
    with pytest.raises(QuantizeError, match="uses opset 9.*from opset 10"):
        edgekit.quantize(old, calib_npy, tmp_path / "o.onnx")
    mid = conv_classifier(tmp_path / "mid.onnx", opset=11)
    with pytest.raises(QuantizeError, match="per-channel.*--per-tensor"):
        edgekit.quantize(mid, calib_npy, tmp_path / "o.onnx")
    assert edgekit.quantize(mid, calib_npy, tmp_path / "o.onnx", per_channel=False).output.exists()


def test_max_drop_without_eval_and_other_argument_errors(tiny_model, calib_npy, tmp_path):
    with pytest.raises(InputError, match="--max-drop needs --eval"):
        edgekit.quantize(tiny_model, calib_npy, tmp_path / "o.onnx", max_drop=1.0)
    with pytest.raises(InputError, match="overwrite the source"):
        edgekit.quantize(tiny_model, calib_npy, tiny_model)
    with pytest.raises(InputError, match="must end in .json or .md"):
        edgekit.quantize(tiny_model, calib_npy, tmp_path / "o.onnx", report=tmp_path / "r.txt")
    with pytest.raises(InputError, match="unknown mode"):
        edgekit.quantize(tiny_model, calib_npy, tmp_path / "o.onnx", mode="int4")
    with pytest.raises(InputError, match="needs calibration data"):
        edgekit.quantize(tiny_model, None, tmp_path / "o.onnx")


def test_empty_calibration_folder(tiny_model, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="is empty"):
        edgekit.quantize(tiny_model, tmp_path / "empty", tmp_path / "o.onnx")


def test_ctrl_c_during_calibration_leaves_no_output(tiny_model, tmp_path):
    out = tmp_path / "o.onnx"
    out.write_bytes(b"previous result")

    def samples():
        yield {"x": np.zeros((1, 3, 8, 8), np.float32)}
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        edgekit.quantize(tiny_model, samples, out)
    assert out.read_bytes() == b"previous result"  # untouched: the new file never replaced it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.onnx", "tiny.onnx"]


def test_unwritable_output_or_report_fails_before_calibration(tiny_model, tmp_path):
    """An -o or --report that cannot be written is an InputError up front, not an OSError after the work."""
    read = []

    def samples():  # records whether calibration started
        read.append(1)
        yield {"x": np.zeros((1, 3, 8, 8), np.float32)}

    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    with pytest.raises(InputError, match=r"cannot write output .*a_file/o\.onnx"):
        edgekit.quantize(tiny_model, samples, blocker / "o.onnx")
    with pytest.raises(InputError, match=r"cannot write report file"):
        edgekit.quantize(tiny_model, samples, tmp_path / "o.onnx", report=blocker / "r.json")
    (tmp_path / "adir.onnx").mkdir()
    with pytest.raises(InputError, match=r"is a directory"):
        edgekit.quantize(tiny_model, samples, tmp_path / "adir.onnx")
    assert read == [] and not (tmp_path / "o.onnx").exists()
    # a parent that does not exist yet is fine: it is created
    edgekit.quantize(tiny_model, samples, tmp_path / "new" / "sub" / "o.onnx")
    assert (tmp_path / "new" / "sub" / "o.onnx").is_file()


@pytest.mark.parametrize("method", ["minmax", "entropy"])
def test_an_edgekit_error_from_the_data_passes_through_unwrapped(tiny_model, tmp_path, method):
    """An error the data source raises mid-calibration (inside onnxruntime's reader) keeps its own line:
    it is not re-wrapped as "calibration failed in onnxruntime" / "onnxruntime.quantization failed"."""
    def samples():
        yield {"x": np.zeros((1, 3, 8, 8), np.float32)}
        raise InputError("sample 1 is broken", "a test says so", "fix it")

    with pytest.raises(InputError) as exc:
        edgekit.quantize(tiny_model, samples, tmp_path / "o.onnx", method=method)
    assert str(exc.value) == "sample 1 is broken: a test says so. Fix it."
    assert not (tmp_path / "o.onnx").exists()


@pytest.mark.parametrize("mode", ["static", "dynamic", "fp16"])
def test_a_graph_onnxruntime_cannot_load_is_one_model_error(tmp_path, calib_npy, mode, capfd):
    """Gather's inputs swapped (float indices): onnxruntime rejects the graph. Said once, up front; no
    traceback from quant_pre_process's logger on stderr."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    from edgekit.errors import ModelError

    emb = numpy_helper.from_array(np.ones((10, 4), np.float32), "emb")
    g = helper.make_graph([helper.make_node("Gather", ["ids", "emb"], ["y"])], "bad",
                          [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [emb])
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    with pytest.raises(ModelError, match=r"bad\.onnx.*Gather"):
        edgekit.quantize(path, calib_npy, tmp_path / "o.onnx", mode=mode)
    assert "Traceback" not in capfd.readouterr().err
    assert not (tmp_path / "o.onnx").exists()
