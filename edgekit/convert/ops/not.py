"""Not -> LOGICAL_NOT (bool, elementwise, keeps the layout)."""
from ._base import BOOL, unary

unary("Not", "LOGICAL_NOT", native=(BOOL,))
