"""Read an ONNX model into a small mutable graph that the preparation passes rewrite.

Only this module and ``prepare.py`` touch onnx protos. Values are named by their ONNX names;
constants (initializers and Constant nodes) live in ``Graph.consts`` as numpy arrays; every value's
logical (ONNX) shape and dtype is in ``Graph.shapes`` / ``Graph.dtypes``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ..errors import EdgekitWarning, InputError, ModelError


@dataclass(eq=False)
class Node:
    op_type: str
    name: str
    inputs: list[str]          # "" marks an omitted optional input
    outputs: list[str]
    attrs: dict[str, Any]      # typed python values (see registry.py)
    domain: str = ""


@dataclass
class Graph:
    nodes: list[Node]
    consts: dict[str, np.ndarray]
    inputs: list[str]
    outputs: list[str]
    shapes: dict[str, tuple[int, ...]]
    dtypes: dict[str, np.dtype]
    opsets: dict[str, int]
    metadata_props: dict[str, str] = field(default_factory=dict)
    ir_version: int = 8

    def opset(self, domain: str = "") -> int:
        return self.opsets.get("ai.onnx" if domain == "" else domain, self.opsets.get("", 0))

    def consumers(self) -> dict[str, list[Node]]:
        out: dict[str, list[Node]] = {}
        for node in self.nodes:
            for name in node.inputs:
                if name:
                    out.setdefault(name, []).append(node)
        return out


def attr_value(attr) -> Any:
    """An AttributeProto as a typed python value: int, float, str, tuple, or np.ndarray."""
    from onnx import AttributeProto as A, numpy_helper

    t = attr.type
    if t == A.INT:
        return int(attr.i)
    if t == A.FLOAT:
        return float(attr.f)
    if t == A.STRING:
        return attr.s.decode("utf-8")
    if t == A.INTS:
        return tuple(int(v) for v in attr.ints)
    if t == A.FLOATS:
        return tuple(float(v) for v in attr.floats)
    if t == A.STRINGS:
        return tuple(s.decode("utf-8") for s in attr.strings)
    if t == A.TENSOR:
        return numpy_helper.to_array(attr.t)
    raise ModelError(f"attribute {attr.name} has a type edgekit cannot read ({t})",
                     "graph-valued attributes (If/Loop bodies) are not supported",
                     "export the model without control flow")


def _constant_value(attrs: dict) -> np.ndarray:
    for key, dtype in (("value", None), ("value_float", np.float32), ("value_floats", np.float32),
                       ("value_int", np.int64), ("value_ints", np.int64)):
        if key in attrs:
            return np.asarray(attrs[key], dtype=dtype)
    raise ModelError("a Constant node holds a sparse or string value", "edgekit supports dense constants only",
                     "export the model with dense constants")


def load_model(model) -> tuple[Any, str, Optional[str]]:
    """(ModelProto, sha256 of the source, file name) from a path or a proto (never modified).

    A file is read once: the same bytes are hashed (provenance) and parsed.
    """
    import hashlib

    import onnx

    if isinstance(model, onnx.ModelProto):
        from ..validate import check_onnx

        check_onnx(model)
        return model, hashlib.sha256(model.SerializeToString()).hexdigest(), None
    path = Path(model)
    if not path.is_file():
        raise InputError(f"model file {path} does not exist", fix="check the path")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        proto = onnx.load_model_from_string(data)
        del data
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
            from onnx.external_data_helper import load_external_data_for_model

            load_external_data_for_model(proto, str(path.parent))
    except Exception as exc:  # onnx raises DecodeError, ValueError, ... for a bad file
        raise ModelError(f"cannot read {path} as ONNX", str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                         "check that the file is an .onnx model") from exc
    from ..runtime.probe import probe
    from ..validate import check_onnx

    check_onnx(proto, path.name, path)  # the converter reads only what onnx.checker and edgekit accept
    probe(path, "onnx", digest).raise_for(path)  # and what onnxruntime runs (Conv group 0, Gather out of range)
    return proto, digest, path.name


def _dims(type_proto) -> list:
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else (d.dim_param or None)
            for d in type_proto.tensor_type.shape.dim]


def _np_dtype(elem_type: int) -> np.dtype:
    from onnx import helper

    return np.dtype(helper.tensor_dtype_to_np_dtype(elem_type))


def from_onnx(proto, given_shapes: Optional[dict] = None) -> Graph:
    """The graph of ``proto`` with dynamic input dims fixed: ``given_shapes`` {input: dims} given by the
    user (``--shape``) first, else a dynamic batch axis -> 1 with a warning."""
    from onnx import numpy_helper

    g = proto.graph
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    nodes, shapes, dtypes = [], {}, {}
    for i, n in enumerate(g.node):
        attrs = {a.name: attr_value(a) for a in n.attribute}
        name = n.name or f"{n.op_type}_{i}"
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            consts[n.output[0]] = _constant_value(attrs)
            continue
        nodes.append(Node(n.op_type, name, list(n.input), list(n.output), attrs, n.domain))
    inputs = []
    given = dict(given_shapes or {})
    names = [vi.name for vi in g.input if vi.name not in consts]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise InputError(f"--shape names {', '.join(unknown)}, not an input of the model",
                         f"the inputs are {', '.join(names)}", "use one of those names")
    for vi in g.input:
        if vi.name in consts:
            continue  # old exporters list initializers as inputs too
        kind = vi.type.WhichOneof("value")
        if kind != "tensor_type":   # sequence, optional, map, sparse tensor
            raise ModelError(f"graph input '{vi.name}' is a {kind.replace('_type', '')}, not a tensor",
                             "TFLite models take and return dense tensors only",
                             "export the model with tensor inputs (e.g. stack a sequence into one tensor)")
        dims = _dims(vi.type)
        if vi.name in given and dims is not None:
            dims = _given_dims(vi.name, dims, given[vi.name])
        if dims is None:
            raise ModelError(f"graph input '{vi.name}' has no shape", "TFLite needs static shapes",
                             "export the model with a fixed input shape")
        fixed = []
        for axis, d in enumerate(dims):
            if isinstance(d, int):
                fixed.append(d)
            elif axis == 0:
                warnings.warn(f"input '{vi.name}': dynamic batch dimension {d or '?'} set to 1 "
                              "(TFLite models here have static shapes)", EdgekitWarning, stacklevel=3)
                fixed.append(1)
            else:
                raise ModelError(f"input '{vi.name}' has a dynamic dimension {d or '?'} at axis {axis}",
                                 "TFLite needs static shapes (only the batch axis is fixed to 1 automatically)",
                                 f"fix it with --shape {vi.name}=DIMS (shapes={{'{vi.name}': [...]}}), or export "
                                 "the model with a fixed input shape")
        inputs.append(vi.name)
        shapes[vi.name] = tuple(fixed)
        dtypes[vi.name] = _np_dtype(vi.type.tensor_type.elem_type)
    for name, arr in consts.items():
        shapes[name], dtypes[name] = tuple(arr.shape), arr.dtype
    opsets = {(o.domain or ""): int(o.version) for o in proto.opset_import}
    if "ai.onnx" in opsets and "" not in opsets:
        opsets[""] = opsets["ai.onnx"]
    graph = Graph(nodes, consts, inputs, [o.name for o in g.output], shapes, dtypes, opsets,
                  {p.key: p.value for p in proto.metadata_props}, int(proto.ir_version) or 8)
    for vi in g.output:
        if vi.name in consts and vi.name not in graph.shapes:
            graph.shapes[vi.name] = consts[vi.name].shape
    return graph


def _given_dims(name: str, dims: list, given) -> list:
    """The user's dims for an input: same rank, and equal to every static dim the model declares."""
    given = [int(d) for d in given]
    if len(given) != len(dims) or any(isinstance(d, int) and d != g for d, g in zip(dims, given)):
        shown = ",".join(str(d) if isinstance(d, int) else (d or "?") for d in dims)
        raise InputError(f"--shape {name}={','.join(map(str, given))} does not fit the model's input ({shown})",
                         "the rank and every static dimension must match", f"give {len(dims)} dims matching {shown}")
    return given


