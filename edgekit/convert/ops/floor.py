"""Floor -> FLOOR (elementwise, keeps the layout)."""
from ._base import unary

unary("Floor", "FLOOR")
