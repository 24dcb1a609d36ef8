"""Full-integer TFLite from the converter's float model (issue 5): read back from the written file,
run in the real LiteRT interpreter, compared with onnxruntime on the float ONNX model."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ._int8_graphs import CLASSES, SIZE, big_mlp, calib_npy, cnn, cnn_extra, compare_net, outlier_net, tflite_tensors

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


def _assert_full_integer(path):
    """Every op has int8 runtime tensors, weights int8 per channel with int32 bias; float only at the edges."""
    from ai_edge_litert import schema_py_generated as fb

    model, sg, ops = tflite_tensors(path)
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
    assert ops[0] == "QUANTIZE" and ops[-1] == "DEQUANTIZE"
    return set(ops)


def test_every_cnn_op_is_int8_with_per_channel_weights_and_int32_bias(built):
    _, _, _, out = built
    ops = _assert_full_integer(out["float"])
    expected = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "MUL", "LOGISTIC", "MAX_POOL_2D",
                "AVERAGE_POOL_2D", "MEAN", "CONCATENATION", "SOFTMAX"}
    assert expected <= ops, f"the test graph should exercise the CNN op set, got {sorted(ops)}"


# graph, ops it must contain, max abs error vs onnxruntime (why)
EXTRA = {
    # LogSoftmax int8 output has TFLite's fixed step 16/256; measured ~0.6 step after requantization.
    "activations": (cnn_extra, {"LEAKY_RELU", "PRELU", "RELU_N1_TO_1", "LOG_SOFTMAX", "HARD_SWISH", "TANH",
                                "TRANSPOSE_CONV", "RESIZE_NEAREST_NEIGHBOR", "PAD", "SPLIT", "SUB", "MEAN"}, 2 * 16 / 256),
    # output in (0, 1] with a calibrated step of ~1/255; measured ~0.7 step.
    "comparisons": (compare_net, {"REDUCE_MAX", "MINIMUM", "MAXIMUM", "RELU", "RELU6", "EXP"}, 3 / 255),
}


@pytest.mark.parametrize("case", sorted(EXTRA))
def test_ops_the_quantizer_leaves_float_run_int8(tmp_path, case):
    """ai-edge-quantizer has no int8 rule for these; edgekit's complete.py makes them integer."""
    import onnxruntime as ort

    import edgekit

    build, must, tol = EXTRA[case]
    src, calib = build(tmp_path / "e.onnx"), calib_npy(tmp_path / "c.npy", n=16)
    out = edgekit.convert(src, tmp_path / "e.tflite", int8=True, calib=calib)
    ops = _assert_full_integer(out)
    assert must <= ops, sorted(must - ops)
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    m = edgekit.load(out, threads=1)
    x = np.load(calib)[:4]
    err = max(float(np.abs(sess.run(None, {"x": x[i:i + 1]})[0] - m.run({"x": x[i:i + 1]})["y"]).max())
              for i in range(len(x)))
    assert err <= tol


def test_large_constants_stored_after_the_flatbuffer_survive(tmp_path):
    """> 256 KB of weights: the quantizer's external buffers must be carried into the written file."""
    import onnxruntime as ort

    import edgekit

    src, calib = big_mlp(tmp_path / "mlp.onnx"), calib_npy(tmp_path / "c.npy", n=8)
    out = edgekit.convert(src, tmp_path / "mlp.tflite", int8=True, calib=calib)
    assert out.stat().st_size > 256 * 1024
    _assert_full_integer(out)
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    x = np.load(calib)[:2]
    ref = np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(2)])
    got = np.concatenate([edgekit.load(out).run({"x": x[i:i + 1]})["y"] for i in range(2)])
    # int8 noise only: > 25 dB SQNR (a lost weight buffer gives garbage, well below 0 dB)
    assert 10 * np.log10(np.sum(ref ** 2) / np.sum((ref - got) ** 2)) > 25


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


