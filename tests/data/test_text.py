"""Text data: .txt/.jsonl tokenized to the model's sequence length, tokenizer rule, bad input."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from edgekit.data import InputSpec, open_source
from edgekit.data.corpus import generate
from edgekit.data.text import (TOKENIZER_KEY, load_tokenizer, resolve_tokenizer, token_stream,
                               train_tokenizer)
from edgekit.errors import DataError, EdgekitWarning

pytest.importorskip("tokenizers")

N = 32
SPECS = [InputSpec("input_ids", (1, N), np.dtype("int64")), InputSpec("attention_mask", (1, N), np.dtype("int64"))]


@pytest.fixture(scope="module")
def tok():
    return train_tokenizer(generate(200, 0), 300)


def test_corpus_is_seeded_and_differs_by_seed():
    assert generate(50, 3) == generate(50, 3)
    assert generate(50, 3) != generate(50, 4)
    assert all(line.endswith(".") for line in generate(50, 3))


def test_tokenizer_round_trips_text(tok):
    line = generate(1, 7)[0]
    assert tok.decode(tok.encode(line).ids) == line
    assert tok.get_vocab_size() == 300 and tok.token_to_id("<pad>") == 0 and tok.token_to_id("</s>") == 1


def test_txt_is_tokenized_padded_and_masked(tmp_path, tok):
    f = tmp_path / "a.txt"
    f.write_text("one plus two is three.\n\nthe red star is in the box.\n")
    ds = open_source(f, None, SPECS, tokenizer=tok)
    items = list(ds)
    assert len(items) == 2 and not ds.labeled  # the blank line is not an example
    feeds, label = items[0]
    want = tok.encode("one plus two is three.").ids
    assert label is None and feeds["input_ids"].shape == (1, N)
    assert list(feeds["input_ids"][0, :len(want)]) == want
    assert (feeds["input_ids"][0, len(want):] == 0).all()  # <pad> is id 0
    assert list(feeds["attention_mask"][0]) == [1] * len(want) + [0] * (N - len(want))


def test_jsonl_labels_by_name_are_sorted_classes(tmp_path, tok):
    f = tmp_path / "a.jsonl"
    rows = [{"text": "one plus one is two.", "label": "sum"}, {"text": "counting: one two three.", "label": "count"},
            {"text": "two plus two is four.", "label": "sum"}]
    f.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    ds = open_source(f, None, SPECS[:1], tokenizer=tok)
    assert ds.classes == ["count", "sum"]
    assert sorted(label for _, label in ds) == [0, 1, 1]


def test_truncation_warns_once_with_the_count(tmp_path, tok):
    f = tmp_path / "long.txt"
    f.write_text("counting: " + " ".join(["one two three"] * 10) + "\nfour.\n")
    with pytest.warns(EdgekitWarning, match="1 of 2 example.*longer than the model.s 32 tokens.*truncated"):
        ds = open_source(f, None, SPECS, tokenizer=tok)
    first = next(iter(ds))[0]
    assert first["attention_mask"].sum() == N


def test_dynamic_length_is_not_padded(tmp_path, tok):
    f = tmp_path / "a.txt"
    f.write_text("one plus two is three.\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        feeds, _ = next(iter(open_source(f, None, [InputSpec("input_ids", (1, None), None)], tokenizer=tok)))
    assert feeds["input_ids"].shape == (1, len(tok.encode("one plus two is three.").ids))


def test_vocabulary_larger_than_the_embedding_table(tmp_path, tok):
    f = tmp_path / "a.txt"
    f.write_text("one.\n")
    with pytest.raises(DataError, match="tokenizer has 300 tokens but the model's embedding table has 100 rows"):
        open_source(f, None, SPECS, tokenizer=tok, vocab_rows=100)


def test_tokenizer_rule_given_then_stored(tmp_path, tok):
    from helpers import onnx_builder  # noqa: F401 - a real ONNX file to carry the metadata

    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Identity", ["input_ids"], ["y"])], "g",
                          [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, 4])],
                          [helper.make_tensor_value_info("y", TensorProto.INT64, [1, 4])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    bare = tmp_path / "bare.onnx"
    onnx.save(m, bare)
    with pytest.raises(DataError, match="stores none.*--tokenizer"):
        resolve_tokenizer(None, bare)
    helper.set_model_props(m, {TOKENIZER_KEY: tok.to_str()})
    stored = tmp_path / "stored.onnx"
    onnx.save(m, stored)
    assert resolve_tokenizer(None, stored).get_vocab_size() == 300
    other = train_tokenizer(generate(50, 9), 280)
    p = tmp_path / "t.json"
    other.save(str(p))
    assert resolve_tokenizer(str(p), stored).get_vocab_size() == 280  # given beats stored


@pytest.mark.parametrize("text, msg", [
    ('{"text": 3}\n', "no string field 'text'"),
    ("not json\n", "line 1 is not JSON"),
    ('{"text": "a", "label": 1}\n{"text": "b"}\n', "some examples have a label"),
    ("\n\n", "is empty"),
])
def test_bad_jsonl(tmp_path, tok, text, msg):
    f = tmp_path / "a.jsonl"
    f.write_text(text)
    with pytest.raises(DataError, match=msg):
        open_source(f, None, SPECS, tokenizer=tok)


def test_missing_or_broken_tokenizer(tmp_path):
    from edgekit.errors import InputError

    with pytest.raises(InputError, match="not found"):
        load_tokenizer(str(tmp_path / "none.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    with pytest.raises(DataError, match="cannot read tokenizer"):
        load_tokenizer(str(bad))


def test_token_stream_joins_lines_with_end_of_sequence(tmp_path, tok):
    f = tmp_path / "a.txt"
    f.write_text("one.\ntwo.\n")
    ids = token_stream(f, tok)
    assert list(ids) == tok.encode("one.").ids + [1] + tok.encode("two.").ids + [1]


@pytest.mark.filterwarnings("ignore::edgekit.errors.EdgekitWarning")  # long lines: tested above
def test_calib_size_samples_lines(tmp_path, tok):
    f = tmp_path / "a.txt"
    f.write_text("\n".join(generate(30, 2)) + "\n")
    assert len(list(open_source(f, None, SPECS, tokenizer=tok, calib_size=5))) == 5


@pytest.mark.filterwarnings("ignore::edgekit.errors.EdgekitWarning")  # long lines truncated: tested above
def test_text_calibration_for_static_w8a8(tmp_path, tok):
    """An encoder classifier quantized w8a8 (static) from a .jsonl calibration set through text_source,
    tokenizer stored in the model; the quantized model keeps the float model's top-1 on most lines."""
    pytest.importorskip("torch")
    import edgekit
    from edgekit.data.text import text_source
    from edgekit.evaluate import evaluate
    from edgekit.zoo import build, export_onnx

    clf = build("tiny-transformer", num_classes=3, input_size=32, seed=0)
    path = tmp_path / "clf.onnx"
    export_onnx(clf, path, input_name="input_ids", metadata={TOKENIZER_KEY: tok.to_str()})
    data = tmp_path / "cal.jsonl"
    data.write_text("\n".join(json.dumps({"text": t, "label": i % 3}) for i, t in enumerate(generate(40, 4))) + "\n")
    out = tmp_path / "clf-w8a8.onnx"
    edgekit.quantize(path, out, calib=text_source(data, path), scheme="w8a8")
    res = evaluate(out, data, reference=path)[0]  # the stored tokenizer again, for both models
    assert res.samples == 40
    # measured: 92.5% agreement, 25.4 dB SQNR. A random-weight encoder's three logits sit close together,
    # so a few argmax flips are expected; 75% / 15 dB still fail a broken calibration (~33%, ~0 dB)
    assert res.agreement >= 75.0 and res.sqnr_db > 15.0
