"""Less -> LESS (broadcasting, bool output; see ``_compare.py``)."""
from ._compare import compare

compare("Less", "LESS")
