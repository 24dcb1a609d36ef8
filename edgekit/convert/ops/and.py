"""And -> LOGICAL_AND (broadcasting, bool output; see ``_compare.py``)."""
from ._compare import compare

compare("And", "LOGICAL_AND")