# Initializers above this many elements are replaced by typed graph inputs in the proto handed to
# onnx shape inference: it only needs their shapes, and copying weights would double peak memory.
_INFER_KEEP_ELEMS = 4096


def infer_shapes(graph: Graph) -> None:
    """Fill ``graph.shapes`` / ``dtypes`` for every value, with one call to onnx's (C++) inference."""
    import onnx
    from onnx import helper, numpy_helper

    inputs = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(graph.dtypes[n]), graph.shapes[n])
              for n in graph.inputs]
    inits = []
    for name, arr in graph.consts.items():
        if arr.size <= _INFER_KEEP_ELEMS:
            inits.append(numpy_helper.from_array(arr, name))
        else:
            inputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype), arr.shape))
    nodes = []
    for n in graph.nodes:
        node = helper.make_node(n.op_type, n.inputs, n.outputs, name=n.name, domain=n.domain or None)
        for k, v in n.attrs.items():
            if isinstance(v, np.ndarray):
                node.attribute.append(helper.make_attribute(k, numpy_helper.from_array(v)))
            elif not (isinstance(v, tuple) and not v):   # an empty list has no inferable type; skip it
                node.attribute.append(helper.make_attribute(k, v))
        nodes.append(node)
    outputs = [helper.make_empty_tensor_value_info(o) for o in graph.outputs]
    model = helper.make_model(helper.make_graph(nodes, "infer", inputs, outputs, inits),
                              opset_imports=[helper.make_opsetid(d, v) for d, v in graph.opsets.items()
                                             if d != "ai.onnx"],
                              ir_version=min(graph.ir_version, 10) if graph.ir_version >= 3 else 8)
    try:
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=False, data_prop=True)
    except Exception:  # inference is a help, not a requirement: lowerings compute what is missing
        return
    for vi in list(inferred.graph.value_info) + list(inferred.graph.output):
        dims = _dims(vi.type)
        if vi.name in graph.consts or dims is None or not all(isinstance(d, int) for d in dims):
            continue
        graph.shapes[vi.name] = tuple(dims)
        graph.dtypes[vi.name] = _np_dtype(vi.type.tensor_type.elem_type)
