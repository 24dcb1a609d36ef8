"""Whole zoo networks (edgekit.zoo, torch export) converted and compared: onnxruntime vs LiteRT.

Small inputs (CNNs 32x32 at width 0.5, the transformer at its fixed length 32) keep this file fast;
the graphs have every layer type of the full-size models. Tolerance: the issue's target, max abs
error <= 1e-4 of the output's range (float32 errors accumulate over ~20-50 layers summed in
different orders). torch runs single-threaded here: on a shared 2-core machine its default thread
pool made building/exporting 5-10x slower.
"""
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra (edgekit[distill])")

CNNS = ["mobilenet_v2", "resnet18", "efficientnet_b0", "shufflenet_v2", "tiny-mobilenet", "tiny-resnet"]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def export(name, tmp_path, **kwargs):
    import onnx

    from edgekit import zoo

    module = zoo.build(name, num_classes=10, **kwargs)
    path = zoo.export_onnx(module, tmp_path / f"{name}.onnx")
    return onnx.load(str(path)), module.zoo_input_shape


def check_range_error(r):
    want, have = r.onnx["logits"], r.tflite["logits"]
    err = float(np.max(np.abs(have - want)))
    assert err <= 1e-4 * float(np.ptp(want)), f"max abs error {err:.3g}, output range {np.ptp(want):.3g}"


@pytest.mark.parametrize("name", CNNS)
def test_zoo_cnn(roundtrip, tmp_path, name):
    model, shape = export(name, tmp_path, input_size=32, width=0.5)
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    r = roundtrip(model, {"input": x}, rtol=1e-4)
    check_range_error(r)
    # layout planning: one TRANSPOSE at the input; ShuffleNet adds one per channel shuffle inside a
    # stage (its pass-through half), none for the 3 shuffles that end a stage (read only by convs,
    # which take permuted weights instead: edgekit/convert/shuffle.py)
    shuffles = sum(n.op_type == "Transpose" for n in model.graph.node)
    assert r.ops.get("TRANSPOSE", 0) == 1 + (shuffles - 3 if shuffles else 0)
    assert "BATCH_NORMALIZATION" not in r.ops and "RELU" not in r.ops   # folded / fused


def test_zoo_transformer(roundtrip, tmp_path):
    model, shape = export("tiny-transformer", tmp_path)
    ids = np.random.default_rng(0).integers(0, 1000, shape).astype(np.int64)
    r = roundtrip(model, {"input": ids}, rtol=1e-4)
    check_range_error(r)
    # torch's erf-GELU fused to GELU (no erf approximation), attention as BATCH_MATMUL + SOFTMAX
    assert r.ops["GELU"] == 2 and "SIGN" not in r.ops
    assert r.ops["SOFTMAX"] == 2 and r.ops["BATCH_MATMUL"] == 4
