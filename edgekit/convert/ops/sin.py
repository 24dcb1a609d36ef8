"""Sin -> SIN (elementwise, keeps the layout)."""
from ._base import unary

unary("Sin", "SIN")
