"""Sub -> SUB with numpy broadcasting; constant operands are permuted to the other operand's layout."""
from ._base import binary, options

binary("Sub", "SUB", opts=lambda: options("SubOptions"))
