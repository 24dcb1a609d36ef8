"""GatherND -> GATHER_ND, or one GATHER of rows (``_flat_gather``).

* constant indices (the dynamo exporter's attention-mask indexing), any ``batch_dims``: the linear row
  of every index tuple is computed in numpy and one GATHER reads rows of the data flattened to
  (prod(batch + indexed dims), rest);
* runtime indices, ``batch_dims`` 0: TFLite's GATHER_ND (same semantics, int32 indices); negative
  runtime indices are refused by TFLite's bounds check, exporters do not produce them;
* runtime indices with ``batch_dims`` > 0 (GATHER_ND has none): the row is
  ``base(batch coords) + sum_j idx_j * stride_j``, with MUL, SUM and ADD on int32, then one GATHER.
"""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import options
from ._flat_gather import gather_rows, runtime_int32


@lowering("GatherND", since=11)   # batch_dims arrived in 12 with default 0: one function
def gather_nd(n: NodeCtx, data: Value, indices: Value, *, batch_dims: int = 0):
    k = indices.shape[-1]
    lead = data.shape[:batch_dims + k]                      # dims addressed by batch + index tuple
    out_shape = (*indices.shape[:-1], *data.shape[batch_dims + k:])
    if indices.is_const:
        idx = np.asarray(indices.const).astype(np.int64)
        idx = np.where(idx < 0, idx + np.asarray(data.shape[batch_dims:batch_dims + k]), idx)
        batch = np.indices(indices.shape[:batch_dims]) if batch_dims else np.zeros((0,), np.int64)
        coords = [np.broadcast_to(batch[d].reshape(batch[d].shape + (1,) * (idx.ndim - 1 - batch_dims)),
                                  idx.shape[:-1]) for d in range(batch_dims)]
        coords += [idx[..., j] for j in range(k)]
        linear = np.ravel_multi_index(coords, lead) if coords else np.zeros(idx.shape[:-1], np.int64)
        return gather_rows(n, data, int(np.prod(lead)), np.asarray(linear, np.int32), out_shape)
    idx = runtime_int32(n, indices)
    if not batch_dims:
        return n.op("GATHER_ND", [n.get(data), idx], n.out(0, shape=out_shape))
    strides = np.cumprod((1, *lead[::-1]))[:-1][::-1]          # row strides of the (lead) grid
    batch = np.indices(indices.shape[:batch_dims])
    base = sum(batch[d].reshape(batch[d].shape + (1,) * (indices.rank - 1 - batch_dims)) * strides[d]
               for d in range(batch_dims))
    base = np.broadcast_to(base, indices.shape[:-1]).astype(np.int32)
    scaled = n.op("MUL", [idx, n.const_i32(strides[batch_dims:])], n.tensor(idx.shape, np.int32))
    summed = n.op("SUM", [scaled, n.const_i32([indices.rank - 1])], n.tensor(indices.shape[:-1], np.int32),
                  options("ReducerOptions", keepDims=False))
    linear = n.op("ADD", [summed, n.const(base, name=f"{n.name}/base")], n.tensor(indices.shape[:-1], np.int32))
    return gather_rows(n, data, int(np.prod(lead)), linear, out_shape)
