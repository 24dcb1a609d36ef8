"""``edgekit.load(lm).generate``: the cached layouts give the reference loop's tokens; bad requests fail."""
from __future__ import annotations

import numpy as np
import pytest

import edgekit
from edgekit.errors import InputError
from helpers import lm as H

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    return H.export_all(H.build(), tmp_path_factory.mktemp("gen"))


PROMPT = [5, 77, 120, 9, 250, 31]


def _reference(path, prompt, n):
    """Greedy decoding written out over onnxruntime on the un-cached graph: the whole sequence each step."""
    import onnxruntime as ort

    s = ort.InferenceSession(str(path))
    ids = list(prompt)
    for _ in range(n):
        logits = s.run(["logits"], {"input_ids": np.asarray([ids], np.int64)})[0]
        ids.append(int(np.argmax(logits[0, -1])))
    return tuple(ids[len(prompt):])


@pytest.mark.parametrize("layout", ["static", "dynamic"])
def test_greedy_tokens_equal_the_uncached_reference(paths, layout):
    want = _reference(paths["none"], PROMPT, 10)
    got = edgekit.load(paths[layout]).generate(PROMPT, 10)
    assert got.tokens == want and got.prompt == tuple(PROMPT) and got.stop == "length"
    assert got.ids == tuple(PROMPT) + want


def test_uncached_fallback_is_the_reference_loop(paths):
    got = edgekit.load(paths["none"]).generate(PROMPT, 6, uncached=True)
    assert got.tokens == _reference(paths["none"], PROMPT, 6)


def test_sampling_is_seeded_and_top_k_1_is_greedy(paths):
    lm = edgekit.load(paths["static"])
    a = lm.generate(PROMPT, 12, temperature=1.5, seed=4)
    b = lm.generate(PROMPT, 12, temperature=1.5, seed=4)
    c = lm.generate(PROMPT, 12, temperature=1.5, seed=5)
    assert a.tokens == b.tokens
    # random weights give nearly flat logits: at T=1.5 over 300 ids two seeds agree on 12 tokens with
    # probability far below 1e-6
    assert a.tokens != c.tokens
    assert lm.generate(PROMPT, 8, temperature=0.7, top_k=1, seed=9).tokens == lm.generate(PROMPT, 8).tokens


def test_eos_stops_early(paths):
    lm = edgekit.load(paths["static"])
    first = lm.generate(PROMPT, 5).tokens
    got = lm.generate(PROMPT, 5, eos_id=first[1])
    assert got.tokens == first[:2] and got.stop == "eos"


def test_static_cache_buffers_are_preallocated_and_reused(paths):
    lm = edgekit.load(paths["static"])
    lm.generate(PROMPT, 2)
    run = lm._lm_runner
    before = [v.data_ptr() for bufs in run._buf for v in bufs]
    lm.generate(PROMPT, 9)
    # the same two buffer sets serve every step (ping-pong through IOBinding): nothing reallocated
    assert [v.data_ptr() for bufs in run._buf for v in bufs] == before


def test_no_cache_inputs_explains_the_fallback(paths):
    with pytest.raises(InputError, match="no KV-cache inputs.*re-runs the whole sequence.*uncached=True"):
        edgekit.load(paths["none"]).generate(PROMPT, 3)


def test_prompt_longer_than_the_model_takes(paths):
    with pytest.raises(InputError, match="the prompt has 40 tokens.*at most 32"):
        edgekit.load(paths["static"]).generate(list(range(40)), 2)


def test_fixed_length_graph_cannot_decode(paths):
    from edgekit.errors import ModelError

    with pytest.raises(ModelError, match="exactly 16 tokens per run.*dynamic sequence length"):
        edgekit.load(paths["static16"]).generate(PROMPT, 2)


def test_max_new_tokens_beyond_the_cache(paths):
    with pytest.raises(InputError, match="cache holds 32.*at most 26 new tokens"):
        edgekit.load(paths["static"]).generate(PROMPT, 27)
    assert len(edgekit.load(paths["static"]).generate(PROMPT, 26).tokens) == 26


@pytest.mark.parametrize("kwargs, text", [
    (dict(prompt_ids=[], max_new_tokens=3), "non-empty"),
    (dict(prompt_ids=[1, 300], max_new_tokens=3), "token id 300"),
    (dict(prompt_ids=[1.5], max_new_tokens=3), "token ids"),
    (dict(prompt_ids=[1], max_new_tokens=0), "max_new_tokens"),
    (dict(prompt_ids=[1], max_new_tokens=3, temperature=-1), "temperature"),
    (dict(prompt_ids=[1], max_new_tokens=3, top_k=0), "top_k"),
])
def test_bad_arguments(paths, kwargs, text):
    with pytest.raises(InputError, match=text):
        edgekit.load(paths["static"]).generate(**kwargs)


def test_load_stays_light(paths):
    import subprocess
    import sys

    code = (f"import sys, edgekit; m = edgekit.load({str(paths['static'])!r}); m.generate([1, 2], 2); "
            "print(sorted(k for k in ('onnx', 'torch', 'tokenizers', 'PIL') if k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_shipped_lm_works_out_of_the_box():
    """models/tiny-lm.onnx carries its tokenizer and a static cache; trained on the shipped corpus, it
    completes a sum the way the corpus's grammar does (greedy, so the answer is deterministic)."""
    from pathlib import Path

    from edgekit.data.text import stored_tokenizer

    path = Path(__file__).resolve().parents[2] / "models" / "tiny-lm.onnx"
    tok = stored_tokenizer(path)
    lm = edgekit.load(path)
    out = lm.generate(tok.encode("two plus three is").ids, 6, eos_id=tok.token_to_id("</s>"))
    assert tok.decode(list(out.tokens)).strip().startswith("five.")
    assert out.stop == "eos"


def test_w4_lm_generates_what_its_uncached_w4_twin_does(paths, tmp_path):
    """edgekit.quantize(scheme="w4") (onnxruntime MatMulNBits) quantizes the cached and the un-cached
    graph's weights alike, so the cached w4 model must decode the w4 reference loop's tokens."""
    q_cached, q_plain = tmp_path / "w4.onnx", tmp_path / "w4-nocache.onnx"
    edgekit.quantize(paths["static"], output=q_cached, scheme="w4")
    edgekit.quantize(paths["none"], output=q_plain, scheme="w4")
    want = _reference(q_plain, PROMPT, 8)
    assert edgekit.load(q_cached).generate(PROMPT, 8).tokens == want
