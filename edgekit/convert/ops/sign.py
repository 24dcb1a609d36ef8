"""Sign -> SIGN (elementwise, keeps the layout). TFLite's SIGN has float32 and int32 kernels; int8/uint8/
int16 compute in int32 (-1, 0, 1 fit every narrow type), float16 in float32."""
from ._base import F32, I32, unary

unary("Sign", "SIGN", native=(F32, I32))
