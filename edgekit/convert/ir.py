"""The TFLite-side intermediate form that lowerings produce and the writer serializes.

Lowerings create ``TTensor``s and ``TOp``s; passes (activation fusion, transpose cancelling,
fp16) rewrite lists of them; ``writer.py`` turns them into a flatbuffer. Keeping this tiny layer
between the lowerings and the generated schema classes means lowerings never deal with buffer
indices, opcode tables or option-union type tags.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

Perm = tuple[int, ...]
"""A layout: ``physical = np.transpose(logical, perm)``. The identity perm is the ONNX layout."""

_ids = itertools.count()


def identity(rank: int) -> Perm:
    return tuple(range(rank))


def channels_last(rank: int) -> Perm:
    """NCHW -> NHWC (and NCW -> NWC, NCDHW -> NDHWC): the layout TFLite kernels use."""
    return (0, *range(2, rank), 1) if rank >= 3 else identity(rank)


def inverse(perm: Perm) -> Perm:
    return tuple(int(i) for i in np.argsort(perm))


def relative(src: Perm, dst: Perm) -> Perm:
    """The TRANSPOSE perm that turns data carried in ``src`` into data carried in ``dst``."""
    return tuple(src.index(d) for d in dst)


def permute_axis(axis: int, perm: Perm) -> int:
    """Where logical ``axis`` sits physically in a tensor carried in ``perm``."""
    return perm.index(axis)


@dataclass(eq=False)
class TTensor:
    """One TFLite tensor. ``data`` is set for constants (weights); ``shape`` is physical."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    data: Optional[np.ndarray] = None
    uid: int = field(default_factory=lambda: next(_ids))

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        self.dtype = np.dtype(self.dtype)
        if self.data is not None:
            self.data = np.array(self.data, dtype=self.dtype, order="C", copy=None)  # keeps 0-d scalars 0-d
            if self.data.shape != self.shape:
                raise ValueError(f"tensor {self.name}: data shape {self.data.shape} != shape {self.shape}")

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def rank(self) -> int:
        return len(self.shape)

    def __repr__(self) -> str:
        kind = "const" if self.is_const else "tensor"
        return f"<{kind} {self.name} {self.shape} {self.dtype}>"


@dataclass(eq=False)
class TOp:
    """One TFLite operator: a ``BuiltinOperator`` name, tensors in and out, a ``*OptionsT`` object.

    ``None`` in ``inputs`` marks an omitted optional input (written as -1).
    """

    opcode: str
    inputs: list[Optional[TTensor]]
    outputs: list[TTensor]
    options: Any = None
    version: int = 1

    def __repr__(self) -> str:
        ins = ", ".join(t.name if t is not None else "-" for t in self.inputs)
        return f"<{self.opcode}({ins}) -> {', '.join(t.name for t in self.outputs)}>"


@dataclass
class TModel:
    """A whole lowered graph: what the writer needs, nothing else."""

    ops: list[TOp]
    inputs: list[TTensor]
    outputs: list[TTensor]
    metadata: dict[str, bytes] = field(default_factory=dict)
    description: str = "edgekit"

    def consumers(self) -> dict[int, list[TOp]]:
        """tensor uid -> the ops reading it (recomputed on demand: passes rewrite the op list)."""
        out: dict[int, list[TOp]] = {}
        for op in self.ops:
            for t in op.inputs:
                if t is not None:
                    out.setdefault(t.uid, []).append(op)
        return out

    def producers(self) -> dict[int, TOp]:
        return {t.uid: op for op in self.ops for t in op.outputs}

    def op_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for op in self.ops:
            counts[op.opcode] = counts.get(op.opcode, 0) + 1
        return counts


def shape_of(perm: Perm, logical: Sequence[int]) -> tuple[int, ...]:
    """Physical shape of a logical shape carried in ``perm``."""
    return tuple(int(logical[p]) for p in perm)
