"""ReduceLogSum -> SUM then LOG (float32; float16 in float32, see ``_reduce.py``)."""
from ._base import FLOAT
from ._reduce import elementwise, reduce

reduce("ReduceLogSum", "SUM", input_since=18, post=(elementwise("LOG"),), native=FLOAT)
