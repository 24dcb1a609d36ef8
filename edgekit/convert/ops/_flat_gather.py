"""Gathers TFLite has no kernel for (GatherElements, GatherND with batch dims) as ONE GATHER of rows of
the data flattened in ONNX order: ``data`` viewed as (M, R), where the M rows are the indexed leading
elements and R the trailing elements copied whole, gathered by linear row indices. Indices known at
conversion are linearised in numpy; runtime indices are linearised with a few int32 ops. Exact: a
gather only copies values."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..ir import TTensor
from ._base import options


def gather_rows(n: NodeCtx, data: Value, rows: int, linear, out_shape) -> TTensor:
    """ONNX output 0 = rows ``linear`` (an int32 array or runtime tensor) of ``data`` viewed (rows, -1)."""
    per_row = int(np.prod(data.shape)) // rows
    table = n.reshape(n.get_flat(data), (rows, per_row))
    if isinstance(linear, np.ndarray):
        idx_shape = linear.shape
        linear = n.const(linear.astype(np.int32), name=f"{n.name}/rows")
    else:
        idx_shape = tuple(linear.shape)
    gathered = n.op("GATHER", [table, linear], n.tensor((*idx_shape, per_row), table.dtype),
                    options("GatherOptions", axis=0))
    return n.reshape(gathered, tuple(out_shape), out=n.out(0, shape=tuple(out_shape), dtype=table.dtype))


def wrap_negative(n: NodeCtx, idx: TTensor, dim: int) -> TTensor:
    """Runtime indices in [-dim, dim) -> [0, dim): FLOOR_MOD(i, dim) (int32)."""
    return n.op("FLOOR_MOD", [idx, n.const_i32([dim])], n.tensor(idx.shape, np.int32))


def runtime_int32(n: NodeCtx, v: Value) -> TTensor:
    t = n.get(v)
    if t.dtype == np.int32:
        return t
    if t.dtype != np.int64:
        raise n.unsupported(f"{t.dtype} indices (int32/int64 expected)")
    return n.op("CAST", [t], n.tensor(t.shape, np.int32))