@pytest.mark.parametrize("io", ["int8", "uint8"])
def test_load_quantizes_float_input_for_the_caller(built, io):
    """--io int8|uint8: edgekit.load quantizes float input with the input tensor's own scale/zero point and
    dequantizes the output; raw=True returns the integers the interpreter wrote."""
    import edgekit

    _, _, calib, out = built
    m = edgekit.load(out[io], threads=1)
    i, o = m.inputs[0], m.outputs[0]
    x = np.load(calib)[:2]
    for k in range(len(x)):
        lim = np.iinfo(i.dtype)  # TFLite affine mapping q = round(x / scale) + zero_point (schema.fbs)
        q = np.clip(np.round(x[k:k + 1] / i.scale) + i.zero_point, lim.min, lim.max).astype(i.dtype)
        from_float, from_int = m.run({"x": x[k:k + 1]}, raw=True)["y"], m.run({"x": q}, raw=True)["y"]
        assert from_float.dtype == o.dtype and np.array_equal(from_float, from_int)
        deq = m.run({"x": x[k:k + 1]})["y"]
        assert deq.dtype == np.float32
        # exact up to float32 rounding of (q - zp) * scale
        np.testing.assert_allclose(deq, (from_int.astype(np.float32) - o.zero_point) * o.scale, rtol=0, atol=1e-6)


def test_dynamic_runs_close_to_onnxruntime(built):
    """Weights-only int8 runs in LiteRT with float I/O and stays near the float ONNX model."""
    import onnxruntime as ort

    import edgekit

    _, src, calib, out = built
    m = edgekit.load(out["dynamic"], threads=1)
    assert m.inputs[0].dtype == np.float32 and m.outputs[0].dtype == np.float32
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    x = np.load(calib)[:4]
    err = max(float(np.abs(sess.run(None, {"x": x[i:i + 1]})[0] - m.run({"x": x[i:i + 1]})["y"]).max())
              for i in range(len(x)))
    # int8 weights (per-channel step 1/127 of each channel's max) and on-the-fly int8 activations: measured
    # 2.3e-3 on this softmax (10 classes, values ~0.1); 0.01 leaves room for other CPUs' rounding, and wrong
    # weight scales move the probabilities by ~0.1.
    assert err <= 0.01


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
    assert q["name"] == "w8a8" and q["activations"] == "int8" and q["io"] == "float"
    assert json.loads(meta["edgekit.preprocess"])["size"] == [SIZE, SIZE]
    rep = json.loads((d / "report.json").read_text())
    rows = {r["tensor"]: r for r in rep["layers"]}
    assert {"r1_1", "logits_1", "y"} <= set(rows)
    # int8 activations of a small net keep > 20 dB SQNR; < 60 dB shows it compared quantized values.
    assert all(20 < rows[t]["sqnr_db"] < 60 for t in ("r1_1", "logits_1"))
    assert rep["float_ops"] == []


def test_accuracy_aware_keeps_ops_float_until_agreement_holds(tmp_path):
    import edgekit
    src, calib = outlier_net(tmp_path / "o.onnx"), calib_npy(tmp_path / "c.npy", n=32)
    plain = edgekit.quantize(src, tmp_path / "plain.tflite", calib, scheme="w8a8", max_drop=100.0, eval_data=calib)
    assert plain.drop > 20, "the outlier channel should wreck plain int8 (else this test proves nothing)"
    r = edgekit.quantize(src, tmp_path / "aware.tflite", calib, scheme="w8a8", max_drop=1.0, eval_data=calib,
                         report=tmp_path / "aware.md")
    assert r.budget_met and r.drop <= 1.0 and r.drop_metric == "agreement"
    assert r.kept and len(r.float_ops) >= len(r.kept), "kept ops must compute in float in the written model"
    text = (tmp_path / "aware.md").read_text()
    assert all(k in text for k in r.kept)
    assert edgekit.load(tmp_path / "aware.tflite").run({"x": np.load(calib)[:1]})["y"].shape == (1, CLASSES)


