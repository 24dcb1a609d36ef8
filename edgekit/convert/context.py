"""What a lowering sees: ``Value`` (an ONNX input) and ``NodeCtx`` (how it creates TFLite ops).

A fresh ``NodeCtx`` is made for every ONNX node. It reads the converter state (values lowered so
far) but never changes it: everything a lowering creates (ops, tensors, layout views of its inputs)
is recorded in the ctx and committed by the driver (``lower.py``) after the lowering returns.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

from ..errors import ConvertError, UnsupportedOpError
from .ir import Perm, TOp, TTensor, channels_last, identity, relative, shape_of


@dataclass(frozen=True)
class Value:
    """An ONNX input of the node being lowered.

    ``shape`` is the logical ONNX shape; ``layout`` is how the already-lowered tensor is carried
    physically (identity = ONNX layout, ``channels_last(4)`` = NHWC). ``const`` holds the array when
    the value is a constant (initializer or folded), else None.
    """

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    const: Optional[np.ndarray]
    layout: Perm

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def is_const(self) -> bool:
        return self.const is not None


class State:
    """The driver's record of lowered values (read-only for lowerings)."""

    def __init__(self):
        self.values: dict[str, tuple[TTensor, Perm]] = {}   # onnx name -> (tensor, layout)
        self.views: dict[tuple, TTensor] = {}              # (onnx name, perm, dtype) -> tensor
        self.names: set[str] = set()
        self.producers: dict[str, Any] = {}                 # onnx name -> the ONNX node producing it


