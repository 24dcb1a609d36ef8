"""Mul -> MUL with numpy broadcasting; constant operands are permuted to the other operand's layout."""
from ._base import binary, options

binary("Mul", "MUL", opts=lambda: options("MulOptions"))
