"""Axis helpers for layout-aware ops (Concat, Split, Slice, Reduce*, Squeeze, Gather, Softmax...).

A value carried in layout ``perm`` has logical axis ``a`` at physical position ``perm.index(a)``
(``ir.permute_axis``). Ops that remove axes keep the remaining axes in the same physical order.
"""
from __future__ import annotations

from typing import Iterable, Optional, Sequence

import numpy as np

from ..context import NodeCtx, Value
from ..ir import Perm


def norm_axes(axes: Iterable[int], rank: int) -> tuple[int, ...]:
    """Axes made non-negative (ONNX allows -rank..rank-1), sorted, without duplicates."""
    return tuple(sorted({int(a) % rank for a in axes})) if rank else ()


def const_ints(n: NodeCtx, v: Optional[Value], what: str) -> Optional[tuple[int, ...]]:
    """A constant integer input (axes, split sizes, pads...) as a tuple; None when omitted."""
    if v is None:
        return None
    if not v.is_const:
        raise n.unsupported(f"the {what} input is computed at run time (it did not fold to a constant)")
    return tuple(int(d) for d in np.asarray(v.const).reshape(-1))


def drop_axes(perm: Perm, axes: Sequence[int]) -> Perm:
    """The layout left after removing logical ``axes`` from a value carried in ``perm``
    (remaining axes keep their physical order, renumbered)."""
    gone = set(axes)
    return tuple(a - sum(g < a for g in gone) for a in perm if a not in gone)


def physical(axes: Sequence[int], perm: Perm) -> list[int]:
    """Physical positions of logical ``axes`` in a value carried in ``perm``."""
    return sorted(perm.index(a) for a in axes)
