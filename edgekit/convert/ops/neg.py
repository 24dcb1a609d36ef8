"""Neg -> NEG (elementwise, keeps the layout); int8/int16 compute in int32 (see ``_base.work_dtype``:
-(-128) wraps to -128 after the narrowing CAST, as in numpy)."""
from ._base import F32, I32, I64, unary

unary("Neg", "NEG", native=(F32, I32, I64))
