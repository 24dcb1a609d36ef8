"""Max (variadic, broadcasting) -> a chain of MAXIMUM. TFLite's MAXIMUM is a plain kernel for float32,
int8, uint8, int16, int32 and int64 (no scales involved); uint16/uint32 compare in int32/int64 and
float16 in float32 (exact: the result is one of the operands)."""
from ._base import F32, I8, I16, I32, I64, U8
from ._variadic import variadic

MINMAX_TYPES = (F32, I8, U8, I16, I32, I64)
variadic("Max", "MAXIMUM", MINMAX_TYPES)
