"""Dropout (inference) -> nothing: output 0 is the input, the optional mask output is a constant:
all True from opset 12 (the spec: at inference no element is dropped); before opset 12 the spec
leaves the inference mask undefined and onnxruntime writes all False (its IdentityOp zeroes it), so
that is what edgekit writes too. ``seed``/``ratio``/``is_test`` do not matter
then. ``training_mode`` (opset 12 input) must be a constant: True is random dropping, refused,
except with ratio 0, where training mode drops nothing either (onnx's reference gives the same).
An unused mask never gets here: ``prepare.remove_passthrough`` drops the node.
"""
import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering


@lowering("Dropout", since=1, ignore=("seed", "ratio", "is_test", "consumed_inputs"))
def dropout(n: NodeCtx, x: Value, ratio: Value = None, training_mode: Value = None):
    if training_mode is not None:
        if not training_mode.is_const:
            raise n.unsupported("a runtime training_mode input (make it a constant False for inference)")
        rate = 0.5 if ratio is None else (float(np.asarray(ratio.const)) if ratio.is_const else None)
        if bool(np.asarray(training_mode.const)) and rate != 0.0:
            raise n.unsupported("training_mode=1 (random dropping has no inference meaning; export in eval mode)")
    t, _ = n.get_as_is(x)
    outputs = [t]
    if len(n.node.outputs) > 1 and n.node.outputs[1]:
        mask = np.full(tuple(x.shape), n.opset >= 12, np.bool_)
        outputs.append(n.const(mask, name=f"{n.name}/mask"))
    return outputs
