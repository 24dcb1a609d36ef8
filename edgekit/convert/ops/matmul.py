"""MatMul -> FULLY_CONNECTED when B is a constant matrix (any rank of A: keep_num_dims), else
BATCH_MATMUL (numpy-style batch broadcasting, TFLite BATCH_MATMUL semantics). 1-D operands follow
numpy: a 1-D A is a row (1, K), a 1-D B a column (K, 1), and that axis is dropped from the result."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import FLOAT, check_dtypes, options


@lowering("MatMul", since=1)
def matmul(n: NodeCtx, a: Value, b: Value):
    check_dtypes(n, [a, b], FLOAT)
    out_shape = n.shape(0) or _matmul_shape(a.shape, b.shape)
    if a.rank == 1 or b.rank == 1:
        return _matmul_1d(n, a, b, out_shape)
    if b.is_const and b.rank == 2:
        xt = n.get(a)
        w = n.const(np.ascontiguousarray(b.const.T).astype(np.float32), name=f"{n.name}/weights")
        opts = options("FullyConnectedOptions", keepNumDims=a.rank > 2)
        # version 5 = keep_num_dims (tensorflow/lite/tools/versioning/op_version.cc)
        return n.op("FULLY_CONNECTED", [xt, w, None], n.out(0, shape=out_shape), opts, version=5 if a.rank > 2 else 1)
    at, bt = n.get(a), n.get(b, dtype=np.float32 if b.is_const else None)
    return n.op("BATCH_MATMUL", [at, bt], n.out(0, shape=out_shape), options("BatchMatMulOptions"))


def _matmul_1d(n: NodeCtx, a: Value, b: Value, out_shape):
    at = n.get(a)
    if a.rank == 1:
        at = n.reshape(at, (1, a.shape[0]))
    if b.is_const and b.rank <= 2:  # FC: weights (N, K); a 1-D B is one output unit
        w = b.const.reshape(-1, 1) if b.rank == 1 else b.const
        wt = n.const(np.ascontiguousarray(w.T).astype(np.float32), name=f"{n.name}/weights")
        opts = options("FullyConnectedOptions", keepNumDims=at.rank > 2)
        y = n.op("FULLY_CONNECTED", [at, wt, None], n.tensor((*at.shape[:-1], w.shape[1])), opts,
                 version=5 if at.rank > 2 else 1)
    else:
        bt = n.get(b)
        if b.rank == 1:
            bt = n.reshape(bt, (b.shape[0], 1))
        y = n.op("BATCH_MATMUL", [at, bt], n.tensor(_matmul_shape(at.shape, bt.shape)), options("BatchMatMulOptions"))
    return n.reshape(y, out_shape, out=n.out(0, shape=out_shape))


def _matmul_shape(a, b):
    a2 = (1, a[0]) if len(a) == 1 else tuple(a)
    b2 = (b[0], 1) if len(b) == 1 else tuple(b)
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    shape = (*batch, a2[-2], b2[-1])
    if len(b) == 1:
        shape = shape[:-1]
    if len(a) == 1:
        shape = shape[:-2] + shape[-1:] if len(b) != 1 else shape[:-1]
    return shape
