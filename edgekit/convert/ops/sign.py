"""Sign -> SIGN (elementwise, keeps the layout)."""
from ._base import unary

unary("Sign", "SIGN")
