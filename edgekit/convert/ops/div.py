"""Div -> DIV with numpy broadcasting.

TFLite's DIV has plain float32 and int32 kernels; its int32 DIV truncates toward zero like ONNX integer
Div (-7 / 2 = -3; tests/convert/test_int_dtypes.py runs it), so int32 is exact, and int8/uint8/int16/
uint16 compute in int32 (``_base.work_dtype``: the quotient of narrow values is exact in int32 and cast
back). int64/uint32/uint64 have no DIV kernel nor an exact wider type: refused."""
from ._base import F32, I32, binary, options

binary("Div", "DIV", opts=lambda: options("DivOptions"), dtypes=(F32, I32))
