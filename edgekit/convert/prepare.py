"""Graph preparation before lowering: constant folding, Dropout/Identity removal, BN folding.

All numpy; onnx's reference evaluator is only the fallback for an op with constant inputs that the
small table below does not know (it is slow to set up, so common shape-chain ops are done here).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .fuse_gelu import fuse_gelu
from .graph import Graph, Node

# Folded results larger than this stay runtime ops (a folded Tile/Expand of a big tensor would
# bloat the file; TFLite can compute it).
_MAX_FOLD_ELEMS = 1 << 22


def _axes(node: Node, vals: list, pos: int):
    if "axes" in node.attrs:
        return tuple(node.attrs["axes"])
    if len(vals) > pos and vals[pos] is not None:
        return tuple(int(a) for a in vals[pos])
    return None


def _slice(node: Node, v: list):
    x = v[0]
    if "starts" in node.attrs:  # opset < 10
        starts, ends = node.attrs["starts"], node.attrs["ends"]
        axes, steps = node.attrs.get("axes", tuple(range(len(starts)))), (1,) * len(starts)
    else:
        starts, ends = v[1], v[2]
        axes = v[3] if len(v) > 3 and v[3] is not None else range(len(starts))
        steps = v[4] if len(v) > 4 and v[4] is not None else (1,) * len(starts)
    idx = [slice(None)] * x.ndim
    for s, e, a, st in zip(starts, ends, axes, steps):
        idx[int(a)] = slice(int(s), int(e) if abs(int(e)) < 2**62 else (None if int(st) > 0 else None), int(st))
    return x[tuple(idx)]


def _cast(node: Node, v: list):
    from onnx import helper

    return v[0].astype(helper.tensor_dtype_to_np_dtype(node.attrs["to"]))


def _constant_of_shape(node: Node, v: list):
    value = node.attrs.get("value", np.zeros(1, np.float32))
    return np.full(tuple(int(d) for d in v[0]), value.reshape(-1)[0], dtype=value.dtype)


def _reshape(node: Node, v: list):
    shape = [int(d) for d in (v[1] if len(v) > 1 else node.attrs["shape"])]
    if not node.attrs.get("allowzero", 0):
        shape = [v[0].shape[i] if d == 0 else d for i, d in enumerate(shape)]
    return v[0].reshape(shape)


def _unsqueeze(node: Node, v: list):
    axes = _axes(node, v, 1)
    out = v[0]
    rank = out.ndim + len(axes)
    for a in sorted(a % rank for a in axes):
        out = np.expand_dims(out, a)
    return out


def _squeeze(node: Node, v: list):
    axes = _axes(node, v, 1)
    return np.squeeze(v[0], axis=axes) if axes is not None else np.squeeze(v[0])


def _gather(node: Node, v: list):
    return np.take(v[0], v[1].astype(np.int64), axis=node.attrs.get("axis", 0))


def _gather_elements(node: Node, v: list):
    # here, not onnx's reference evaluator: its GatherElements fails on (1, N) indices (onnx 1.20)
    axis = node.attrs.get("axis", 0) % v[0].ndim
    idx = v[1].astype(np.int64)
    return np.take_along_axis(v[0], np.where(idx < 0, idx + v[0].shape[axis], idx), axis=axis)


_NUMPY: dict[str, Callable[[Node, list], np.ndarray]] = {
    "Add": lambda n, v: v[0] + v[1], "Sub": lambda n, v: v[0] - v[1], "Mul": lambda n, v: v[0] * v[1],
    "Div": lambda n, v: (v[0] // v[1]) if v[0].dtype.kind in "iu" else v[0] / v[1],
    "Neg": lambda n, v: -v[0], "Sqrt": lambda n, v: np.sqrt(v[0]), "Floor": lambda n, v: np.floor(v[0]),
    "Ceil": lambda n, v: np.ceil(v[0]), "Equal": lambda n, v: np.equal(v[0], v[1]),
    "Where": lambda n, v: np.where(v[0], v[1], v[2]), "Identity": lambda n, v: v[0],
    "Concat": lambda n, v: np.concatenate(v, axis=n.attrs["axis"]),
    "Cast": _cast, "ConstantOfShape": _constant_of_shape, "Reshape": _reshape, "Slice": _slice,
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Gather": _gather, "GatherElements": _gather_elements,
    "Transpose": lambda n, v: np.transpose(v[0], n.attrs.get("perm")),
    "Range": lambda n, v: np.arange(v[0], v[1], v[2]).astype(v[0].dtype),
    "Expand": lambda n, v: v[0] * np.ones(tuple(int(d) for d in v[1]), dtype=v[0].dtype),
    "Min": lambda n, v: np.minimum.reduce(v), "Max": lambda n, v: np.maximum.reduce(v),
}
# Never folded: randomness, and ops whose output only exists at run time by design.
_NO_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"}


def _evaluate(node: Node, vals: list, graph: Graph) -> list:
    if node.op_type in _NUMPY and len(node.outputs) == 1:
        return [np.asarray(_NUMPY[node.op_type](node, vals))]
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    inits = [numpy_helper.from_array(np.asarray(a), f"in{i}") for i, a in enumerate(vals) if a is not None]
    names = [f"in{i}" if a is not None else "" for i, a in enumerate(vals)]
    n = helper.make_node(node.op_type, names, [f"out{i}" for i in range(len(node.outputs))], domain=node.domain or None,
                         **node.attrs)
    g = helper.make_graph([n], "fold", [], [helper.make_empty_tensor_value_info(f"out{i}")
                                             for i in range(len(node.outputs))], inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid(d, v) for d, v in graph.opsets.items()])
    return [np.asarray(r) for r in ReferenceEvaluator(model).run(None, {})]


def fold_constants(graph: Graph) -> int:
    """Evaluate every node whose inputs are all known at conversion time (incl. Shape of static shapes)."""
    kept, folded = [], 0
    for node in graph.nodes:
        if node.op_type == "Shape" and node.inputs[0] in graph.shapes:
            shape = np.asarray(graph.shapes[node.inputs[0]], dtype=np.int64)
            start, end = node.attrs.get("start", 0), node.attrs.get("end", None)
            graph.consts[node.outputs[0]] = shape[start:end]
            folded += 1
            continue
        if node.op_type == "Size" and node.inputs[0] in graph.shapes:
            graph.consts[node.outputs[0]] = np.asarray(int(np.prod(graph.shapes[node.inputs[0]])), np.int64)
            folded += 1
            continue
        if node.op_type in _NO_FOLD or not all(i == "" or i in graph.consts for i in node.inputs):
            kept.append(node)
            continue
        try:
            results = _evaluate(node, [graph.consts.get(i) if i else None for i in node.inputs], graph)
        except Exception:  # cannot evaluate here: keep the op, its lowering decides
            kept.append(node)
            continue
        if sum(r.size for r in results) > _MAX_FOLD_ELEMS:
            kept.append(node)
            continue
        for name, r in zip(node.outputs, results):
            graph.consts[name] = r
            graph.shapes[name], graph.dtypes[name] = tuple(r.shape), r.dtype
        folded += 1
    graph.nodes = kept
    return folded


def remove_passthrough(graph: Graph) -> int:
    """Drop Identity and inference-mode Dropout by renaming their consumers' inputs."""
    rename: dict[str, str] = {}
    kept, removed = [], 0
    mask_used = {n for node in graph.nodes for n in node.inputs} | set(graph.outputs)
    for node in graph.nodes:
        node.inputs = [rename.get(i, i) for i in node.inputs]
        passthrough = node.op_type == "Identity" or (
            node.op_type == "Dropout" and (len(node.outputs) < 2 or node.outputs[1] not in mask_used))
        if passthrough and node.outputs[0] not in graph.outputs:
            rename[node.outputs[0]] = node.inputs[0]
            removed += 1
            continue
        kept.append(node)
    graph.nodes = kept
    return removed


