"""Or -> LOGICAL_OR (broadcasting, bool output; see ``_compare.py``)."""
from ._compare import compare

compare("Or", "LOGICAL_OR")
