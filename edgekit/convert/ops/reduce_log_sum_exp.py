"""ReduceLogSumExp -> EXP, SUM, LOG: the ONNX function body (and reference) as written, so it overflows
where they do (exp(x) > 3.4e38 in float32); float16 computes in float32 (see ``_reduce.py``)."""
from ._base import FLOAT
from ._reduce import elementwise, reduce

reduce("ReduceLogSumExp", "SUM", input_since=18, pre=(elementwise("EXP"),), post=(elementwise("LOG"),),
       native=FLOAT)