def fold_batchnorm(graph: Graph) -> int:
    """Conv/ConvTranspose/Gemm followed by BatchNormalization -> one op with rescaled weights."""
    consumers = graph.consumers()
    producer = {o: n for n in graph.nodes for o in n.outputs}
    dead, folded = set(), 0
    for bn in graph.nodes:
        if (bn.op_type != "BatchNormalization" or len([o for o in bn.outputs if o]) != 1
                or not bn.attrs.get("spatial", 1) or bn.attrs.get("training_mode", 0)):
            continue
        x = bn.inputs[0]
        prev = producer.get(x)
        params = [graph.consts.get(i) for i in bn.inputs[1:5]]
        if (prev is None or any(p is None for p in params) or x in graph.outputs or len(consumers.get(x, [])) != 1
                or prev.op_type not in ("Conv", "ConvTranspose", "Gemm") or prev.inputs[1] not in graph.consts):
            continue
        new = _folded_weights(prev, bn, params, graph)
        if new is None:
            continue
        w, b = new
        prev.inputs = list(prev.inputs[:3]) + [""] * (3 - len(prev.inputs))
        prev.inputs[1], prev.inputs[2] = _new_const(graph, prev.inputs[1] + "/bn", w), _new_const(graph, f"{prev.name}/bn_bias", b)
        prev.outputs[0] = bn.outputs[0]
        dead.add(id(bn))
        folded += 1
    graph.nodes = [n for n in graph.nodes if id(n) not in dead]
    return folded


