"""GreaterOrEqual -> GREATER_EQUAL (broadcasting, bool output; see ``_compare.py``)."""
from ._compare import compare

compare("GreaterOrEqual", "GREATER_EQUAL")
