"""A DistilBERT-like encoder classifier at a fixed sequence length (Sanh et al. 2019, shrunk).

Token + learned position embeddings, embedding LayerNorm, post-LN encoder layers (multi-head
softmax attention, GELU feed-forward), then DistilBERT's head: first token -> pre_classifier ->
ReLU -> classifier. Attention is written out (no nn.MultiheadAttention) so the ONNX graph holds the
plain MatMul / Softmax / Reshape / Transpose ops a converter sees in exported encoders.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ._cnn import make_divisible

VOCAB_SIZE = 1000
LAYERS = 2
HEADS = 4
DIM = 64  # hidden size at width 1.0; the feed-forward layer is 4x (as in BERT)


class SelfAttention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.heads, self.head_dim = heads, dim // heads
        self.q, self.k, self.v, self.out = (nn.Linear(dim, dim) for _ in range(4))

    def _split(self, x, b: int, n: int):
        return x.reshape(b, n, self.heads, self.head_dim).transpose(1, 2)  # b, heads, n, head_dim

    def forward(self, x):
        b, n, d = x.shape
        q, k, v = self._split(self.q(x), b, n), self._split(self.k(x), b, n), self._split(self.v(x), b, n)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        return self.out(ctx.transpose(1, 2).reshape(b, n, d))


class EncoderLayer(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.attention = SelfAttention(dim, heads)
        self.sa_layer_norm = nn.LayerNorm(dim, eps=1e-12)  # DistilBERT's epsilon
        self.ffn = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim), nn.Dropout(0.1))
        self.output_layer_norm = nn.LayerNorm(dim, eps=1e-12)

    def forward(self, x):
        x = self.sa_layer_norm(x + self.attention(x))
        return self.output_layer_norm(x + self.ffn(x))


class TinyTransformer(nn.Module):
    def __init__(self, num_classes: int = 2, seq_len: int = 32, width: float = 1.0, vocab_size: int = VOCAB_SIZE):
        super().__init__()
        dim = make_divisible(DIM * width, HEADS * 4)
        self.vocab_size, self.seq_len = vocab_size, seq_len
        self.word_embeddings = nn.Embedding(vocab_size, dim)
        # a (1, seq_len, dim) parameter rather than an arange-indexed table: with a fixed length the
        # position term is a constant add, and the graph needs no Range/Shape ops for it
        self.position_embeddings = nn.Parameter(torch.zeros(1, seq_len, dim))
        self.layer_norm = nn.LayerNorm(dim, eps=1e-12)
        self.layers = nn.Sequential(*(EncoderLayer(dim, HEADS) for _ in range(LAYERS)))
        self.pre_classifier = nn.Linear(dim, dim)
        self.classifier = nn.Linear(dim, num_classes)
        self.dropout = nn.Dropout(0.1)

    def forward(self, ids):
        x = self.layer_norm(self.word_embeddings(ids) + self.position_embeddings)
        x = self.layers(self.dropout(x))
        cls = torch.relu(self.pre_classifier(x[:, 0]))
        return self.classifier(self.dropout(cls))


def tiny_transformer(in_channels: int, num_classes: int, width: float, input_size: int) -> nn.Module:
    model = TinyTransformer(num_classes, seq_len=input_size, width=width)
    nn.init.normal_(model.position_embeddings, 0.0, 0.5)
    return model
