import hashlib

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import edgekit
from edgekit.data import read_spec
from edgekit.errors import EdgekitWarning


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sqnr(a, b):
    return 10 * np.log10(np.sum(a * a) / np.sum((a - b) ** 2))


def _ops(path):
    return [n for n in onnx.load(str(path)).graph.node]


def _zero_point_types(path):
    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    types = set()
    for n in model.graph.node:
        if n.op_type == "QuantizeLinear" and len(n.input) > 2:
            types.add(numpy_helper.to_array(inits[n.input[2]]).dtype.name)
    return types


def test_static_int8_for_x86_writes_u8_activations_per_channel_int8_weights(tiny_model, calib_npy, tmp_path):
    before = _sha(tiny_model)
    out = tmp_path / "int8.onnx"
    result = edgekit.quantize(tiny_model, calib_npy, out, target="x86_64")
    assert _sha(tiny_model) == before  # the source is never modified
    assert result.output == out and result.activations == "uint8" and result.weights == "int8"
    assert result.calib_samples == 12
    assert _zero_point_types(out) == {"uint8"}
    model = onnx.load(str(out))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    conv_w = [n for n in model.graph.node if n.op_type == "DequantizeLinear" and inits.get(n.input[0]) is not None
              and inits[n.input[0]].ndim == 4]
    assert conv_w and all(inits[n.input[0]].dtype == np.int8 and inits[n.input[1]].shape == (8,) for n in conv_w)
    assert read_spec(out) == result.spec and result.spec.size == (8, 8)
    x = np.random.default_rng(5).random((1, 3, 8, 8), dtype=np.float32)
    ref, got = edgekit.load(tiny_model).run(x)["logits"], edgekit.load(out).run(x)["logits"]
    # 8-bit steps give ~40-50 dB on this net; 25 dB leaves room for rounding while catching a broken scale
    assert _sqnr(ref, got) > 25


def test_arm_target_uses_int8_activations_and_per_tensor_flag(tiny_model, calib_npy, tmp_path):
    out = tmp_path / "arm.onnx"
    result = edgekit.quantize(tiny_model, calib_npy, out, target="raspberry-pi-5", per_channel=False)
    assert result.activations == "int8" and not result.per_channel
    assert _zero_point_types(out) == {"int8"}
    model = onnx.load(str(out))
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    scales = [inits[n.input[1]] for n in model.graph.node if n.op_type == "DequantizeLinear"
              and n.input[0] in inits and inits[n.input[0]].ndim == 4]
    assert scales and all(s.size == 1 for s in scales)


@pytest.mark.parametrize("method", ["entropy", "percentile"])
def test_other_calibration_methods_run(tiny_model, calib_npy, tmp_path, method):
    out = tmp_path / f"{method}.onnx"
    edgekit.quantize(tiny_model, calib_npy, out, method=method)
    x = np.random.default_rng(5).random((1, 3, 8, 8), dtype=np.float32)
    assert _sqnr(edgekit.load(tiny_model).run(x)["logits"], edgekit.load(out).run(x)["logits"]) > 20


def test_dynamic_and_fp16_alternatives(tiny_model, tmp_path):
    x = np.random.default_rng(5).random((1, 3, 8, 8), dtype=np.float32)
    ref = edgekit.load(tiny_model).run(x)["logits"]
    dyn = edgekit.quantize(tiny_model, None, tmp_path / "dyn.onnx", mode="dynamic")
    assert {n.op_type for n in _ops(dyn.output)} & {"DynamicQuantizeLinear", "MatMulInteger"}
    assert _sqnr(ref, edgekit.load(dyn.output).run(x)["logits"]) > 25
    fp16 = edgekit.quantize(tiny_model, None, tmp_path / "fp16.onnx", mode="fp16")
    types = {i.data_type for i in onnx.load(str(fp16.output)).graph.initializer}
    assert onnx.TensorProto.FLOAT16 in types and onnx.TensorProto.FLOAT not in types
    # float16 has an 11-bit significand: ~60 dB; 40 dB catches a wrong cast
    assert _sqnr(ref, edgekit.load(fp16.output).run(x)["logits"]) > 40
    assert read_spec(fp16.output) is not None


def test_exclude_by_name_and_op_type_and_warning(tiny_model, calib_npy, tmp_path):
    with pytest.warns(EdgekitWarning, match="--exclude 'nope' matches no node"):
        result = edgekit.quantize(tiny_model, calib_npy, tmp_path / "o.onnx", exclude=["conv1", "Gemm", "nope"])
    assert set(result.float_layers) == {"conv1", "fc"}
    model = onnx.load(str(result.output))
    weights_fp = {n.input[1] for n in model.graph.node if n.op_type in ("Conv", "Gemm")}
    assert {"w1", "wf"} <= weights_fp  # excluded nodes read their float weights directly


def test_image_folder_calibration_and_stored_spec(tiny_model, tmp_path):
    from PIL import Image

    from edgekit.data import PreprocessSpec

    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((10, 10, 3), 60 * i, np.uint8)).save(tmp_path / "imgs" / c / f"{i}.png")
    (tmp_path / "imgs" / "a" / "broken.png").write_bytes(b"junk")
    spec = PreprocessSpec(mean=(0.5,), std=(0.25,))
    result = edgekit.quantize(tiny_model, tmp_path / "imgs", tmp_path / "o.onnx", spec=spec, calib_size=4)
    assert result.calib_samples + result.skipped <= 4 and result.calib_samples >= 3
    assert read_spec(result.output) == spec.replace(size=(8, 8))
