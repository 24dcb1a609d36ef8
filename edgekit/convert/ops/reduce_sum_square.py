"""ReduceSumSquare -> MUL(x, x) then SUM (its ONNX function body; see ``_reduce.py`` for axes and dtypes)."""
from ._reduce import elementwise, reduce

reduce("ReduceSumSquare", "SUM", input_since=18, pre=(elementwise("MUL", square=True),))