def test_nhwc_input_reads_the_onnx_layout_calibration_set(tmp_path):
    """One calibration set (NCHW, as for the ONNX model) serves an --input-layout nhwc TFLite."""
    import onnxruntime as ort

    import edgekit

    src, calib = cnn(tmp_path / "m.onnx"), calib_npy(tmp_path / "c.npy", n=8)
    out = edgekit.convert(src, tmp_path / "nhwc.tflite", int8=True, calib=calib, input_layout="nhwc")
    m = edgekit.load(out, threads=1)
    assert m.inputs[0].shape == (1, SIZE, SIZE, 3)
    x = np.load(calib)[:2]
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    for i in range(len(x)):
        got = m.run({"x": x[i:i + 1].transpose(0, 2, 3, 1)})["y"]
        assert np.abs(got - sess.run(None, {"x": x[i:i + 1]})[0]).max() <= 5 / 256  # as the NCHW test
    model, _, _ = tflite_tensors(out)
    meta = {(m_.name.decode() if isinstance(m_.name, bytes) else m_.name): bytes(model.buffers[m_.buffer].data).decode()
            for m_ in model.metadata}
    assert json.loads(meta["edgekit.preprocess"])["layout"] == "nhwc"


def test_accuracy_aware_int16_fallback_stays_integer(tmp_path):
    from ai_edge_litert import schema_py_generated as fb

    import edgekit

    src, calib = outlier_net(tmp_path / "o.onnx"), calib_npy(tmp_path / "c.npy", n=32)
    r = edgekit.convert(src, tmp_path / "a16.tflite", int8=True, max_drop=1.0, fallback="int16", calib=calib,
                        eval_data=calib)
    assert r.budget_met and r.kept and r.fallback == "int16"
    assert r.float_ops == (), "int16 fallback must not put float ops in the graph"
    _, sg, _ = tflite_tensors(r.output)
    assert any(t.type == fb.TensorType.INT16 for t in sg.tensors)


def test_image_folder_calibration_with_calib_size(tmp_path, monkeypatch):
    """The image-folder route of edgekit.data (as for ONNX INT8), sampled with --calib-size."""
    from PIL import Image

    import edgekit
    from edgekit.convert.int8 import pipeline

    src = cnn(tmp_path / "m.onnx")
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (24, 20, 3), dtype=np.uint8)).save(tmp_path / "imgs" / cls / f"{i}.png")
    samples = []
    real = pipeline.calibrate

    def counting(*args, **kwargs):  # records how many samples calibration really consumed
        out = real(*args, **kwargs)
        samples.append(out[2])
        return out

    monkeypatch.setattr(pipeline, "calibrate", counting)
    out = edgekit.convert(src, tmp_path / "f.tflite", int8=True, calib=tmp_path / "imgs", calib_size=4)
    assert samples == [4]
    _assert_full_integer(out)


def test_cli_int8_with_report(tmp_path, capsys):
    from edgekit.cli import main

    src, calib = cnn(tmp_path / "m.onnx"), calib_npy(tmp_path / "c.npy", n=4)
    out, rep = tmp_path / "m.int8.tflite", tmp_path / "rep.md"
    code = main(["convert", str(src), "--int8", "--calib", str(calib), "-o", str(out), "--io", "uint8",
                 "--report", str(rep), "--calib-size", "3"])
    text = capsys.readouterr().out
    assert code == 0 and out.is_file() and rep.is_file()
    assert "calibration samples  3" in text and "uint8" in text
    assert [line for line in text.splitlines() if line.startswith("float ops inside")][0].split()[-1] == "none"
    assert "| r1_1 | CONV_2D | r1_1 | int8 |" in rep.read_text()


