"""Targets name a scheme per format ([quantize]); the older [int8.*] tables are still read."""
import numpy as np
import onnx
import pytest

import edgekit
from edgekit.errors import TargetError
from edgekit.targets import QType, get_target, targets_dir

from .conftest import mlp

OLD = """
[int8.onnx]
activations = "uint8"
weights = "int8"
format = "qdq"
per_channel = true

[int8.tflite]
activations = "int8"
weights = "int8"
io_types = ["float", "int8"]
"""


def _x86(tmp_path, table: str):
    text = (targets_dir() / "x86_64.toml").read_text()
    head, _, tail = text.partition("[quantize]")
    tail = tail[tail.index("[budgets]"):]
    path = tmp_path / "t.toml"
    path.write_text(head + table + "\n" + tail)
    return path


def test_shipped_targets_name_a_scheme_per_format():
    x86 = get_target("x86_64")
    assert (x86.scheme("onnx"), x86.scheme("tflite")) == ("w8a8", "w8a8")
    assert x86.onnx_int8.activations is QType.UINT8  # onnxruntime's x86 VNNI kernels: u8 activations x s8 weights
    assert get_target("raspberry-pi-4").onnx_int8.activations is QType.INT8


def test_old_int8_tables_are_read_into_quantize(tmp_path):
    t = get_target(_x86(tmp_path, OLD))
    assert t.quantize.onnx_activations is QType.UINT8 and [i.value for i in t.quantize.tflite_io] == ["float", "int8"]
    assert t.scheme("onnx") == "w8a8"


def test_both_tables_say_how_to_rewrite(tmp_path):
    path = _x86(tmp_path, OLD + '\n[quantize]\nonnx = "w8a8"\n')
    with pytest.raises(TargetError, match=r"both \[quantize\] and \[int8\.\*\].*Remove \[int8\.\*\]"):
        get_target(path)


def test_unknown_scheme_in_a_target(tmp_path):
    with pytest.raises(TargetError, match="'w3' is not a scheme.*w8a8, w8a16"):
        get_target(_x86(tmp_path, '[quantize]\nonnx = "w3"\n'))


def test_the_target_scheme_is_the_default_and_its_signedness_applies(tmp_path):
    model = mlp(tmp_path / "m.onnx")
    np.save(tmp_path / "c.npy", np.random.default_rng(0).normal(size=(8, 64)).astype(np.float32))
    w4 = _x86(tmp_path, '[quantize]\nonnx = "w4"\n')
    r = edgekit.quantize(model, tmp_path / "q4.onnx", target=w4)
    assert r.scheme.name == "w4" and r.ops.get("MatMulNBits") == 3
    # x86: w8a8 in ONNX gets uint8 activations, ARM int8 (what each target's kernels are fast with)
    for target, dtype in (("x86_64", onnx.TensorProto.UINT8), ("raspberry-pi-5", onnx.TensorProto.INT8)):
        r = edgekit.quantize(model, tmp_path / f"{target}.onnx", tmp_path / "c.npy", scheme="w8a8", target=target)
        zps = [t for t in onnx.load(str(r.output)).graph.initializer if t.name.endswith("_zero_point")
               and t.dims == [] and not t.name.startswith(("w", "fc", "head"))]
        assert zps and {t.data_type for t in zps} == {dtype}, target
