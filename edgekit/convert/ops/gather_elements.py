"""GatherElements -> one GATHER over the data flattened to single elements (``_flat_gather``).

out[i0..ik] = data[i0.., idx[i0..ik], ..ik] along ``axis``. The linear element index is
``base + idx * stride(axis)`` where ``base`` is the index with the axis coordinate 0: computed in
numpy for constant indices (BERT's position-id buffer), and as FLOOR_MOD/MUL/ADD on int32 for runtime
indices (negative indices wrap, as the spec allows).
"""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._flat_gather import gather_rows, runtime_int32, wrap_negative


def _base_and_stride(shape_data, shape_idx, axis):
    strides = np.cumprod((1, *shape_data[::-1]))[:-1][::-1]   # row-major element strides of data
    grid = np.indices(shape_idx)
    base = sum(grid[d] * strides[d] for d in range(len(shape_idx)) if d != axis)
    return np.asarray(base, np.int64), int(strides[axis])


@lowering("GatherElements", since=11)
def gather_elements(n: NodeCtx, data: Value, indices: Value, *, axis: int = 0):
    axis %= data.rank
    size = int(np.prod(data.shape))
    if size >= 2 ** 31:
        raise n.unsupported("more than 2^31 data elements (int32 indices)")
    base, stride = _base_and_stride(tuple(data.shape), tuple(indices.shape), axis)
    if indices.is_const:
        idx = np.asarray(indices.const).astype(np.int64)
        idx = np.where(idx < 0, idx + data.shape[axis], idx)
        return gather_rows(n, data, size, (base + idx * stride).astype(np.int32), indices.shape)
    idx = wrap_negative(n, runtime_int32(n, indices), data.shape[axis])
    scaled = n.op("MUL", [idx, n.const_i32([stride])], n.tensor(idx.shape, np.int32))
    linear = n.op("ADD", [scaled, n.const(base.astype(np.int32), name=f"{n.name}/base")], n.tensor(idx.shape, np.int32))
    return gather_rows(n, data, size, linear, indices.shape)
