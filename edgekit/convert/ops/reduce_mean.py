"""ReduceMean -> MEAN (see ``_reduce.py`` for axes, keepdims and layout)."""
from ._reduce import reduce

reduce("ReduceMean", "MEAN", input_since=18)