class NodeCtx:
    """The lowering API. See docs/converter.md, "Adding an op"."""

    def __init__(self, node, graph, state: State):
        self.node, self.graph, self._state = node, graph, state
        self.op_type, self.name = node.op_type, node.name
        self.opset = graph.opset(node.domain)
        self.ops: list[TOp] = []
        self.views: dict[tuple, TTensor] = {}
        self.layouts: dict[int, Perm] = {}   # tensor uid -> layout of tensors made by out()
        self.names: set[str] = set()         # tensor names taken by this node (committed by the driver)

    # ---- errors ---------------------------------------------------------------------------
    def unsupported(self, why: str, fix: str = "") -> UnsupportedOpError:
        """An error to ``raise`` for an attribute/input combination this lowering cannot do."""
        return UnsupportedOpError(
            f"cannot convert {self.op_type} (node '{self.name}', opset {self.opset}) to TFLite", why,
            fix or "change the exporter settings for this layer or open an issue with the model")

    def _holdable(self, dtype, what: str) -> None:
        """Refuse (naming this node) a value TFLite tensors cannot hold: int4/int2, float8/float4, string."""
        from .writer import holds

        if not holds(dtype):
            name = "string" if np.dtype(dtype).kind in "OSU" else np.dtype(dtype).name
            raise self.unsupported(f"{what} has dtype {name}, which TFLite tensors cannot hold",
                                   "keep this tensor float32 (or int8/16/32/64, uint8, bool) in the model, "
                                   "e.g. dequantize float8/int4 weights before export")

    # ---- reading inputs -------------------------------------------------------------------
    def get(self, v: Value, perm: Optional[Perm] = None, dtype=None) -> TTensor:
        """The TFLite tensor of ``v`` carried in ``perm`` (None: the ONNX layout).

        Constants are transposed in numpy (no op); a runtime tensor in another layout gets ONE
        TRANSPOSE op, shared by all consumers that ask for the same layout. ``dtype`` casts
        constants only (e.g. int64 shape -> int32).
        """
        perm = identity(v.rank) if perm is None else tuple(perm)
        self._holdable(v.dtype, f"input {v.name}")
        if v.is_const:
            data = np.transpose(v.const, perm) if v.rank > 1 else v.const
            dtype = np.dtype(dtype or data.dtype)
            key = (v.name, perm, dtype.str)
            if key not in self.views and key not in self._state.views:
                self.views[key] = TTensor(self._unique(v.name), data.shape, dtype, data.astype(dtype))
            return self.views.get(key) or self._state.views[key]
        tensor, layout = self._state.values[v.name]
        if dtype is not None and np.dtype(dtype) != tensor.dtype:
            raise ConvertError(f"{self.op_type} node '{self.name}': input {v.name} is {tensor.dtype}, not {dtype}")
        if layout == perm:
            return tensor
        key = (v.name, perm, tensor.dtype.str)
        if key in self._state.views:
            return self._state.views[key]
        if key not in self.views:
            out = TTensor(self._unique(f"{v.name}/{_perm_tag(perm)}"), shape_of(perm, v.shape), tensor.dtype)
            self.ops.append(TOp("TRANSPOSE", [tensor, self.const_i32(relative(layout, perm))], [out]))
            self.views[key] = out
        return self.views[key]

    def get_as_is(self, v: Value) -> tuple[TTensor, Perm]:
        """The tensor in whatever layout it already has (for layout-agnostic ops)."""
        self._holdable(v.dtype, f"input {v.name}")
        if v.is_const:
            return self.get(v), identity(v.rank)
        return self._state.values[v.name]

    def get_flat(self, v: Value) -> TTensor:
        """A tensor whose row-major element order equals ``v``'s ONNX row-major order (its shape may
        differ): the input for a RESHAPE. No TRANSPOSE when the layout only moves size-1 axes
        (e.g. NHWC with 1x1 spatial size after global pooling)."""
        if not v.is_const:
            tensor, layout = self._state.values[v.name]
            moved = [axis for axis in layout if v.shape[axis] != 1]
            if moved == sorted(moved):
                return tensor
        return self.get(v)

    def reshape_value(self, v: Value, shape: Sequence[int], i: int = 0) -> TTensor:
        """ONNX output ``i`` = ``v`` reshaped to the logical ``shape``, keeping ``v``'s layout where
        the reshape only splits/merges axes (at most ONE TRANSPOSE, none for NHWC -> NHWC-compatible
        splits such as ShuffleNet's channel split). Use for Reshape, Flatten, Squeeze, Unsqueeze."""
        shape = tuple(int(d) for d in shape)
        plan = None if v.is_const else _reshape_plan(v.shape, v.layout, shape)
        if plan is None:
            return self.reshape(self.get_flat(v), shape, out=self.out(i, shape=shape))
        src_perm, out_perm = plan
        src = self.get(v, src_perm)
        return self.reshape(src, shape_of(out_perm, shape), out=self.out(i, out_perm, shape=shape))

    def producer(self, v: Value):
        """The ONNX node (``graph.Node``: op_type, attrs, inputs) that produced ``v``, or None for graph
        inputs and constants. For lowerings that can exploit what is known about an input (e.g. a
        Relu output is non-negative)."""
        return self._state.producers.get(v.name)

    def nhwc(self, v: Value) -> TTensor:
        """``v`` channels-last (NCHW -> NHWC, NCW -> NWC): what TFLite conv/pool kernels want."""
        return self.get(v, channels_last(v.rank))

    # ---- creating tensors and ops -----------------------------------------------------------
    def const(self, array, dtype=None, name: Optional[str] = None) -> TTensor:
        arr = np.asarray(array, dtype=dtype)
        return TTensor(self._unique(name or f"{self.name}/const"), arr.shape, arr.dtype, arr)

    def const_i32(self, values: Sequence[int], name: Optional[str] = None) -> TTensor:
        return self.const(np.asarray(values, dtype=np.int32), name=name)

    def tensor(self, shape: Sequence[int], dtype=np.float32, name: Optional[str] = None) -> TTensor:
        """An intermediate runtime tensor (physical ``shape``)."""
        return TTensor(self._unique(name or f"{self.name}/tmp"), tuple(shape), dtype)

    def shape(self, i: int = 0) -> Optional[tuple[int, ...]]:
        """The inferred logical ONNX shape of output ``i`` (None if inference could not tell)."""
        return self.graph.shapes.get(self.node.outputs[i])

    def out(self, i: int = 0, perm: Optional[Perm] = None, shape: Optional[Sequence[int]] = None,
            dtype=None) -> TTensor:
        """The tensor for ONNX output ``i``, carried in ``perm`` (None: ONNX layout).

        ``shape`` is the LOGICAL (ONNX) shape; it defaults to the inferred one. ``dtype`` defaults to
        the inferred ONNX dtype (float32 when unknown).
        """
        name = self.node.outputs[i]
        logical = tuple(shape) if shape is not None else self.shape(i)
        if logical is None:
            raise ConvertError(f"{self.op_type} node '{self.name}': the shape of output {name} is unknown",
                               "the lowering must compute it (pass shape=...)")
        perm = identity(len(logical)) if perm is None else tuple(perm)
        dtype = np.dtype(dtype or self.graph.dtypes.get(name, np.float32))
        self._holdable(dtype, f"output {name}")
        if perm != identity(len(logical)) and name in self.graph.outputs:
            name = f"{name}/{_perm_tag(perm)}"  # the ONNX name goes to the final transpose
        t = TTensor(self._unique(name), shape_of(perm, logical), dtype)
        self.layouts[t.uid] = perm
        return t

    def op(self, opcode: str, inputs: Sequence[Optional[TTensor]], outputs: Sequence[TTensor] | TTensor,
           options: Any = None, version: int = 1):
        """Record one TFLite op; returns its output tensor (or the list when several)."""
        outs = [outputs] if isinstance(outputs, TTensor) else list(outputs)
        self.ops.append(TOp(opcode, list(inputs), outs, options, version))
        return outs[0] if len(outs) == 1 else outs

    def reshape(self, x: TTensor, shape: Sequence[int], out: Optional[TTensor] = None) -> TTensor:
        """A RESHAPE op (new shape given as a constant int32 input, what XNNPACK wants)."""
        from ai_edge_litert import schema_py_generated as fb

        out = out or self.tensor(shape, x.dtype)
        opts = fb.ReshapeOptionsT()
        opts.newShape = [int(d) for d in shape]
        return self.op("RESHAPE", [x, self.const_i32(shape)], out, opts)

    def transpose(self, x: TTensor, perm: Sequence[int], out: Optional[TTensor] = None) -> TTensor:
        out = out or self.tensor([x.shape[p] for p in perm], x.dtype)
        return self.op("TRANSPOSE", [x, self.const_i32(perm)], out)

    def carry(self, t: TTensor, perm: Perm) -> TTensor:
        """Return ``t`` (an existing tensor) as this node's output carried in ``perm``, without an op.

        For ops that only relabel axes: an ONNX Transpose(p) of a value carried in ``P`` is the same
        physical data carried in ``tuple(p.index(a) for a in P)``.
        """
        self.layouts[t.uid] = tuple(perm)
        return t

    def _unique(self, name: str) -> str:
        base, k = name, 1
        while name in self._state.names or name in self.names:
            name, k = f"{base}_{k}", k + 1
        self.names.add(name)
        return name


