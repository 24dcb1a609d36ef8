"""A tiny decoder LM (2 layers, width 32) and its tokenizer, built and exported once per test module."""
from __future__ import annotations

from pathlib import Path

SIZES = dict(layers=2, dim=32, heads=4, kv_heads=2, ffn=64, vocab_size=300, max_len=32)


def corpus_lines(n: int = 200, seed: int = 0) -> list[str]:
    from edgekit.data.corpus import generate

    return generate(n, seed)


def tokenizer(lines=None):
    from edgekit.data.text import train_tokenizer

    return train_tokenizer(lines or corpus_lines(), SIZES["vocab_size"])


def build(seed: int = 0):
    import torch

    from edgekit.zoo.lm import build_lm

    torch.set_num_threads(1)  # the machine is shared; tiny models gain nothing from more
    return build_lm(seed=seed, **SIZES)


def export_all(model, out: Path, tok=None) -> dict[str, Path]:
    """The three ONNX layouts (and a fixed-length prefill) of ``model``; the tokenizer in the static one."""
    from edgekit.data.text import TOKENIZER_KEY
    from edgekit.zoo.lm import export_lm

    meta = {TOKENIZER_KEY: tok.to_str()} if tok is not None else None
    paths = {"static": out / "lm.onnx", "dynamic": out / "lm-dynamic.onnx", "none": out / "lm-nocache.onnx",
             "static16": out / "lm-prefill16.onnx"}
    export_lm(model, paths["static"], cache="static", metadata=meta)
    export_lm(model, paths["dynamic"], cache="dynamic")
    export_lm(model, paths["none"], cache="none")
    export_lm(model, paths["static16"], cache="static", seq_len=16)
    return paths
