"""Build and export the zoo's decoder LM (``tiny-lm``) without and with a KV cache.

    from edgekit.zoo.lm import LM_KEY, build_lm, export_lm
    model = build_lm(layers=2, dim=32, heads=4, kv_heads=2, ffn=64, vocab_size=96, max_len=32, seed=0)
    export_lm(model, "lm.onnx", cache="static")            # prefill + decode in one graph, dynamic s
    export_lm(model, "lm-decode.onnx", cache="static", seq_len=1)   # fixed shapes, for TFLite
    export_lm(model, "lm-nocache.onnx", cache="none")

Importing this module needs no torch; ``build_lm``/``export_lm`` import it. The graph's metadata
carries ``LM_KEY`` (the LMConfig as JSON plus the cache layout), which ``generate`` and ``eval`` read.
"""
from __future__ import annotations

import json
import os
import warnings
from typing import Mapping

from edgekit.errors import InputError, ModelError

LM_KEY = "edgekit.lm"
CACHES = ("none", "static", "dynamic")


def build_lm(seed: int = 0, **sizes):
    """A ``TinyLM`` (eval mode, seed-deterministic weights) from ``LMConfig`` fields."""
    from . import require_torch

    torch = require_torch()
    from ._lm import LMConfig, tiny_lm

    cfg = LMConfig(**sizes)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = tiny_lm(cfg)
    model.zoo_name = "tiny-lm"
    return model


def cache_names(layers: int) -> tuple[list[str], list[str]]:
    """The Hugging Face exporters' cache tensor names: past_key_values.{i}.key|value in, present.{i}.* out."""
    past = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    return past, [n.replace("past_key_values", "present") for n in past]


def _wrap(model, cache: str):
    from torch import nn

    fn = {"none": model.forward, "static": model.forward_static, "dynamic": model.forward_dynamic}[cache]

    class Export(nn.Module):  # torch.onnx.export traces ``forward``: point it at the chosen path
        def __init__(self):
            super().__init__()
            self.lm = model

        def forward(self, *args):
            return fn(*args)

    return Export().eval()


def _dummies(model, cache: str, seq_len: int, past_len: int):
    import torch

    cfg = model.cfg
    ids = torch.randint(0, cfg.vocab_size, (1, seq_len), generator=torch.Generator().manual_seed(0))
    if cache == "none":
        return (ids,), ["input_ids"], {"input_ids": {1: "sequence"}}
    past_names, present_names = cache_names(cfg.layers)
    if cache == "static":
        kv = torch.zeros(1, cfg.kv_heads, cfg.max_len, cfg.head_dim)
        args = (ids, torch.arange(seq_len), *([kv] * len(past_names)))
        return args, ["input_ids", "cache_position", *past_names], \
            {"input_ids": {1: "sequence"}, "cache_position": {0: "sequence"}}
    kv = torch.zeros(1, cfg.kv_heads, past_len, cfg.head_dim)
    mask = torch.ones(1, past_len + seq_len, dtype=torch.int64)
    pos = torch.arange(past_len, past_len + seq_len)[None]
    axes = {"input_ids": {1: "sequence"}, "attention_mask": {1: "total"}, "position_ids": {1: "sequence"}}
    axes.update({n: {2: "past"} for n in past_names})
    axes.update({n: {2: "total"} for n in present_names})
    return (ids, mask, pos, *([kv] * len(past_names))), ["input_ids", "attention_mask", "position_ids", *past_names], axes


def export_lm(model, path: str | os.PathLike, cache: str = "static", seq_len: int | None = None, opset: int = 17,
              metadata: Mapping[str, str] | None = None):
    """Export a TinyLM to ONNX at ``path`` atomically; return the path.

    ``seq_len`` None keeps the sequence length dynamic (the Hugging Face exporters' choice); a number
    fixes it (a TFLite signature needs fixed shapes: the prefill length N, or 1 for decode).
    """
    from . import require_torch

    torch = require_torch()
    from edgekit._io import atomic_path

    if cache not in CACHES:
        raise InputError(f"unknown cache layout {cache!r}", f"choose one of {', '.join(CACHES)}", "pass cache='static'")
    cfg = model.cfg
    n = seq_len if seq_len is not None else min(4, cfg.max_len)
    if not isinstance(n, int) or not 1 <= n <= cfg.max_len:
        raise InputError(f"seq_len {seq_len!r} is out of range", f"the model holds 1..{cfg.max_len} tokens",
                         f"pass 1 <= seq_len <= {cfg.max_len}")
    args, in_names, axes = _dummies(model, cache, n, past_len=2 if cache == "dynamic" else 0)
    out_names = ["logits"] + (cache_names(cfg.layers)[1] if cache != "none" else [])
    if seq_len is not None:
        axes = {k: v for k, v in axes.items() if "sequence" not in v.values()} if cache != "dynamic" else axes
    axes = {k: v for k, v in axes.items() if k in in_names + out_names}
    if cache != "dynamic" and seq_len is None:
        axes["logits"] = {1: "sequence"}
    meta = {LM_KEY: json.dumps({**json.loads(cfg.to_json()), "cache": cache}), **(metadata or {})}
    was_training = model.training
    model.eval()
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings and the TorchScript exporter's deprecation
            with torch.no_grad():
                torch.onnx.export(_wrap(model, cache), args, str(tmp), dynamo=False, opset_version=opset,
                                  input_names=in_names, output_names=out_names, dynamic_axes=axes or None,
                                  do_constant_folding=True)
            from . import _add_metadata

            _add_metadata(tmp, meta)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ModelError("torch.onnx.export failed for tiny-lm", str(exc).splitlines()[0],
                         "run with --debug for the traceback") from exc
    finally:
        model.train(was_training)
    return path


def train_lm(model, tokens, steps: int, batch: int = 8, seq_len: int | None = None, lr: float = 3e-3,
             seed: int = 0, threads: int = 1, on_step=None) -> list[float]:
    """Next-token training on random windows of the id stream ``tokens``; returns the loss per step.

    AdamW (betas 0.9/0.95, weight decay 0.01 as in Llama), linear warm-up over the first 10% of steps
    then cosine decay to 10% of ``lr``. Seeded: the same arguments give the same weights.
    """
    import math

    import numpy as np

    from . import require_torch

    torch = require_torch()
    seq = seq_len or model.cfg.max_len
    tokens = np.asarray(tokens, np.int64)
    if len(tokens) <= seq + 1:
        raise InputError(f"the corpus has {len(tokens)} tokens", f"training windows are {seq + 1} long",
                         "give more text or a shorter seq_len")
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.01)
    warm = max(1, steps // 10)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / warm) * (
        0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, max(0, s - warm) / max(1, steps - warm))))))
    model.train()
    losses = []
    for step in range(steps):
        starts = rng.integers(0, len(tokens) - seq - 1, batch)
        window = torch.from_numpy(np.stack([tokens[s:s + seq + 1] for s in starts]))
        logits = model(window[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), window[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
        if on_step:
            on_step(step, losses[-1])
    model.eval()
    return losses
