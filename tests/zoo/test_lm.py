"""tiny-lm: the Llama-style decoder and its three ONNX layouts agree with torch."""
from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort
import pytest

from edgekit.errors import InputError
from helpers import lm as H

torch = pytest.importorskip("torch")

# float32 through two layers of attention and SwiGLU: exporter and onnxruntime reorder sums, so
# logits (magnitude ~0.1 with std-0.02 weights) agree to ~1e-7; 1e-5 leaves room without hiding a bug
TOL = 1e-5


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    model = H.build()
    return model, H.export_all(model, tmp_path_factory.mktemp("lm"))


def _ids(n, seed=1):
    return np.random.default_rng(seed).integers(0, H.SIZES["vocab_size"], (1, n)).astype(np.int64)


def test_uncached_graph_matches_torch(lm):
    model, paths = lm
    ids = _ids(11)
    with torch.no_grad():
        ref = model(torch.from_numpy(ids)).numpy()
    out = ort.InferenceSession(str(paths["none"])).run(["logits"], {"input_ids": ids})[0]
    assert out.shape == (1, 11, H.SIZES["vocab_size"])
    np.testing.assert_allclose(out, ref, atol=TOL)


def test_static_cache_prefill_then_decode_equals_one_pass(lm):
    model, paths = lm
    ids = _ids(9)
    with torch.no_grad():
        ref = model(torch.from_numpy(ids)).numpy()[0]
    s = ort.InferenceSession(str(paths["static"]))
    names = [i.name for i in s.get_inputs()]
    assert names[:2] == ["input_ids", "cache_position"] and names[2] == "past_key_values.0.key"
    kv = {n: np.zeros((1, 2, 32, 8), np.float32) for n in names[2:]}
    # stale garbage in the slots after the prompt must never be read (they are masked)
    kv = {n: v + 7.0 for n, v in kv.items()}
    outs = s.run(None, {"input_ids": ids[:, :6], "cache_position": np.arange(6), **kv})
    np.testing.assert_allclose(outs[0][0], ref[:6], atol=TOL)
    for t in range(6, 9):
        past = dict(zip(names[2:], outs[1:]))
        outs = s.run(None, {"input_ids": ids[:, t:t + 1], "cache_position": np.array([t]), **past})
        np.testing.assert_allclose(outs[0][0, 0], ref[t], atol=TOL)


def test_dynamic_cache_is_the_hugging_face_layout(lm):
    model, paths = lm
    ids = _ids(7)
    with torch.no_grad():
        ref = model(torch.from_numpy(ids)).numpy()[0]
    s = ort.InferenceSession(str(paths["dynamic"]))
    assert [i.name for i in s.get_inputs()][:3] == ["input_ids", "attention_mask", "position_ids"]
    assert [o.name for o in s.get_outputs()][1:3] == ["present.0.key", "present.0.value"]
    past = {i.name: np.zeros((1, 2, 0, 8), np.float32) for i in s.get_inputs()[3:]}
    outs = s.run(None, {"input_ids": ids[:, :5], "attention_mask": np.ones((1, 5), np.int64),
                        "position_ids": np.arange(5)[None], **past})
    np.testing.assert_allclose(outs[0][0], ref[:5], atol=TOL)
    past = dict(zip(past, outs[1:]))
    assert past["past_key_values.1.value"].shape == (1, 2, 5, 8)  # grown by concatenation
    outs = s.run(None, {"input_ids": ids[:, 5:6], "attention_mask": np.ones((1, 6), np.int64),
                        "position_ids": np.array([[5]]), **past})
    np.testing.assert_allclose(outs[0][0, 0], ref[5], atol=TOL)


def test_metadata_carries_the_config(lm):
    import onnx

    _, paths = lm
    meta = {p.key: p.value for p in onnx.load(str(paths["static"])).metadata_props}
    cfg = json.loads(meta["edgekit.lm"])
    assert cfg["cache"] == "static" and cfg["layers"] == 2 and cfg["kv_heads"] == 2 and cfg["max_len"] == 32


def test_architecture_pieces():
    from edgekit.zoo._lm import RMSNorm

    model = H.build()
    attn = model.layers[0].self_attn
    assert attn.k_proj.out_features == 2 * 8 and attn.q_proj.out_features == 4 * 8  # grouped-query attention
    x = torch.randn(2, 3, 32)
    norm = RMSNorm(32, 1e-5)
    expect = x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + 1e-5)
    torch.testing.assert_close(norm(x), expect, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("sizes", [dict(dim=30, heads=4), dict(heads=4, kv_heads=3), dict(layers=0),
                                   dict(max_len=10 ** 6)])
def test_impossible_shapes_are_refused(sizes):
    from edgekit.zoo.lm import build_lm

    with pytest.raises(InputError):
        build_lm(**{**H.SIZES, **sizes})


def test_zoo_registry_builds_tiny_lm():
    from edgekit.zoo import build, entry, input_shape

    assert entry("tiny-lm").kind == "lm" and input_shape("tiny-lm") == (1, 128)
    model = build("tiny-lm", num_classes=64, input_size=16, width=0.125)
    assert len(model.layers) == 4 and model.cfg.dim == 32 and model.cfg.vocab_size == 64


def test_training_is_seeded_and_learns_something():
    from edgekit.zoo.lm import train_lm

    tok = H.tokenizer()
    ids = np.asarray(tok.encode(" ".join(H.corpus_lines(100))).ids)
    runs = []
    for _ in range(2):
        model = H.build()
        runs.append(train_lm(model, ids, steps=4, batch=2, seq_len=16, lr=1e-2, seed=3))
    assert runs[0] == runs[1]  # same seed, same losses, to the bit
    assert runs[0][-1] < runs[0][0]  # four steps at lr 1e-2 on repetitive text lower the loss
