"""Ceil -> CEIL (elementwise, keeps the layout)."""
from ._base import unary

unary("Ceil", "CEIL")
