"""Log -> LOG (elementwise, keeps the layout)."""
from ._base import unary

unary("Log", "LOG")
