"""Serialize a TModel to a .tflite flatbuffer with the schema classes shipped in ai-edge-litert.

Hand-written rather than via TensorFlow's converter because the whole point of issue 4 is no
TensorFlow; the schema's generated object API (ModelT, SubGraphT, ...) does the flatbuffer work.
"""
from __future__ import annotations

import numpy as np

from .ir import TModel, TTensor

_TYPES = {
    "float32": "FLOAT32", "float16": "FLOAT16", "int32": "INT32", "int64": "INT64", "uint8": "UINT8",
    "int8": "INT8", "int16": "INT16", "bool": "BOOL", "float64": "FLOAT64", "uint32": "UINT32",
    "uint16": "UINT16", "uint64": "UINT64", "bfloat16": "BFLOAT16",
}


def holds(dtype) -> bool:
    """Whether a TFLite tensor can hold ``dtype`` (int4, float8, string, complex cannot, here)."""
    return np.dtype(dtype).name in _TYPES
# TFLite's own converter aligns every buffer to 16 bytes (so kernels may use aligned SIMD loads on the
# mapped file); we do the same.
_ALIGN = 16
# flatbuffers uses signed 32-bit offsets; keep 16 MiB for the non-buffer tables
_MAX_FLATBUFFER = 2**31 - 2**24


def tensor_type(dtype: np.dtype) -> int:
    from ai_edge_litert import schema_py_generated as fb

    name = _TYPES.get(np.dtype(dtype).name)
    if name is None:   # lowerings refuse such values first (NodeCtx); this is the last line of defence
        from ..errors import ConvertError

        raise ConvertError(f"a tensor of dtype {dtype} cannot be written to TFLite",
                           f"TFLite tensors here hold {', '.join(sorted(_TYPES))}",
                           "cast the value to one of these types in the model")
    return getattr(fb.TensorType, name)


def _options_type(options) -> int:
    """The BuiltinOptions union tag of an options object (its class name without the 'T')."""
    from ai_edge_litert import schema_py_generated as fb

    return getattr(fb.BuiltinOptions, type(options).__name__[:-1])


def build(model: TModel) -> "fb.ModelT":
    return build_signatures({"serving_default": model})


def build_signatures(models: "dict[str, TModel]") -> "fb.ModelT":
    """One flatbuffer with one subgraph and SignatureDef per entry (key = signature name), in order.

    The subgraphs share the operator-code table and, when there is more than one, every constant
    whose bytes are equal (an LM's prefill and decode graphs hold the same weights: stored once).
    Metadata comes from the first model. One model gives exactly the single-signature file.
    """
    from ai_edge_litert import schema_py_generated as fb

    buffers = [fb.BufferT()]          # buffer 0 is the empty buffer by convention
    codes: dict[tuple[str, int], int] = {}
    shared: dict | None = {} if len(models) > 1 else None
    subgraphs, sigs = [], []
    for i, (key, model) in enumerate(models.items()):
        # tensor names unique across the file (ai-edge-quantizer requires it): the first subgraph keeps
        # the ONNX names, later ones get "<signature>/"; SignatureDefs map the plain names either way
        sub, sig = _subgraph(model, buffers, codes, shared, prefix="" if i == 0 else f"{key}/")
        sub.name = "main" if len(models) == 1 else key
        sig.signatureKey = key
        sig.subgraphIndex = i
        subgraphs.append(sub)
        sigs.append(sig)
    first = next(iter(models.values()))

    m = fb.ModelT()
    m.version = 3
    m.description = first.description
    m.subgraphs = subgraphs
    m.signatureDefs = sigs
    m.operatorCodes = []
    for (opcode, version), _ in sorted(codes.items(), key=lambda kv: kv[1]):
        code = fb.OperatorCodeT()
        value = getattr(fb.BuiltinOperator, opcode)
        code.builtinCode = value
        code.deprecatedBuiltinCode = min(value, 127)  # the int8 field old readers use (127 = placeholder)
        code.version = version
        m.operatorCodes.append(code)
    m.metadata = []
    for key, data in first.metadata.items():
        md = fb.MetadataT()
        md.name = key
        md.buffer = len(buffers)
        buf = fb.BufferT()
        buf.data = np.frombuffer(data, dtype=np.uint8)
        buffers.append(buf)
        m.metadata.append(md)
    m.buffers = buffers
    return m