def test_cli_dynamic_writes_weights_only_model(tmp_path, capsys):
    from ai_edge_litert import schema_py_generated as fb

    from edgekit.cli import main

    src, out = cnn(tmp_path / "m.onnx"), tmp_path / "m.dyn.tflite"
    assert main(["convert", str(src), "--dynamic", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "w8-dynamic" in text and "dynamic/int8" in text and "calibration" not in text
    _, sg, ops = tflite_tensors(out)
    assert "QUANTIZE" not in ops
    assert all(sg.tensors[op.inputs[1]].type == fb.TensorType.INT8 for op, n in zip(sg.operators, ops) if n in WEIGHTED)


def test_cli_max_drop_on_labeled_data_reports_kept_ops(tmp_path, capsys):
    """Labeled --eval (.npz with 'labels'): the drop is in top-1 points and the CLI names the ops kept float."""
    import onnxruntime as ort

    from edgekit.cli import main

    src, calib = outlier_net(tmp_path / "o.onnx"), calib_npy(tmp_path / "c.npy", n=32)
    x = np.load(calib)
    sess = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"])
    labels = np.array([int(sess.run(None, {"x": x[i:i + 1]})[0].argmax()) for i in range(len(x))])
    np.savez(tmp_path / "eval.npz", x=x, labels=labels)  # float top-1 = 100% by construction
    out, rep = tmp_path / "a.tflite", tmp_path / "a.json"
    code = main(["convert", str(src), "--int8", "--calib", str(calib), "-o", str(out), "--max-drop", "1",
                 "--eval", str(tmp_path / "eval.npz"), "--report", str(rep)])
    text = capsys.readouterr().out
    assert code == 0
    row = {k: line[len(k):].strip() for line in text.splitlines() for k in ("top-1 drop", "kept in float")
           if line.startswith(k + " ")}
    assert row["top-1 drop"].endswith("met)") and "NOT" not in row["top-1 drop"]
    assert float(row["top-1 drop"].split()[0]) <= 1.0
    kept = json.loads(rep.read_text())["fallback_layers"]
    assert kept and (all(k in row["kept in float"] for k in kept) or f"{len(kept)} (below)" in row["kept in float"])


def test_one_folder_and_spec_calibrate_onnx_and_tflite_alike(tmp_path):
    """The same --calib folder and preprocessing spec give the ONNX INT8 and the TFLite INT8 the same input
    range: a different resize/normalisation on either side would change the input quantization scale."""
    import onnx
    from onnx import numpy_helper
    from PIL import Image

    import edgekit
    from edgekit.data.spec import PreprocessSpec

    src = cnn(tmp_path / "m.onnx")
    rng = np.random.default_rng(3)
    (tmp_path / "imgs").mkdir()
    for i in range(6):
        Image.fromarray(rng.integers(0, 255, (30, 22, 3), dtype=np.uint8)).save(tmp_path / "imgs" / f"{i}.png")
    spec = PreprocessSpec(size=(SIZE, SIZE), mean=(0.5, 0.4, 0.3), std=(0.2, 0.25, 0.3))
    onnx_q = edgekit.quantize(src, tmp_path / "imgs", tmp_path / "q.onnx", target="x86_64", spec=spec)
    tfl = edgekit.load(edgekit.convert(src, tmp_path / "q.tflite", int8=True, calib=tmp_path / "imgs", spec=spec,
                                       io="int8"))
    model = onnx.load(str(onnx_q.output))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    q_in = next(n for n in model.graph.node if n.op_type == "QuantizeLinear" and n.input[0] == "x")
    onnx_scale = float(inits[q_in.input[1]])
    # Both take global min/max of the same preprocessed pixels (widened to include 0) over 255 steps;
    # float32 arithmetic on either side: 1e-5 relative.
    assert tfl.inputs[0].scale == pytest.approx(onnx_scale, rel=1e-5)
    # ... and that range is the one of the images read with this spec (not, e.g., the 0..1 default)
    from edgekit.data import open_source

    px = np.concatenate([f["x"].ravel() for f, _ in open_source(tmp_path / "imgs", spec, edgekit.load(src))])
    assert tfl.inputs[0].scale == pytest.approx((max(px.max(), 0) - min(px.min(), 0)) / 255, rel=1e-5)
    meta_model, _, _ = tflite_tensors(tmp_path / "q.tflite")
    meta = {(m.name.decode() if isinstance(m.name, bytes) else m.name): bytes(meta_model.buffers[m.buffer].data).decode()
            for m in meta_model.metadata}
    assert PreprocessSpec.from_json(meta["edgekit.preprocess"]) == onnx_q.spec
