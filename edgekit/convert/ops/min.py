"""Min (variadic, broadcasting) -> a chain of MINIMUM."""
from ._variadic import variadic

variadic("Min", "MINIMUM")
