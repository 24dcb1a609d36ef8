"""ReduceMin -> REDUCE_MIN (see ``_reduce.py`` for axes, keepdims and layout)."""
from ._reduce import reduce

reduce("ReduceMin", "REDUCE_MIN", input_since=18)
