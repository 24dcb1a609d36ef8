"""ArgMax / ArgMin -> ARG_MAX / ARG_MIN on the axis as carried (int64 output; keepdims=1 adds one RESHAPE).

TFLite's kernels return the first index of the extreme value, as ONNX does by default;
``select_last_index=1`` reverses the axis first (REVERSE_V2) and maps the index i back to size-1-i.
Operand dtypes: plain float32/int32/int64 kernels; narrow integers compare in int32 and float16 in
float32 (order preserved, so the index is the same)."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._axes import drop_axes
from ._base import F32, I32, I64, as_dtype, options, work_dtype


def arg_extreme(n: NodeCtx, x: Value, opcode: str, axis: int, keepdims: int, select_last_index: int):
    work = work_dtype(n, x.dtype, (F32, I32, I64), opcode)
    t, perm = n.get_as_is(x)
    axis %= x.rank
    pax = perm.index(axis)
    t = as_dtype(n, t, work)
    if select_last_index:
        t = n.op("REVERSE_V2", [t, n.const_i32([pax])], n.tensor(t.shape, work))
    kept = [d for i, d in enumerate(t.shape) if i != pax]
    logical = [1 if a == axis else d for a, d in enumerate(x.shape)] if keepdims else \
        [d for a, d in enumerate(x.shape) if a != axis]
    out_perm = perm if keepdims else drop_axes(perm, [axis])
    last = not select_last_index and not keepdims
    dst = n.out(0, out_perm, shape=logical, dtype=np.int64) if last else n.tensor(kept, np.int64)
    name = "ArgMaxOptions" if opcode == "ARG_MAX" else "ArgMinOptions"
    from ai_edge_litert import schema_py_generated as fb

    idx = n.op(opcode, [t, n.const_i32([pax])], dst, options(name, outputType=fb.TensorType.INT64))
    if select_last_index:
        dst = n.out(0, out_perm, shape=logical, dtype=np.int64) if not keepdims else n.tensor(kept, np.int64)
        idx = n.op("SUB", [n.const(np.array(x.shape[axis] - 1, np.int64)), idx], dst, options("SubOptions"))
    if keepdims:
        idx = n.reshape(idx, [1 if i == pax else d for i, d in enumerate(t.shape)],
                        out=n.out(0, out_perm, shape=logical, dtype=np.int64))
    return idx


@lowering("ArgMax", since=1)
def arg_max(n: NodeCtx, x: Value, *, axis: int = 0, keepdims: int = 1, select_last_index: int = 0):
    return arg_extreme(n, x, "ARG_MAX", axis, keepdims, select_last_index)


@lowering("ArgMin", since=1)
def arg_min(n: NodeCtx, x: Value, *, axis: int = 0, keepdims: int = 1, select_last_index: int = 0):
    return arg_extreme(n, x, "ARG_MIN", axis, keepdims, select_last_index)
