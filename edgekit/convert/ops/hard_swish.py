"""HardSwish -> HARD_SWISH: both are x * relu6(x + 3) / 6 (ONNX alpha=1/6, beta=0.5).

Registered from opset 1 although ONNX added HardSwish in opset 14: ``prepare.fuse_hard_swish``
creates HardSwish nodes from torch's older Mul(x, HardSigmoid(x)) export in any opset.
"""
from ._base import unary

unary("HardSwish", "HARD_SWISH", since=1)
