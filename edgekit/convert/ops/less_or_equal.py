"""LessOrEqual -> LESS_EQUAL (broadcasting, bool output; see ``_compare.py``)."""
from ._compare import compare

compare("LessOrEqual", "LESS_EQUAL")
