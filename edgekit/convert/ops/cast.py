"""Cast -> CAST (float32/int32/int64/bool/uint8/...); a cast to the dtype the value already has is
no op. Float -> int truncates toward zero in both ONNX and TFLite's CAST (static_cast)."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering


# TFLite CAST kernel types edgekit's models compute in (float16 is a weight-storage option only)
_TYPES = {"float32", "int8", "int16", "int32", "int64", "uint8", "bool"}


@lowering("Cast", since=1, ignore=("saturate", "round_mode"))
def cast(n: NodeCtx, x: Value, *, to: int = 1):
    from onnx import helper

    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(to))
    t, perm = n.get_as_is(x)
    if dtype == t.dtype:
        return t
    if dtype.name not in _TYPES:
        raise n.unsupported(f"a cast to {dtype} (supported: {', '.join(sorted(_TYPES))})")
    return n.op("CAST", [t], n.out(0, perm, shape=x.shape, dtype=dtype))
