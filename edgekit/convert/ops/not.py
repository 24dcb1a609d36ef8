"""Not -> LOGICAL_NOT (elementwise on bool, keeps the layout)."""
from ._base import unary

unary("Not", "LOGICAL_NOT", float_only=False)
