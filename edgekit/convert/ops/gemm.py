"""Gemm -> FULLY_CONNECTED (weights [N, K], alpha folded into them, beta*C into the bias).

A non-constant or full [M, N] C becomes an ADD after the FC.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import FLOAT, broadcast_operand, check_dtypes, options


@lowering("Gemm", since=1)
def gemm(n: NodeCtx, a: Value, b: Value, c: Optional[Value] = None, *, alpha: float = 1.0, beta: float = 1.0,
         transA: int = 0, transB: int = 0, broadcast: int = 0):
    check_dtypes(n, [a, b, c], FLOAT)
    if not b.is_const:
        raise n.unsupported("B must be a constant (weights)")
    xt = n.get(a)
    if transA:
        xt = n.transpose(xt, (1, 0))
    w = (b.const if transB else b.const.T) * np.float32(alpha)
    units = w.shape[0]
    bias, add_c = None, None
    if c is not None and c.is_const and c.const.size in (1, units) and (c.const.ndim < 2 or c.const.shape[0] == 1):
        bias = n.const(np.broadcast_to(c.const.reshape(-1) * np.float32(beta), (units,)).astype(np.float32),
                       name=f"{n.name}/bias")
    elif c is not None:
        add_c = c
    out_shape = (xt.shape[0], units)
    fc_out = n.out(0, shape=out_shape) if add_c is None else n.tensor(out_shape)
    y = n.op("FULLY_CONNECTED", [xt, n.const(w.astype(np.float32), name=f"{n.name}/weights"), bias], fc_out,
             options("FullyConnectedOptions"))
    if add_c is None:
        return y
    ct = broadcast_operand(n, add_c, 2, (0, 1), np.float32)
    if beta != 1.0:
        ct = n.op("MUL", [ct, n.const(np.array(beta, np.float32))], n.tensor(ct.shape), options("MulOptions"))
    return n.op("ADD", [y, ct], n.out(0, shape=out_shape), options("AddOptions"))