def _perm_tag(perm: Perm) -> str:
    if perm == channels_last(len(perm)) and len(perm) >= 3:
        return "nhwc" if len(perm) == 4 else "channels_last"
    return "perm" + "".join(map(str, perm))


def _reshape_plan(in_shape, layout, out_shape):
    """(layout to read the input in, layout of the output) for a reshape carried out physically.

    Axes (ignoring size-1 ones) are matched in groups whose sizes multiply to the same product;
    the input is read with each group's axes adjacent and in logical order (groups keep their
    current physical order), so a plain RESHAPE of that physical tensor is the logical reshape
    carried in the returned output layout. None when the input is in the ONNX layout already.
    """
    if layout == identity(len(layout)):
        return None
    in_axes = [a for a, d in enumerate(in_shape) if d != 1]
    out_axes = [a for a, d in enumerate(out_shape) if d != 1]
    groups, i, j = [], 0, 0
    while i < len(in_axes) and j < len(out_axes):
        gi, gj = [in_axes[i]], [out_axes[j]]
        pi, pj = in_shape[in_axes[i]], out_shape[out_axes[j]]
        i, j = i + 1, j + 1
        while pi != pj:
            if pi < pj and i < len(in_axes):
                gi.append(in_axes[i]); pi *= in_shape[in_axes[i]]; i += 1  # noqa: E702
            elif pj < pi and j < len(out_axes):
                gj.append(out_axes[j]); pj *= out_shape[out_axes[j]]; j += 1  # noqa: E702
            else:
                return None
        groups.append((gi, gj))
    if i != len(in_axes) or j != len(out_axes):
        return None
    phys = [a for a in layout if in_shape[a] != 1]
    groups.sort(key=lambda g: min(phys.index(a) for a in g[0]))
    src_nonunit = [a for g in groups for a in g[0]]
    out_nonunit = [a for g in groups for a in g[1]]
    src_perm = _with_units(src_nonunit, in_shape, layout)
    out_perm = _with_units(out_nonunit, out_shape, channels_last(len(out_shape)))
    if src_nonunit != phys and not (len(out_shape) == 4 and out_perm == channels_last(4)):
        # a TRANSPOSE is needed either way: read in ONNX order so the output is in ONNX order too,
        # unless the result is an NHWC image (ShuffleNet's channel shuffle feeding a conv)
        return None
    return src_perm, out_perm


def _with_units(nonunit, shape, prefer):
    """A full perm with this order of non-unit axes; size-1 axes placed as in ``prefer`` (or identity)
    when that is consistent, so NHWC-shaped results are recognised as NHWC."""
    for cand in (tuple(prefer), identity(len(shape))):
        if len(cand) == len(shape) and [a for a in cand if shape[a] != 1] == list(nonunit):
            return cand
    units = [a for a, d in enumerate(shape) if d == 1]
    return tuple(units + list(nonunit))
