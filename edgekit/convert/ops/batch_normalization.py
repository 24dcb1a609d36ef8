"""BatchNormalization (inference) that could not be folded into a Conv/Gemm -> MUL + ADD with
per-channel constants, in the input's layout (so it stays in an NHWC chain)."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import FLOAT, check_dtypes, options


@lowering("BatchNormalization", since=1, ignore=("momentum", "is_test", "consumed_inputs"))
def batch_norm(n: NodeCtx, x: Value, scale: Value, bias: Value, mean: Value, var: Value, *,
               epsilon: float = 1e-5, training_mode: int = 0, spatial: int = 1):
    check_dtypes(n, [x, scale, bias, mean, var], FLOAT)
    if training_mode or len([o for o in n.node.outputs if o]) > 1:
        raise n.unsupported("training mode (running statistics outputs)")
    if not spatial:
        raise n.unsupported("spatial=0 (per-activation statistics, opset < 9)")
    if not all(v.is_const for v in (scale, bias, mean, var)):
        raise n.unsupported("scale, bias, mean and var must be constants")
    s = scale.const.astype(np.float64) / np.sqrt(var.const.astype(np.float64) + epsilon)
    shift = bias.const - mean.const * s
    t, perm = n.get_as_is(x)
    # per-channel constants shaped (C, 1, ..., 1) against axis 1, then carried like x
    shape = [1] * x.rank
    shape[1] = x.shape[1]
    mul_c = np.transpose(s.reshape(shape), perm).astype(np.float32)
    add_c = np.transpose(shift.reshape(shape), perm).astype(np.float32)
    scaled = n.op("MUL", [t, n.const(mul_c, name=f"{n.name}/scale")], n.tensor(t.shape), options("MulOptions"))
    return n.op("ADD", [scaled, n.const(add_c, name=f"{n.name}/shift")], n.out(0, perm, shape=x.shape),
                options("AddOptions"))
