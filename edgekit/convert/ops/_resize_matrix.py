"""Resize modes TFLite has no kernel for (cubic, antialiased linear/cubic) as matrix products.

Every ONNX Resize mode except nearest is linear in the input and separable by axis (the spec
defines N-D resizing as 1-D interpolations one axis after another), so resizing one axis of size
``in`` to ``out`` is ``y = W @ x`` along that axis with a constant (out, in) matrix ``W``. ``W`` is
computed here by running onnx's reference Resize (public ``ReferenceEvaluator``) on the identity
matrix with the node's own attributes (coordinate transform, cubic_coeff_a, exclude_outside,
antialias), so it is the spec's interpolation by construction, boundary handling included. The
lowering is one FULLY_CONNECTED (axis physically last) or BATCH_MATMUL (any other axis, the tensor
viewed as (before, in, after)) per resized axis, in the layout the input is carried in. Exact up to
float32 summation order (each output is a sum of a few weighted inputs).
Cost: ``W`` is dense (out x in floats per axis: 448 x 224 = 392 KB) and the product does out x in
multiply-adds per row instead of 4; fine for the feature-map sizes models resize.
"""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ._base import options


def resize_matrix(in_size: int, out_size: int, scale, attrs: dict, opset: int, by_sizes: bool) -> np.ndarray:
    """(out, in) float32 interpolation matrix of one axis, from onnx's reference Resize."""
    from onnx import TensorProto, helper
    from onnx.reference import ReferenceEvaluator

    inputs = ["x", "", "", "sizes"] if by_sizes else ["x", "", "scales"]
    node = helper.make_node("Resize", inputs, ["y"], **attrs)
    graph = helper.make_graph([node], "w", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [in_size, in_size])],
                              [helper.make_tensor_value_info("y", TensorProto.DOUBLE, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", max(opset, 11))], ir_version=10)
    feeds = {"x": np.eye(in_size, dtype=np.float64)}
    if by_sizes:
        feeds["sizes"] = np.array([in_size, out_size], np.int64)
    else:
        feeds["scales"] = np.array([1.0, scale], np.float32)
    # float64 identity: row i of the result is how input i spreads over the outputs
    (y,) = ReferenceEvaluator(model).run(None, feeds)
    if y.shape != (in_size, out_size):
        raise ValueError(f"reference Resize gave {y.shape}, expected {(in_size, out_size)}")
    return np.ascontiguousarray(y.T).astype(np.float32)


def matrix_resize(n: NodeCtx, x: Value, out_shape, scales, attrs: dict, by_sizes: bool):
    t, perm = n.get_as_is(x)
    changed = [a for a in range(x.rank) if out_shape[a] != x.shape[a] or scales[a] != 1.0]
    physical = list(t.shape)
    for k, a in enumerate(changed):
        w = resize_matrix(x.shape[a], out_shape[a], scales[a], attrs, n.opset, by_sizes)
        p = perm.index(a)
        before, after = int(np.prod(physical[:p])), int(np.prod(physical[p + 1:]))
        physical[p] = out_shape[a]
        last = k == len(changed) - 1
        out = n.out(0, perm, shape=out_shape) if last else n.tensor(physical)
        wt = n.const(w, name=f"{n.name}/resize_w{a}")
        if after == 1:   # the axis is innermost: y = x @ W^T, FULLY_CONNECTED's weights are (out, in)
            flat = n.reshape(t, (before, x.shape[a]))
            y = n.op("FULLY_CONNECTED", [flat, wt, None], n.tensor((before, out_shape[a])),
                     options("FullyConnectedOptions"))
        else:
            view = n.reshape(t, (before, x.shape[a], after))
            w3 = n.const(w[None], name=f"{n.name}/resize_w{a}")
            y = n.op("BATCH_MATMUL", [w3, view], n.tensor((before, out_shape[a], after)),
                     options("BatchMatMulOptions"))
        t = n.reshape(y, physical, out=out)
    return t
