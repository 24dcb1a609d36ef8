"""Max (variadic, broadcasting) -> a chain of MAXIMUM."""
from ._variadic import variadic

variadic("Max", "MAXIMUM")