def _buffer_for(data: np.ndarray, buffers: list, shared: dict | None) -> int:
    from ai_edge_litert import schema_py_generated as fb

    raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8)  # a view, not a copy
    if shared is not None:
        import hashlib

        key = (data.dtype.str, hashlib.sha256(raw).digest())
        if key in shared:
            return shared[key]
    buf = fb.BufferT()
    buf.data = raw
    buffers.append(buf)
    if shared is not None:
        shared[key] = len(buffers) - 1
    return len(buffers) - 1


def _subgraph(model: TModel, buffers: list, codes: dict, shared: dict | None, prefix: str = ""):
    from ai_edge_litert import schema_py_generated as fb

    index: dict[int, int] = {}
    tensors: list[TTensor] = []

    def tid(t: TTensor | None) -> int:
        if t is None:
            return -1
        if t.uid not in index:
            index[t.uid] = len(tensors)
            tensors.append(t)
        return index[t.uid]

    operators = []
    for t in model.inputs:
        tid(t)
    for op in model.ops:
        key = (op.opcode, op.version)
        if key not in codes:
            codes[key] = len(codes)
        o = fb.OperatorT()
        o.opcodeIndex = codes[key]
        o.inputs = [tid(t) for t in op.inputs]
        o.outputs = [tid(t) for t in op.outputs]
        if op.options is not None:
            o.builtinOptionsType = _options_type(op.options)
            o.builtinOptions = op.options
        operators.append(o)
    for t in model.outputs:
        tid(t)

    tflite_tensors = []
    for t in tensors:
        tt = fb.TensorT()
        tt.name = prefix + t.name
        tt.shape = _shape(t)
        tt.type = tensor_type(t.dtype)
        tt.hasRank = True
        if t.data is not None:
            tt.buffer = _buffer_for(t.data, buffers, shared)
        tflite_tensors.append(tt)

    sub = fb.SubGraphT()
    sub.tensors = tflite_tensors
    sub.inputs = [index[t.uid] for t in model.inputs]
    sub.outputs = [index[t.uid] for t in model.outputs]
    sub.operators = operators

    sig = fb.SignatureDefT()
    sig.inputs = [_tensor_map(t.name, index[t.uid]) for t in model.inputs]
    sig.outputs = [_tensor_map(t.name, index[t.uid]) for t in model.outputs]
    return sub, sig


def _shape(t: TTensor) -> np.ndarray:
    """A TFLite shape is int32: a dimension beyond it is one line, not numpy's OverflowError."""
    if any(not -1 <= int(d) <= 2**31 - 1 for d in t.shape):
        from ..errors import ConvertError

        raise ConvertError(f"tensor {t.name!r} has shape {list(t.shape)}", "TFLite dimensions are 32-bit",
                           "check the model's declared sizes")
    return np.asarray(t.shape, dtype=np.int32)


def _tensor_map(name: str, index: int):
    from ai_edge_litert import schema_py_generated as fb

    tm = fb.TensorMapT()
    tm.name = name
    tm.tensorIndex = index
    return tm


def serialize(model: TModel) -> memoryview:
    """The flatbuffer bytes (a view into the builder's buffer: write it out, no extra copy)."""
    return serialize_signatures({"serving_default": model})


def serialize_signatures(models: "dict[str, TModel]") -> memoryview:
    """``serialize`` for several signatures (``build_signatures``) in one file."""
    import flatbuffers

    m = build_signatures(models)
    for buf in m.buffers:
        if buf.data is not None and len(buf.data):
            buf.__class__ = _AlignedBufferT
    size = sum(len(b.data) + _ALIGN for b in m.buffers if b.data is not None)
    if size > _MAX_FLATBUFFER:
        from ..errors import ConvertError

        raise ConvertError(f"the model's weights take {size / 2**30:.2f} GiB",
                           "a TFLite flatbuffer holds at most 2 GiB (32-bit offsets)",
                           "use --fp16 to halve the weights, or a smaller model")
    builder = flatbuffers.Builder(size + 65536)   # one allocation instead of repeated doubling
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return memoryview(builder.Bytes)[builder.Head():]


class _AlignedBufferT:
    """A BufferT whose Pack starts the data on a 16-byte boundary (the generated Pack aligns to 1)."""

    data: np.ndarray

    def Pack(self, builder):
        from ai_edge_litert import schema_py_generated as fb

        n = len(self.data)
        builder.StartVector(1, n, _ALIGN)
        builder.head -= n
        builder.Bytes[builder.head:builder.head + n] = memoryview(self.data)
        vec = builder.EndVector()
        fb.BufferStart(builder)
        fb.BufferAddData(builder, vec)
        return fb.BufferEnd(builder)
