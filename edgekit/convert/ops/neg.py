"""Neg -> NEG (elementwise, keeps the layout)."""
from ._base import unary

unary("Neg", "NEG", float_only=False)
