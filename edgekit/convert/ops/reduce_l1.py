"""ReduceL1 -> ABS then SUM (float32/int32; narrow integers in int32, see ``_reduce.py``)."""
from ._base import F32, I32
from ._reduce import elementwise, reduce

reduce("ReduceL1", "SUM", input_since=18, pre=(elementwise("ABS"),), native=(F32, I32))
