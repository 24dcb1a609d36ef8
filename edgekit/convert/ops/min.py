"""Min (variadic, broadcasting) -> a chain of MINIMUM (dtypes as for Max, see ``max.py``)."""
from ._variadic import variadic
from .max import MINMAX_TYPES

variadic("Min", "MINIMUM", MINMAX_TYPES)
