"""Full-integer TFLite from the converter's float model (issue 5): read back from the written file,
run in the real LiteRT interpreter, compared with onnxruntime on the float ONNX model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ._int8_graphs import CLASSES, SIZE, calib_npy, cnn, outlier_net, tflite_tensors

pytest.importorskip("ai_edge_quantizer")

# Ops whose weights must be int8 per output channel with an int32 bias (TFLite quantization spec).
WEIGHTED = {"CONV_2D": 0, "DEPTHWISE_CONV_2D": 3, "FULLY_CONNECTED": 0}  # op -> channel axis of the weights


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    import edgekit

    d = tmp_path_factory.mktemp("int8")
    src, calib = cnn(d / "cnn.onnx"), calib_npy(d / "calib.npy")
    out = {}
    for io in ("float", "int8", "uint8"):
        out[io] = edgekit.convert(src, d / f"cnn_{io}.tflite", int8=True, calib=calib, io=io,
                                  report=d / "report.json" if io == "float" else None)
    out["dynamic"] = edgekit.convert(src, d / "cnn_dyn.tflite", dynamic=True)
    return d, src, calib, out


def _is_const(model, t) -> bool:
    data = model.buffers[t.buffer].data
    return data is not None and len(data) > 0


def test_every_cnn_op_is_int8_with_per_channel_weights_and_int32_bias(built):
    from ai_edge_litert import schema_py_generated as fb

    _, _, _, out = built
    model, sg, ops = tflite_tensors(out["float"])
    expected = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL", "LOGISTIC", "MAX_POOL_2D",
                "AVERAGE_POOL_2D", "MEAN", "CONCATENATION", "SOFTMAX"}
    assert expected <= set(ops), f"the test graph should exercise the CNN op set, got {sorted(set(ops))}"
    ins, outs = set(sg.inputs), set(sg.outputs)
    for op, name in zip(sg.operators, ops):
        runtime = [i for i in list(op.inputs) + list(op.outputs) if i >= 0 and not _is_const(model, sg.tensors[i])]
        types = {i: sg.tensors[i].type for i in runtime}
        if name == "QUANTIZE" and any(i in ins for i in op.inputs):
            assert types[op.inputs[0]] == fb.TensorType.FLOAT32 and types[op.outputs[0]] == fb.TensorType.INT8
        elif name == "DEQUANTIZE":
            assert op.outputs[0] in outs, "a DEQUANTIZE inside the graph means a float op"
        else:
            assert set(types.values()) == {fb.TensorType.INT8}, f"{name} has non-int8 activations"
        if name in WEIGHTED:
            w, b = sg.tensors[op.inputs[1]], sg.tensors[op.inputs[2]]
            channels = w.shape[WEIGHTED[name]]
            assert w.type == fb.TensorType.INT8 and len(w.quantization.scale) == channels > 1
            assert not np.any(w.quantization.zeroPoint), "int8 weights are symmetric"
            assert b.type == fb.TensorType.INT32
    assert ops.count("QUANTIZE") >= 1 and ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE"


def test_int8_matches_onnxruntime_within_quantization_noise(built):
    import onnxruntime as ort

    import edgekit

    _, src, calib, out = built
    x = np.load(calib)
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    model = edgekit.load(out["float"], threads=1)
    assert model.inputs[0].dtype == np.float32 and model.outputs[0].dtype == np.float32
    err = max(float(np.abs(sess.run(None, {"x": x[i:i + 1]})[0] - model.run({"x": x[i:i + 1]})["y"]).max())
              for i in range(len(x)))
    # Softmax output is int8 with scale 1/256 (TFLite's fixed softmax output quantization); the
    # measured error is ~1 step, 5 steps leaves room for rounding on other CPUs but fails on a wrong scale.
    assert err <= 5 / 256


@pytest.mark.parametrize("io,dtype", [("int8", np.int8), ("uint8", np.uint8)])
def test_integer_io_keeps_names_and_results(built, io, dtype):
    import edgekit

    _, _, calib, out = built
    m = edgekit.load(out[io], threads=1)
    ref = edgekit.load(out["float"], threads=1)
    assert [(t.name, t.dtype) for t in m.inputs + m.outputs] == [("x", np.dtype(dtype)), ("y", np.dtype(dtype))]
    i8 = edgekit.load(out["int8"], threads=1).inputs[0]
    # same scale everywhere; uint8 shifts the zero point by 128 (TFLite's uint8 <-> int8 mapping)
    assert m.inputs[0].scale == pytest.approx(i8.scale) and m.inputs[0].zero_point == i8.zero_point + (128 if io == "uint8" else 0)
    _, sg, ops = tflite_tensors(out[io])
    assert "DEQUANTIZE" not in ops
    x = np.load(calib)[:4]
    for i in range(len(x)):
        got, want = m.run({"x": x[i:i + 1]})["y"], ref.run({"x": x[i:i + 1]})["y"]
        # edgekit.load quantizes the float input itself (round half to even) where the float-io model's
        # QUANTIZE rounds half away from zero: inputs may differ by one step, outputs by a couple.
        assert np.abs(got - want).max() <= 3 / 256


def test_dynamic_is_weights_only(built):
    from ai_edge_litert import schema_py_generated as fb

    _, _, _, out = built
    model, sg, ops = tflite_tensors(out["dynamic"])
    assert "QUANTIZE" not in ops
    convs = [op for op, n in zip(sg.operators, ops) if n in WEIGHTED]
    assert convs and all(sg.tensors[op.inputs[1]].type == fb.TensorType.INT8 for op in convs)
    assert all(sg.tensors[op.outputs[0]].type == fb.TensorType.FLOAT32 for op in convs)


def test_metadata_and_report(built):
    d, _, _, out = built
    model, _, _ = tflite_tensors(out["float"])
    meta = {(m.name.decode() if isinstance(m.name, bytes) else m.name):
            bytes(model.buffers[m.buffer].data).decode() for m in model.metadata}
    q = json.loads(meta["edgekit.quantization"])
    assert q["mode"] == "static" and q["io"] == "float"
    assert json.loads(meta["edgekit.preprocess"])["size"] == [SIZE, SIZE]
    rep = json.loads((d / "report.json").read_text())
    rows = {r["tensor"]: r for r in rep["tensors"]}
    assert {"r1_1", "logits_1", "y"} <= set(rows)
    # int8 activations of a small net keep > 20 dB SQNR; < 60 dB shows it compared quantized values.
    assert all(20 < rows[t]["sqnr_db"] < 60 for t in ("r1_1", "logits_1"))
    assert rep["float_ops"] == []


def test_accuracy_aware_keeps_ops_float_until_agreement_holds(tmp_path):
    import edgekit
    from edgekit.convert.int8 import Int8Options
    from edgekit.convert.int8.pipeline import convert_int8
    from edgekit.convert import ConvertOptions

    src, calib = outlier_net(tmp_path / "o.onnx"), calib_npy(tmp_path / "c.npy", n=32)
    plain = convert_int8(src, tmp_path / "plain.tflite", ConvertOptions(), Int8Options.make(max_drop=100.0),
                         calib=calib, eval_data=calib)
    assert plain.drop > 20, "the outlier channel should wreck plain int8 (else this test proves nothing)"
    r = convert_int8(src, tmp_path / "aware.tflite", ConvertOptions(), Int8Options.make(max_drop=1.0),
                     calib=calib, eval_data=calib, report=tmp_path / "aware.md")
    assert r.budget_met and r.drop <= 1.0 and r.drop_metric == "agreement"
    assert r.kept and len(r.float_ops) >= len(r.kept), "kept ops must compute in float in the written model"
    text = (tmp_path / "aware.md").read_text()
    assert all(k in text for k in r.kept)
    assert edgekit.load(tmp_path / "aware.tflite").run({"x": np.load(calib)[:1]})["y"].shape == (1, CLASSES)
