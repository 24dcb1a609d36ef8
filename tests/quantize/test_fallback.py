"""Accuracy-aware fallback on a graph built to break under INT8: one activation has an outlier channel."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgekit
from edgekit.errors import DataError


def outlier_model(path):
    """x[1,16] -> MatMul -> h; h * s where s[0] = 1e4 (an outlier feature the head ignores) -> MatMul -> logits.

    Per-tensor uint8 quantization of the scaled activation spends its 256 steps on the outlier, so the
    features the head reads collapse to a few levels: top-1 breaks unless ``head`` stays float.
    """
    rng = np.random.default_rng(0)
    s = np.ones(16, np.float32)
    s[0] = 1e4
    w2 = rng.normal(size=(16, 10)).astype(np.float32)
    w2[0] = 0.0
    inits = [numpy_helper.from_array(rng.normal(size=(16, 16)).astype(np.float32), "w1"),
             numpy_helper.from_array(s, "s"), numpy_helper.from_array(w2, "w2")]
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["h"], name="body"),
             helper.make_node("Mul", ["h", "s"], ["hs"], name="scale"),
             helper.make_node("MatMul", ["hs", "w2"], ["logits"], name="head")]
    g = helper.make_graph(nodes, "outlier", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    return path


@pytest.fixture
def outlier_setup(tmp_path):
    model = outlier_model(tmp_path / "outlier.onnx")
    x = np.random.default_rng(1).normal(size=(200, 16)).astype(np.float32)
    f = edgekit.load(model)
    labels = np.array([int(np.argmax(f.run(x[i:i + 1])["logits"])) for i in range(len(x))])
    np.savez(tmp_path / "eval.npz", x=x, labels=labels)  # labels = float predictions: float top-1 is 100 %
    np.save(tmp_path / "calib.npy", x[:50])
    return model, tmp_path


def test_fallback_keeps_the_sensitive_layer_float_until_the_budget_holds(outlier_setup):
    model, tmp = outlier_setup
    plain = edgekit.quantize(model, tmp / "calib.npy", tmp / "plain.onnx")
    plain_acc = edgekit.evaluate(plain.output, tmp / "eval.npz")[0].top1
    assert plain_acc < 99.5  # precondition: without fallback INT8 loses more than the budget

    result = edgekit.quantize(model, tmp / "calib.npy", tmp / "aware.onnx", max_drop=0.5, eval_data=tmp / "eval.npz",
                              report=tmp / "report.json")
    assert result.budget_met and result.drop <= 0.5 and result.drop_metric == "top1"
    assert result.float_top1 == 100.0
    assert "head" in result.fallback_layers and set(result.fallback_layers) <= set(result.float_layers)
    # the drop the result claims is what evaluate measures on the written file
    measured = edgekit.evaluate(result.output, tmp / "eval.npz")[0].top1
    assert measured == pytest.approx(result.quant_top1) and 100.0 - measured == pytest.approx(result.drop)
    rep = json.loads((tmp / "report.json").read_text())
    ranked = [row["node"] for row in rep["layers"]]
    # most sensitive first: the head, whose input's useful features collapse to a few INT8 levels
    assert ranked[0] == "head" and set(ranked) == {"head", "body", "scale"}
    assert rep["layers"][0]["kept_float"] and rep["layers"][0]["sqnr_db"] < 10
    assert rep["float_layers"] == list(result.float_layers)


def test_markdown_report_and_budget_already_met(outlier_setup):
    model, tmp = outlier_setup
    result = edgekit.quantize(model, tmp / "calib.npy", tmp / "o.onnx", max_drop=100, eval_data=tmp / "eval.npz",
                              report=tmp / "r.md")
    assert result.fallback_layers == () and result.budget_met
    text = (tmp / "r.md").read_text()
    assert "| node | op | tensor | type | SQNR dB |" in text and "| head | MatMul | logits |" in text


def test_eval_labels_the_model_cannot_output(outlier_setup):
    model, tmp = outlier_setup
    x = np.zeros((3, 16), np.float32)
    np.savez(tmp / "bad.npz", x=x, labels=np.array([0, 5, 12]))
    with pytest.raises(DataError, match="13 classes but outlier.onnx outputs 10 scores"):
        edgekit.quantize(model, tmp / "calib.npy", tmp / "o.onnx", max_drop=1, eval_data=tmp / "bad.npz")
    assert not (tmp / "o.onnx").exists()
