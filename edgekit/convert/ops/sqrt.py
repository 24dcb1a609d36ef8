"""Sqrt -> SQRT (elementwise, keeps the layout)."""
from ._base import unary

unary("Sqrt", "SQRT")
