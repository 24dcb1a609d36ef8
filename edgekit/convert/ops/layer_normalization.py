"""LayerNormalization (opset 17) -> MEAN, SUB, MUL(d, d), MEAN, ADD(eps), RSQRT, MUL, MUL(scale), ADD(bias).

TFLite has no layer-norm builtin; this is the exact two-pass formula of the ONNX spec
(var = mean((x - mean)^2), no E[x^2] - E[x]^2 cancellation). Works in the input's layout (the
normalised axes are remapped; scale/bias are broadcast and permuted like the input).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._axes import physical
from ._base import broadcast_operand, options


@lowering("LayerNormalization", since=1)
def layer_normalization(n: NodeCtx, x: Value, scale: Value, bias: Optional[Value] = None, *, axis: int = -1,
                        epsilon: float = 1e-5, stash_type: int = 1):
    axis %= x.rank
    t, perm = n.get_as_is(x)
    if t.dtype != np.float32:
        raise n.unsupported(f"input dtype {t.dtype} (float32 only)")
    axes = n.const_i32(physical(range(axis, x.rank), perm))
    keep = options("ReducerOptions", keepDims=True)
    reduced = [1 if p >= axis else x.shape[p] for p in perm]

    def op(code, ins, shape=t.shape, opts=None):
        return n.op(code, ins, n.tensor(shape), opts)

    stats = [i for i in (1, 2) if len(n.node.outputs) > i and n.node.outputs[i]]   # Mean / InvStdDev outputs
    logical_reduced = [1 if a >= axis else d for a, d in enumerate(x.shape)]
    stat_out = {i: n.out(i, perm, shape=logical_reduced) for i in stats}
    mean = n.op("MEAN", [t, axes], stat_out.get(1) or n.tensor(reduced), keep)
    d = op("SUB", [t, mean], opts=options("SubOptions"))
    var = op("MEAN", [op("MUL", [d, d], opts=options("MulOptions")), axes], reduced, keep)
    eps = op("ADD", [var, n.const(np.array(epsilon, np.float32))], reduced, options("AddOptions"))
    inv = n.op("RSQRT", [eps], stat_out.get(2) or n.tensor(reduced))
    last = bias is None
    y = n.op("MUL", [d, inv], n.out(0, perm, shape=x.shape) if last and _is_one(scale) else n.tensor(t.shape),
             options("MulOptions"))
    if not _is_one(scale):
        g = broadcast_operand(n, scale, x.rank, perm, np.float32)
        y = n.op("MUL", [y, g], n.out(0, perm, shape=x.shape) if last else n.tensor(t.shape), options("MulOptions"))
    if not last:
        b = broadcast_operand(n, bias, x.rank, perm, np.float32)
        y = n.op("ADD", [y, b], n.out(0, perm, shape=x.shape), options("AddOptions"))
    # outputs by position; an omitted one (empty name) is skipped by the driver whatever it gets
    return [y] + [stat_out.get(i, y) for i in range(1, len(n.node.outputs))]


def _is_one(v: Value) -> bool:
    return v.is_const and bool(np.all(v.const == 1))
