"""Greater -> GREATER (broadcasting, bool output; see ``_compare.py``)."""
from ._compare import compare

compare("Greater", "GREATER")