def _new_const(graph: Graph, name: str, value: np.ndarray) -> str:
    while name in graph.consts or name in graph.shapes:
        name += "_"
    graph.consts[name] = value
    graph.shapes[name], graph.dtypes[name] = tuple(value.shape), value.dtype
    return name


def _folded_weights(prev: Node, bn: Node, params: list, graph: Graph):
    gamma, beta, mean, var = (np.asarray(p, np.float64) for p in params)
    scale = gamma / np.sqrt(var + bn.attrs.get("epsilon", 1e-5))
    w = graph.consts[prev.inputs[1]]
    scale32 = scale.astype(w.dtype)   # scale in float64, the big multiply in the weights' dtype
    n_out = scale.shape[0]
    bias = graph.consts.get(prev.inputs[2]) if len(prev.inputs) > 2 and prev.inputs[2] else None
    if prev.op_type == "Conv":
        w = w * scale32.reshape((-1,) + (1,) * (w.ndim - 1))
    elif prev.op_type == "ConvTranspose":
        group = prev.attrs.get("group", 1)
        cin, cout_g = w.shape[0], w.shape[1]
        w = (w.reshape((group, cin // group, cout_g) + w.shape[2:])
             * scale32.reshape((group, 1, cout_g) + (1,) * (w.ndim - 2))).reshape(w.shape)
    else:  # Gemm: only the plain Y = A @ B(^T) + C form with 2-D output
        if prev.attrs.get("alpha", 1.0) != 1.0 or prev.attrs.get("transA", 0) or (
                bias is not None and prev.attrs.get("beta", 1.0) != 1.0):
            return None
        w = w * (scale32[:, None] if prev.attrs.get("transB", 0) else scale32[None, :])
        if bias is not None and bias.size not in (1, n_out):
            return None
    if bias is None:
        bias = np.zeros(n_out)
    b = (np.broadcast_to(np.asarray(bias, np.float64).reshape(-1), (n_out,)) - mean) * scale + beta
    dtype = graph.consts[prev.inputs[1]].dtype
    return w.astype(dtype), b.astype(dtype)


def fuse_hard_swish(graph: Graph) -> int:
    """Mul(x, HardSigmoid(x; alpha=1/6, beta=0.5)) -> HardSwish(x): how torch exports nn.Hardswish
    before opset 14. One HARD_SWISH op instead of four."""
    consumers = graph.consumers()
    producer = {o: n for n in graph.nodes for o in n.outputs}
    dead, fused = set(), 0
    for mul in graph.nodes:
        if mul.op_type != "Mul" or len(mul.inputs) != 2:
            continue
        for x, h in (mul.inputs, mul.inputs[::-1]):
            hs = producer.get(h)
            if (hs is not None and hs.op_type == "HardSigmoid" and hs.inputs[0] == x and h not in graph.outputs
                    and len(consumers.get(h, [])) == 1 and abs(hs.attrs.get("alpha", 0.2) - 1 / 6) < 1e-6
                    and abs(hs.attrs.get("beta", 0.5) - 0.5) < 1e-6):
                mul.op_type, mul.inputs, mul.attrs = "HardSwish", [x], {}
                dead.add(id(hs))
                fused += 1
                break
    graph.nodes = [n for n in graph.nodes if id(n) not in dead]
    return fused


def prepare(graph: Graph) -> dict[str, int]:
    """Run all passes; returns how much each changed (shown with --debug and in tests)."""
    from .graph import infer_shapes

    stats = {"passthrough": remove_passthrough(graph)}
    infer_shapes(graph)
    stats["folded"] = fold_constants(graph)
    stats["batchnorm"] = fold_batchnorm(graph)
    stats["rounds"] = 1
    # Iterate to a fixed point: a Reshape/Pad whose target only became constant in this round gets its
    # output shape from the next inference, and only then can a Shape node reading it fold (Swin's
    # window partition nests such chains ~9 deep). Bounded: each round folds at least one node.
    for _ in range(len(graph.nodes)):
        if not any(o not in graph.shapes for n in graph.nodes for o in n.outputs if o):
            break   # every shape is known, so everything foldable has been folded
        infer_shapes(graph)
        more = fold_constants(graph)
        stats["folded"] += more
        stats["rounds"] += 1
        if not more:
            break
    # Fusions last: their fused ops (Gelu, HardSwish) may be newer than the model's opset, and onnx
    # shape inference knows nothing after an op it cannot type (the loop above would stall there).
    stats["hard_swish"] = fuse_hard_swish(graph)
    stats["gelu"] = fuse_gelu(graph)
    return stats
