"""InstanceNormalization -> MEAN, SUB, MUL(d, d), MEAN, ADD(eps), RSQRT, MUL, MUL(scale), ADD(bias).

Per (batch, channel) statistics over the spatial axes, the same exact two-pass formula as
``layer_normalization.py`` (TFLite has no instance-norm builtin; var = mean((x - mean)^2), no
E[x^2] - E[x]^2 cancellation). Works in the input's layout (NHWC after a conv: the reduced axes are
the physical H, W); the per-channel scale/bias are shaped and permuted like the input (a RESHAPE when they are
runtime tensors).
wav2vec2's feature encoder uses it (GroupNorm with one group per channel exports this way).
"""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._axes import physical
from ._base import FLOAT, check_dtypes, options


@lowering("InstanceNormalization", since=1)
def instance_normalization(n: NodeCtx, x: Value, scale: Value, bias: Value, *, epsilon: float = 1e-5):
    check_dtypes(n, [x], FLOAT)
    if x.rank < 3:
        raise n.unsupported(f"rank {x.rank} input (N, C, spatial... expected)")
    t, perm = n.get_as_is(x)
    axes = n.const_i32(physical(range(2, x.rank), perm))
    keep = options("ReducerOptions", keepDims=True)
    reduced = [x.shape[p] if p < 2 else 1 for p in perm]

    def op(code, ins, shape=t.shape, opts=None, out=None):
        return n.op(code, ins, out or n.tensor(shape), opts)

    mean = op("MEAN", [t, axes], reduced, keep)
    d = op("SUB", [t, mean], opts=options("SubOptions"))
    var = op("MEAN", [op("MUL", [d, d], opts=options("MulOptions")), axes], reduced, keep)
    inv = op("RSQRT", [op("ADD", [var, n.const(np.array(epsilon, np.float32))], reduced, options("AddOptions"))],
             reduced)
    y = op("MUL", [d, inv], opts=options("MulOptions"))
    channel = (1, x.shape[1]) + (1,) * (x.rank - 2)   # logical (1, C, 1, ...), then the input's layout

    def per_channel(v: Value, name: str):
        if v.is_const:
            return n.const(np.transpose(np.asarray(v.const, np.float32).reshape(channel), perm), name=f"{n.name}/{name}")
        return n.reshape(n.get(v), tuple(channel[p] for p in perm))   # one non-1 axis: the permute is a reshape

    y = op("MUL", [y, per_channel(scale, "scale")], opts=options("MulOptions"))
    return op("ADD", [y, per_channel(bias, "bias")], opts=options("AddOptions"), out=n.out(0, perm, shape=x.shape))
