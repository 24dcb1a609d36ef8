"""HardSigmoid -> MUL, ADD(fused RELU6), MUL: max(0, min(1, a*x + b)) = relu6(6a*x + 6b) / 6."""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._base import FLOAT, activation, check_dtypes, options


@lowering("HardSigmoid", since=1)
def hard_sigmoid(n: NodeCtx, x: Value, *, alpha: float = 0.2, beta: float = 0.5):
    check_dtypes(n, [x], FLOAT)
    t, perm = n.get_as_is(x)
    scaled = n.op("MUL", [t, n.const(np.array(6.0 * alpha, np.float32))], n.tensor(t.shape),
                  options("MulOptions"))
    clipped = n.op("ADD", [scaled, n.const(np.array(6.0 * beta, np.float32))], n.tensor(t.shape),
                   options("AddOptions", fusedActivationFunction=activation("RELU6")))
    return n.op("MUL", [clipped, n.const(np.array(1.0 / 6.0, np.float32))], n.out(0, perm, shape=x.shape),
                options("MulOptions"))
