"""Add -> ADD with numpy broadcasting (TFLite ADD broadcasts up to 6-D)."""
from ._base import binary, options

binary("Add", "ADD", opts=lambda: options("AddOptions"))
