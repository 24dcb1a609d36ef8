"""ReduceSum -> SUM (see ``_reduce.py`` for axes, keepdims and layout)."""
from ._reduce import reduce

reduce("ReduceSum", "SUM", input_since=13)
