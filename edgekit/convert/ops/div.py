"""Div -> DIV with numpy broadcasting (float32 only: ONNX integer Div truncates, TFLite's int32 DIV
floors, so integer division is left unsupported rather than silently different for negatives)."""
from ._base import FLOAT, binary, options

binary("Div", "DIV", opts=lambda: options("DivOptions"), dtypes=FLOAT)
