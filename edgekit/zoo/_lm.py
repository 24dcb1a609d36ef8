"""A decoder-only language model in the Llama/Qwen mould, small enough for tests and a phone.

Pre-norm blocks of RMSNorm -> grouped-query causal attention with rotary position embeddings ->
RMSNorm -> SwiGLU feed-forward, a final RMSNorm and an untied output projection (Touvron et al. 2023;
the rotary form is Hugging Face's ``rotate_half``). Written out with plain tensor ops so the ONNX
graphs hold what a Llama export holds (Pow/ReduceMean RMSNorm, Gather of cos/sin tables, Expand for
the key/value head repeat, MatMul/Softmax attention) and nothing a converter cannot lower: position
tables and masks are slices of or comparisons with constant buffers, never Range/Trilu.

Three forward paths, each exported by ``edgekit.zoo.export_lm``:

- ``none``: ``input_ids [1, T]`` -> ``logits [1, T, V]``, one pass over the sequence.
- ``static``: a preallocated cache of ``max_len`` slots. Inputs ``input_ids [1, s]``,
  ``cache_position [s]`` (the slots the s tokens go to) and ``past_key_values.{i}.key|value
  [1, kv_heads, max_len, head_dim]``; outputs ``logits`` and ``present.{i}.key|value`` of the same
  shape. The new keys/values are written into their slots with a one-hot matmul and attention masks
  every slot after the query's position, so stale slots are never read. s = prompt length is the
  prefill, s = 1 a decode step.
- ``dynamic``: Hugging Face's (optimum) layout: ``input_ids``, ``attention_mask [1, past + s]``,
  ``position_ids [1, s]``, ``past_key_values.{i}.key|value [1, kv_heads, past, head_dim]`` in,
  ``present.{i}.*`` = past and the new entries concatenated, out.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass

import torch
from torch import nn

NEG = -1e9  # additive mask: exp(NEG - max) underflows to exactly 0 in float32, without inf arithmetic


@dataclass(frozen=True)
class LMConfig:
    vocab_size: int = 512
    layers: int = 4
    dim: int = 256
    heads: int = 4
    kv_heads: int = 2
    ffn: int = 384          # SwiGLU hidden width
    max_len: int = 128      # rotary table length = static cache slots = longest sequence
    rope_theta: float = 10000.0
    eps: float = 1e-5

    def __post_init__(self):
        from edgekit.errors import InputError

        ints = {k: getattr(self, k) for k in ("vocab_size", "layers", "dim", "heads", "kv_heads", "ffn", "max_len")}
        bad = [k for k, v in ints.items() if not isinstance(v, int) or isinstance(v, bool) or v < 1]
        if bad or self.dim % self.heads or self.heads % self.kv_heads or (self.dim // self.heads) % 2:
            raise InputError(f"impossible tiny-lm shape {ints}", "all sizes must be >= 1, heads must divide dim, "
                             "kv_heads divide heads, and the head width be even (rotary pairs)",
                             "e.g. dim=256 heads=4 kv_heads=2")
        if ints["max_len"] > 8192 or ints["vocab_size"] > 1 << 20 or ints["dim"] > 8192 or ints["layers"] > 128:
            raise InputError(f"tiny-lm shape {ints} is too large", "it is a zoo model for devices and tests",
                             "use max_len <= 8192, dim <= 8192, layers <= 128")

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.weight, self.eps = nn.Parameter(torch.ones(dim)), eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.heads, self.kv_heads, self.hd = cfg.heads, cfg.kv_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.dim, cfg.heads * self.hd, bias=False)
        self.k_proj = nn.Linear(cfg.dim, cfg.kv_heads * self.hd, bias=False)
        self.v_proj = nn.Linear(cfg.dim, cfg.kv_heads * self.hd, bias=False)
        self.o_proj = nn.Linear(cfg.heads * self.hd, cfg.dim, bias=False)

    def _repeat(self, x):
        """(1, kv, n, hd) -> (1, heads, n, hd): each key/value head serves heads/kv query heads (GQA)."""
        rep = self.heads // self.kv_heads
        if rep == 1:
            return x
        b, kv, n, hd = x.shape
        return x[:, :, None].expand(b, kv, rep, n, hd).reshape(b, kv * rep, n, hd)

    def forward(self, x, cos, sin, mask, cache=None, write=None, concat=False):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.heads, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv_heads, self.hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        if cache is not None and concat:
            k, v = torch.cat([cache[0], k], dim=2), torch.cat([cache[1], v], dim=2)
        elif cache is not None:  # static: write the s new entries into their slots, keep the rest
            keep = (1.0 - write.sum(0)).view(1, 1, -1, 1)
            scatter = write.t()  # (max_len, s): a one-hot matmul is exact and lowers to plain MatMul
            k, v = cache[0] * keep + torch.matmul(scatter, k), cache[1] * keep + torch.matmul(scatter, v)
        scores = torch.matmul(q, self._repeat(k).transpose(-1, -2)) / math.sqrt(self.hd) + mask
        out = torch.matmul(torch.softmax(scores, dim=-1), self._repeat(v))
        return self.o_proj(out.transpose(1, 2).reshape(b, s, self.heads * self.hd)), (k, v)


class Block(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.dim, cfg.eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.dim, cfg.eps)
        self.gate_proj = nn.Linear(cfg.dim, cfg.ffn, bias=False)
        self.up_proj = nn.Linear(cfg.dim, cfg.ffn, bias=False)
        self.down_proj = nn.Linear(cfg.ffn, cfg.dim, bias=False)

    def forward(self, x, cos, sin, mask, cache=None, write=None, concat=False):
        h, kv = self.self_attn(self.input_layernorm(x), cos, sin, mask, cache, write, concat)
        x = x + h
        y = self.post_attention_layernorm(x)
        return x + self.down_proj(nn.functional.silu(self.gate_proj(y)) * self.up_proj(y)), kv


class TinyLM(nn.Module):
    def __init__(self, cfg: LMConfig):
        super().__init__()
        self.cfg, self.vocab_size = cfg, cfg.vocab_size
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.dim, cfg.eps)
        self.lm_head = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        inv = 1.0 / cfg.rope_theta ** (torch.arange(0, cfg.head_dim, 2, dtype=torch.float32) / cfg.head_dim)
        angles = torch.outer(torch.arange(cfg.max_len, dtype=torch.float32), inv)
        angles = torch.cat([angles, angles], dim=-1)  # (max_len, head_dim), HF's layout
        self.register_buffer("cos_table", angles.cos(), persistent=False)
        self.register_buffer("sin_table", angles.sin(), persistent=False)
        self.register_buffer("slots", torch.arange(cfg.max_len), persistent=False)
        causal = torch.triu(torch.full((cfg.max_len, cfg.max_len), NEG), diagonal=1)
        self.register_buffer("causal", causal, persistent=False)

    def _run(self, ids, cos, sin, mask, caches=None, write=None, concat=False):
        x = self.embed_tokens(ids)
        cos, sin = cos[None, None], sin[None, None]
        present = []
        for i, layer in enumerate(self.layers):
            x, kv = layer(x, cos, sin, mask, None if caches is None else caches[i], write, concat)
            present += list(kv)
        return self.lm_head(self.norm(x)), present

    def forward(self, input_ids):
        """No cache: logits for every position of ``input_ids`` (1, T), T <= max_len."""
        s = input_ids.shape[1]
        logits, _ = self._run(input_ids, self.cos_table[:s], self.sin_table[:s], self.causal[:s, :s])
        return logits

    def forward_static(self, input_ids, cache_position, *past):
        """Preallocated cache: write the tokens at slots ``cache_position`` (s,), attend to slots <= each."""
        pos = cache_position
        write = (self.slots[None, :] == pos[:, None]).to(torch.float32)        # (s, max_len)
        mask = (self.slots[None, :] > pos[:, None]).to(torch.float32) * NEG    # (s, max_len)
        caches = [(past[2 * i], past[2 * i + 1]) for i in range(self.cfg.layers)]
        logits, present = self._run(input_ids, self.cos_table[pos], self.sin_table[pos], mask, caches, write)
        return (logits, *present)

    def forward_dynamic(self, input_ids, attention_mask, position_ids, *past):
        """Hugging Face's growing cache: ``present`` = ``past`` and the new entries concatenated."""
        pos = position_ids[0]
        total = attention_mask.shape[1]
        keys = torch.arange(total)[None, :]
        offset = total - input_ids.shape[1]
        causal = (keys > (torch.arange(input_ids.shape[1])[:, None] + offset)).to(torch.float32)
        padded = (attention_mask[0] == 0).to(torch.float32)[None, :]
        mask = torch.clamp(causal + padded, max=1.0) * NEG
        caches = [(past[2 * i], past[2 * i + 1]) for i in range(self.cfg.layers)]
        logits, present = self._run(input_ids, self.cos_table[pos], self.sin_table[pos], mask, caches, concat=True)
        return (logits, *present)


def tiny_lm(cfg: LMConfig | None = None, **sizes) -> TinyLM:
    """A ``TinyLM`` with small-normal weights (std 0.02, as Llama initialises), RMSNorm gains of 1."""
    model = TinyLM(cfg or LMConfig(**sizes))
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
    return model.eval()


def zoo_tiny_lm(in_channels: int, num_classes: int, width: float, input_size: int) -> TinyLM:
    """``edgekit.zoo.build("tiny-lm", num_classes=VOCAB, input_size=MAX_LEN, width=W)``: 4 layers, dim 256*W."""
    from ._cnn import make_divisible

    dim = make_divisible(256 * width, 16)
    return tiny_lm(vocab_size=num_classes, dim=dim, ffn=make_divisible(1.5 * dim, 16), max_len=input_size)
