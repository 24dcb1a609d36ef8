"""The driver: lower every ONNX node with its registered lowering and plan layouts on the way.

Layout planning is demand-driven over the topologically sorted graph: each lowering asks for its
inputs in the layout its TFLite kernel wants (``ctx.nhwc(x)``, ``ctx.get(x)``) or takes them as they
are (``ctx.get_as_is``) and says in which layout it produces its outputs. A value is transposed at
most once per layout it is asked in (the views are cached), constants are permuted in numpy, and
graph outputs are transposed back to the ONNX layout once at the end. So a chain of convs, pools and
elementwise ops that all keep NHWC carries no TRANSPOSE between them; ``optimize.py`` then removes
transpose pairs that cancel.
"""
from __future__ import annotations

from typing import Optional, Sequence

from ..errors import ConvertError, EdgekitError
from . import registry
from .context import NodeCtx, State, Value
from .graph import Graph
from .ir import Perm, TModel, TOp, TTensor, channels_last, identity, relative, shape_of


def _value(graph: Graph, state: State, name: str) -> Optional[Value]:
    if name == "":
        return None
    if name in graph.consts:
        arr = graph.consts[name]
        return Value(name, tuple(arr.shape), arr.dtype, arr, identity(arr.ndim))
    if name not in state.values:
        raise ConvertError(f"value '{name}' is used before it is produced", "the ONNX graph is not topologically sorted "
                           "or references a missing tensor", "check the model with onnx.checker.check_model")
    tensor, layout = state.values[name]
    logical = graph.shapes.get(name) or tuple(tensor.shape[i] for i in _inv(layout))
    return Value(name, tuple(logical), tensor.dtype, None, layout)


def _existing_layout(state: State, t: TTensor) -> Perm:
    """The layout of a tensor a lowering passed through unchanged (identity for a new one)."""
    for tensor, layout in state.values.values():
        if tensor is t:
            return layout
    return identity(t.rank)


def _inv(perm: Perm) -> Perm:
    return tuple(perm.index(i) for i in range(len(perm)))


def _commit(graph: Graph, state: State, node, ctx: NodeCtx, result, ops: list[TOp]) -> None:
    """Record what a lowering made. ``result`` is aligned with ``node.outputs`` (None for an absent one)."""
    outs = [result] if isinstance(result, TTensor) else list(result or ())
    used = [i for i, o in enumerate(node.outputs) if o]
    if used and (len(outs) <= used[-1] or any(outs[i] is None for i in used)):
        raise ConvertError(f"lowering of {node.op_type} node '{node.name}' returned {len(outs)} outputs, "
                           f"the node uses outputs {used}")
    ops.extend(ctx.ops)
    state.views.update(ctx.views)
    state.names.update(ctx.names)
    for name, t in zip(node.outputs, outs):
        if not name:
            continue
        layout = ctx.layouts.get(t.uid) or _existing_layout(state, t)
        if len(layout) != t.rank:
            raise ConvertError(f"lowering of {node.op_type} node '{node.name}' returned {t} with layout {layout}")
        state.values[name] = (t, layout)
        logical = tuple(t.shape[i] for i in _inv(layout))
        known = graph.shapes.setdefault(name, logical)
        if known != logical:  # a lowering bug must never become a silently wrong file
            raise ConvertError(f"lowering of {node.op_type} node '{node.name}' produced shape {logical} for "
                               f"'{name}', ONNX shape inference says {known}", "this is an edgekit bug",
                               "please report it with the model")
        graph.dtypes.setdefault(name, t.dtype)


def lower(graph: Graph, nhwc_inputs: bool = False, progress=None) -> TModel:
    """Lower ``graph`` (already prepared) to a TModel. Raises before lowering anything if an op is missing."""
    registry.check_supported(graph.nodes, graph.opset)
    state = State()
    state.producers = {o: node for node in graph.nodes for o in node.outputs if o}
    inputs = []
    for name in graph.inputs:
        logical = graph.shapes[name]
        perm = channels_last(len(logical)) if nhwc_inputs and len(logical) == 4 else identity(len(logical))
        t = TTensor(name, shape_of(perm, logical), graph.dtypes[name])
        state.names.add(name)
        state.values[name] = (t, perm)
        inputs.append(t)
    state.names.update(n for node in graph.nodes for n in node.outputs)  # ONNX names are reserved
    ops: list[TOp] = []
    nodes = progress(graph.nodes) if progress else graph.nodes
    for node in nodes:
        entry = registry.find(node.op_type, graph.opset(node.domain), node.domain)
        ctx = NodeCtx(node, graph, state)
        args = [_value(graph, state, n) for n in node.inputs]
        if not entry.variadic:
            args += [None] * (entry.n_inputs - len(args))
        try:
            result = entry.call(ctx, args, registry.typed_attrs(entry, node.attrs))
        except EdgekitError:
            raise
        except Exception as exc:  # a lowering bug: say where, keep the traceback for --debug
            raise ConvertError(f"lowering {node.op_type} node '{node.name}' (opset {graph.opset(node.domain)}) failed",
                               f"{type(exc).__name__}: {exc}".splitlines()[0],
                               "this is an edgekit bug; please report it with the model (--debug shows the "
                               "traceback)") from exc
        _commit(graph, state, node, ctx, result, ops)
    outputs = _finish_outputs(graph, state, inputs, ops)
    return TModel(ops, inputs, outputs)


def _finish_outputs(graph: Graph, state: State, inputs: Sequence[TTensor], ops: list[TOp]) -> list[TTensor]:
    """Every graph output as a tensor in the ONNX layout named like the ONNX output."""
    import numpy as np

    from ai_edge_litert import schema_py_generated as fb

    outputs, used = [], {t.uid for t in inputs}
    for name in graph.outputs:
        if name in graph.consts or name not in state.values:
            raise ConvertError(f"graph output '{name}' is a constant", "TFLite outputs must be computed",
                               "remove the constant output from the model")
        tensor, layout = state.values[name]
        logical = tuple(tensor.shape[i] for i in _inv(layout))
        if layout != identity(len(layout)):
            out = TTensor(name, logical, tensor.dtype)
            perm = np.asarray(relative(layout, identity(len(layout))), np.int32)
            ops.append(TOp("TRANSPOSE", [tensor, TTensor(f"{name}/perm", perm.shape, np.int32, perm)], [out]))
        elif tensor.uid in used:  # an input passed through, or one tensor behind two outputs: copy it
            out = TTensor(name, logical, tensor.dtype)
            shape = np.asarray(logical, np.int32)
            opts = fb.ReshapeOptionsT()
            opts.newShape = [int(d) for d in logical]
            ops.append(TOp("RESHAPE", [tensor, TTensor(f"{name}/shape", shape.shape, np.int32, shape)], [out], opts))
        else:
            out = tensor
            out.name = name
        used.add(out.uid)
        outputs.append(out)
    return outputs
