"""Cos -> COS (elementwise, keeps the layout)."""
from ._base import unary

unary("Cos", "COS")
