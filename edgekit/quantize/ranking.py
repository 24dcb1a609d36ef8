"""SQNR and the sensitivity ranking shared by every backend.

A backend measures ``LayerError`` rows its own way (onnxruntime with every intermediate tensor as an
output, LiteRT with every tensor preserved); ranking them and choosing what to keep float is the same.
"""
from __future__ import annotations

import math

from .result import LayerError

CAP_DB = 100.0  # SQNR of an exact tensor (graph input, unquantized path): finite so deltas stay comparable


def db(signal: float, noise: float) -> float:
    """10 log10(signal / noise), capped at +-CAP_DB."""
    if noise <= 0:
        return CAP_DB
    if signal <= 0:
        return -CAP_DB
    return max(-CAP_DB, min(CAP_DB, 10.0 * math.log10(signal / noise)))


def sqnr(reference, value) -> float:
    """SQNR in dB of ``value`` against ``reference`` (any array-likes of one shape)."""
    import numpy as np

    f = np.asarray(reference, np.float64)
    q = np.asarray(value, np.float64)
    return db(float(np.sum(f * f)), float(np.sum((f - q) ** 2)))


def rank(rows: list[LayerError]) -> list[LayerError]:
    """Most sensitive first: the largest SQNR lost across the layer."""
    return sorted(rows, key=lambda r: -r.delta_db)


def candidates(rows: list[LayerError], fallback_ops, already=()) -> list[tuple[str, ...]]:
    """Groups of layer names to keep float, most sensitive first: layers of ``fallback_ops`` that lose SQNR.

    Pure data movement (Reshape, Transpose, ...) is never a candidate: it gains nothing from staying float.
    """
    skip = set(already)
    out = []
    for r in rank(rows):
        group = tuple(g for g in (r.group or (r.node,)) if g not in skip)
        if group and r.delta_db > 0 and any(op in fallback_ops for op in r.op_type.split("+")):
            out.append(group)
    return out


def schedule(n: int):
    """How many of the ranked layers to keep float at each step: 1, 2, 3, 4, 6, 9, ... up to all."""
    k = 1
    while k < n:
        yield k
        k = max(k + 1, int(k * 1.5))
    if n:
        yield n
