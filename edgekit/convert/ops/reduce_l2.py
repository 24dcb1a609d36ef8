"""ReduceL2 -> MUL(x, x), SUM, SQRT (float32; float16 in float32, see ``_reduce.py``)."""
from ._base import FLOAT
from ._reduce import elementwise, reduce

reduce("ReduceL2", "SUM", input_since=18, pre=(elementwise("MUL", square=True),), post=(elementwise("SQRT"),),
       native=FLOAT)
