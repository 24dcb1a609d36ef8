"""Exp -> EXP (elementwise, keeps the layout)."""
from ._base import unary

unary("Exp", "EXP")
