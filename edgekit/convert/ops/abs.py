"""Abs -> ABS (elementwise, keeps the layout)."""
from ._base import unary

unary("Abs", "ABS", float_only=False)
