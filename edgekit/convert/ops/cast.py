"""Cast -> CAST; a cast to the dtype the value already has is no op.

LiteRT's CAST kernel (tflite/kernels/cast.cc) converts between every pair of float32, float16, bfloat16,
float64, int8, uint8, int16, uint16, int32, uint32, int64 and bool (each pair run in
tests/convert/test_cast.py). Values in range convert as in ONNX: float -> int truncates toward zero
(static_cast), float -> float16/bfloat16 rounds to nearest even. Out-of-range float -> int values
saturate, where ONNX leaves the result undefined. uint64 (no CAST kernel), int4/int2, float8/float4 and
strings (no TFLite tensor type edgekit writes) are refused naming the type. ``saturate`` only concerns
float8 targets (refused) and ``round_mode`` only float8/float4 ones: both are accepted and unused."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering

_TYPES = {"float32", "float16", "bfloat16", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32",
          "int64", "bool"}
_FIX = "keep the cast's input and target float32, float16, bfloat16, float64, int8-64, uint8-32 or bool"


def _name(dtype: np.dtype) -> str:
    return "string" if dtype.kind in "OSU" else dtype.name


@lowering("Cast", since=1, ignore=("saturate", "round_mode"))
def cast(n: NodeCtx, x: Value, *, to: int = 1):
    from onnx import helper

    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(to))
    for what, d in (("input", np.dtype(x.dtype)), ("target", dtype)):
        if _name(d) not in _TYPES:
            raise n.unsupported(f"the {what} type is {_name(d)}: LiteRT's CAST converts between "
                                f"{', '.join(sorted(_TYPES))}", fix=_FIX)
    t, perm = n.get_as_is(x)
    if dtype == t.dtype:
        return t
    return n.op("CAST", [t], n.out(0, perm, shape=x.shape, dtype=dtype))


@lowering("CastLike", since=15, ignore=("saturate", "round_mode"))
def cast_like(n: NodeCtx, x: Value, target: Value):
    """CastLike -> Cast to ``target``'s dtype (only its type matters, never its values)."""
    from onnx import helper

    return cast(n, x, to=helper.np_dtype_to_tensor_dtype(np.dtype(target.dtype)))
