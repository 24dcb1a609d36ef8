"""``edgekit eval`` on text: perplexity of LMs (sliding windows) and accuracy of a text classifier."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from edgekit.cli import main
from edgekit.evaluate import evaluate, perplexity
from helpers import lm as H

torch = pytest.importorskip("torch")
pytest.importorskip("tokenizers")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("ppl")
    tok = H.tokenizer()
    model = H.build()
    paths = H.export_all(model, d, tok)
    text = d / "held.txt"
    text.write_text("\n".join(H.corpus_lines(6, seed=5)) + "\n")
    tok.save(str(d / "tok.json"))
    return model, tok, paths, text, d


def _torch_perplexity(model, ids, context, stride):
    """The same sliding windows computed independently with torch's cross-entropy."""
    nll, n, scored_to = 0.0, 0, 1
    for begin in range(0, len(ids) - 1, stride):
        end = min(begin + context, len(ids))
        with torch.no_grad():
            logits = model(torch.from_numpy(ids[None, begin:end]))[0]
        first = max(scored_to, begin + 1)
        targets = torch.from_numpy(ids[first:end])
        loss = torch.nn.functional.cross_entropy(logits[first - begin - 1:end - begin - 1].double(), targets,
                                                 reduction="sum")
        nll, n, scored_to = nll + float(loss), n + len(targets), end
        if end == len(ids):
            break
    return math.exp(nll / n), n


def test_every_layout_gives_torchs_perplexity(setup):
    from edgekit.data.text import token_stream

    model, tok, paths, text, _ = setup
    ids = token_stream(text, tok)
    want, n = _torch_perplexity(model, ids, 16, 8)
    got = perplexity([paths["static"], paths["none"], paths["static16"], paths["dynamic"]], text, tok,
                     context=16, stride=8)
    assert n == len(ids) - 1  # every token after the first is scored once
    for r in got:
        assert r.tokens == n and r.context == 16 and r.stride == 8
        # float32 logits vs torch's, summed over ~n tokens in float64: relative 1e-5 is far below the
        # effect of any windowing mistake (a token scored twice or with the wrong history moves it by >1e-3)
        assert r.perplexity == pytest.approx(want, rel=1e-5)


def test_context_defaults_to_the_models_longest_prompt(setup):
    _, tok, paths, text, _ = setup
    r = perplexity(paths["static"], text)[0]  # tokenizer stored in the model's metadata
    assert (r.context, r.stride) == (32, 16)
    from edgekit.errors import InputError

    with pytest.raises(InputError, match="takes sequences of any length.*--context"):
        perplexity(paths["none"], text, tok)
    with pytest.raises(InputError, match="context 64 is out of range"):
        perplexity(paths["static"], text, context=64)


def test_cli_prints_perplexity_side_by_side_and_writes_json(setup, capsys):
    _, _, paths, text, d = setup
    out = d / "ppl.json"
    code = main(["eval", str(paths["static"]), str(paths["none"]), "--data", str(text), "--tokenizer",
                 str(d / "tok.json"), "--context", "16", "--stride", "8", "--json", str(out)])
    stdout = capsys.readouterr().out
    assert code == 0
    assert "perplexity" in stdout and "lm-nocache.onnx" in stdout
    rows = json.loads(out.read_text())
    assert [r["context"] for r in rows] == [16, 16]
    assert rows[0]["perplexity"] == pytest.approx(rows[1]["perplexity"], rel=1e-6)


def test_cli_tokenizer_too_large_is_one_line_and_writes_nothing(setup, capsys):
    from edgekit.data.text import train_tokenizer

    _, _, paths, text, d = setup
    big = d / "big.json"
    train_tokenizer(H.corpus_lines(300, 2), 400).save(str(big))
    out = d / "never.json"
    code = main(["eval", str(paths["static"]), "--data", str(text), "--tokenizer", str(big), "--json", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and not out.exists()
    assert err.count("\n") == 1 and "400 tokens" in err and "300 rows" in err


def test_text_classifier_accuracy_on_jsonl(setup, tmp_path):
    from edgekit.zoo import build, export_onnx

    _, tok, _, _, _ = setup
    clf = build("tiny-transformer", num_classes=3, input_size=32, seed=0)
    path = tmp_path / "clf.onnx"
    export_onnx(clf, path, input_name="input_ids")
    lines = H.corpus_lines(12, seed=8)
    rows = [{"text": t, "label": i % 3} for i, t in enumerate(lines)]
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    with pytest.warns(Warning):  # some lines exceed 32 tokens of this small tokenizer: truncated, said so
        res = evaluate(path, data, tokenizer=tok)[0]
    hits = 0
    for r in rows:  # the same thing by hand: encode, truncate/pad to 32, argmax of torch's logits
        ids = tok.encode(r["text"]).ids[:32]
        ids = ids + [0] * (32 - len(ids))
        with torch.no_grad():
            hits += int(clf(torch.tensor([ids])).argmax()) == r["label"]
    assert res.samples == 12 and res.top1 == pytest.approx(100 * hits / 12)
