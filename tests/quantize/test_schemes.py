"""Every scheme x format pair a backend claims, on a small graph, compared with the float model.

Tolerances (SQNR of the quantized output against float on 16 samples, in dB) are set from what each
scheme's rounding allows on this graph, with a margin: fp16 keeps ~11 bits (> 50 dB measured ~72),
w8a16 (int16 activations) > 35 (measured ~42), w8a8 > 20 (measured ~36), w8-dynamic > 15 (onnxruntime
quantizes each activation per tensor at run time: measured ~20; TFLite ~41), int4
blockwise weights (4 bits, one scale per 32) > 12 (measured ~19-21). A broken file (wrong layout,
zero outputs) gives ~0 dB.
"""
import numpy as np
import pytest

import edgekit
from edgekit.quantize.backend import schemes_for

from .conftest import mlp

MIN_DB = {"fp16": 50.0, "w8a16": 35.0, "w8a8": 20.0, "w8-dynamic": 15.0, "w4": 12.0, "w4a8": 12.0}
PAIRS = [(s, f) for f in ("onnx", "tflite") for s in schemes_for(f)]


def _sqnr(ref, got):
    ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)
    return 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - got) ** 2))


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("schemes")
    model = mlp(d / "mlp.onnx")
    x = np.random.default_rng(1).normal(size=(32, 64)).astype(np.float32)
    np.save(d / "calib.npy", x[:16])
    return model, x[16:], d


def test_every_preset_is_claimed_by_a_backend():
    assert set(MIN_DB) == {s for s, _ in PAIRS}
    assert {f for _, f in PAIRS} == {"onnx", "tflite"}


@pytest.mark.parametrize("scheme, fmt", PAIRS, ids=[f"{s}-{f}" for s, f in PAIRS])
def test_scheme_output_is_close_to_float(setup, scheme, fmt):
    if fmt == "tflite":
        pytest.importorskip("ai_edge_quantizer")
    model, x, d = setup
    calib = d / "calib.npy" if edgekit.quantize.get_scheme(scheme).needs_calibration else None
    r = edgekit.quantize(model, d / f"{scheme}.{fmt}", calib, scheme=scheme)
    assert r.scheme.name == scheme and r.format == fmt and r.size == r.output.stat().st_size
    f, q = edgekit.load(model), edgekit.load(r.output)
    ref = np.concatenate([f.run({"x": x[i:i + 1]})["logits"] for i in range(len(x))])
    got = np.concatenate([q.run({"x": x[i:i + 1]})["logits"] for i in range(len(x))])
    assert _sqnr(ref, got) > MIN_DB[scheme], f"{scheme} {fmt}: {_sqnr(ref, got):.1f} dB"
    assert _sqnr(ref, got) < 100, "identical to float: nothing was quantized"
    from edgekit import metadata

    stored = metadata.read_json(r.output, metadata.QUANTIZATION)
    assert stored["name"] == scheme


def test_file_contents_match_the_scheme(setup):
    """What each scheme promises is in the file: MatMulNBits for ONNX int4, int16 activations for w8a16,
    int4 weight tensors for TFLite int4."""
    model, _, d = setup
    w4 = edgekit.quantize(model, d / "w4c.onnx", scheme="w4")
    assert w4.ops.get("MatMulNBits") == 3 and "Gemm" not in w4.ops
    a16 = edgekit.quantize(model, d / "a16.onnx", d / "calib.npy", scheme="w8a16")
    import onnx

    types = {t.data_type for t in onnx.load(str(a16.output)).graph.initializer}
    assert onnx.TensorProto.INT16 in types  # the zero points of the int16 activations
    pytest.importorskip("ai_edge_quantizer")
    from ai_edge_litert import schema_py_generated as fb

    from edgekit.convert.int8 import interface

    t4 = edgekit.quantize(model, d / "w4c.tflite", scheme="w4")
    m = interface.read(t4.output.read_bytes())
    assert sum(t.type == fb.TensorType.INT4 for t in m.subgraphs[0].tensors) == 3
    assert t4.size < 0.5 * edgekit.convert(model, d / "f.tflite").size
    t16 = edgekit.quantize(model, d / "a16.tflite", d / "calib.npy", scheme="w8a16")
    m = interface.read(t16.output.read_bytes())
    assert any(t.type == fb.TensorType.INT16 for t in m.subgraphs[0].tensors)


def test_edgekit_eval_reads_every_schemes_files(setup, capsys):
    """`edgekit eval` on the file of every pair: int16 activations (com.microsoft Q/DQ, TFLite INT16), int4
    weights (MatMulNBits, TFLite INT4), fp16; the SQNR it prints is the one against float."""
    import json

    from edgekit.cli import main

    model, x, d = setup
    np.save(d / "eval.npy", x)
    files = [d / f"{s}.{f}" for s, f in PAIRS if (d / f"{s}.{f}").is_file()]
    assert len(files) == len(PAIRS)  # written by test_scheme_output_is_close_to_float
    assert main(["eval", *map(str, files), "--data", str(d / "eval.npy"), "--reference", str(model),
                 "--json", str(d / "eval.json")]) == 0
    rows = json.loads((d / "eval.json").read_text())
    for path, row in zip(files, rows):
        scheme = path.stem
        assert row["samples"] == len(x) and row["sqnr_db"] > MIN_DB[scheme], (path.name, row["sqnr_db"])


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_w4_quantizes_embedding_tables(tmp_path, fmt):
    """The table is int4 in both formats (ONNX GatherBlockQuantized; TFLite EMBEDDING_LOOKUP, which
    ai-edge-quantizer's int4 rule covers, in place of GATHER) and the lookups stay close to float:
    int4 with a scale per 32 values keeps > 12 dB on N(0, 1) rows (measured ~20)."""
    if fmt == "tflite":
        pytest.importorskip("ai_edge_quantizer")
    from .conftest import token_model

    model = token_model(tmp_path / "tok.onnx")
    r = edgekit.quantize(model, tmp_path / f"tok4.{fmt}", scheme="w4")
    assert r.ops.get("GatherBlockQuantized" if fmt == "onnx" else "EMBEDDING_LOOKUP") == 1
    assert r.size < 0.3 * model.stat().st_size  # 100x64 + 64x10 float32 -> 4 bits + a scale per 32
    ids = np.random.default_rng(0).integers(0, 100, (4, 1, 8)).astype(np.int64)
    f, q = edgekit.load(model), edgekit.load(r.output)
    ref = np.concatenate([f.run({"ids": i})["logits"] for i in ids])
    got = np.concatenate([q.run({"ids": i})["logits"] for i in ids])
    assert _sqnr(ref, got) > 12
