"""ReduceMax -> REDUCE_MAX (see ``_reduce.py`` for axes, keepdims and layout)."""
from ._reduce import reduce

reduce("ReduceMax", "REDUCE_MAX", input_since=18)
