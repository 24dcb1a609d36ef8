"""A text classifier's bundle carries its tokenizer, and ``predict`` takes a string."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import edgekit

pytest.importorskip("torch")
pytest.importorskip("tokenizers")


def test_bundle_carries_the_tokenizer_and_predicts_strings(tmp_path):
    from edgekit.data.corpus import generate
    from edgekit.data.text import TOKENIZER_KEY, train_tokenizer
    from edgekit.zoo import build, export_onnx

    tok = train_tokenizer(generate(200, 0), 300)
    clf = build("tiny-transformer", num_classes=3, input_size=32, seed=0)
    model = export_onnx(clf, tmp_path / "clf.onnx", input_name="input_ids", metadata={TOKENIZER_KEY: tok.to_str()})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no image-preprocessing warning for a text model
        out = edgekit.bundle(model, tmp_path / "b", labels=["sum", "count", "day"])
    manifest = json.loads((out / "edgekit.json").read_text())
    assert manifest["tokenizer"] == "tokenizer.json"
    assert json.loads((out / "tokenizer.json").read_text()) == json.loads(tok.to_str())

    text = "two plus two is four."
    got = edgekit.load(out).predict(text, top_k=3)
    ids = tok.encode(text).ids
    ids = np.asarray([ids + [0] * (32 - len(ids))], np.int64)  # <pad> = 0, as the data layer pads
    logits = edgekit.load(model).run(ids)["logits"][0].astype(np.float64)
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    want = sorted(zip(["sum", "count", "day"], probs), key=lambda p: -p[1])
    assert [label for label, _ in got] == [label for label, _ in want]
    np.testing.assert_allclose([p for _, p in got], [p for _, p in want], rtol=1e-6)  # same float32 graph
