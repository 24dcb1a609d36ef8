"""Sum (variadic, broadcasting) -> a chain of ADD in the common layout (float32/int32/int64 kernels;
narrow integers add in int32 and float16 in float32, see ``_variadic.py``)."""
from ._base import FLOAT_INT, options
from ._variadic import variadic

variadic("Sum", "ADD", FLOAT_INT, options=lambda: options("AddOptions"))
