"""Xor -> NOT_EQUAL on bools (a xor b is a != b; broadcasting, bool output; see ``_compare.py``)."""
from ._compare import compare

compare("Xor", "NOT_EQUAL")
