"""ReduceProd -> REDUCE_PROD (see ``_reduce.py`` for axes, keepdims and layout)."""
from ._reduce import reduce

reduce("ReduceProd", "REDUCE_PROD", input_since=18)
