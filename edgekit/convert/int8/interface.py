"""The model interface of a quantized TFLite: float, int8 or uint8 inputs/outputs, and a read-back.

ai-edge-quantizer's ``static_wi8_ai8`` leaves the graph inputs and outputs int8, and its recipe has
no float setting for the virtual INPUT/OUTPUT ops ("Unsupported op for ComputePrecision.FLOAT:
INPUT"). So edgekit rewrites the edges itself on the flatbuffer object API, the way TensorFlow's
``modify_model_interface`` does: ``--io float`` puts a QUANTIZE (float32 -> int8) behind each input
and a DEQUANTIZE behind each output; ``--io uint8`` puts QUANTIZE uint8 -> int8 / int8 -> uint8
requantizations there (same scale, zero point + 128: TFLite's uint8 <-> int8 mapping). The
edge tensors keep the ONNX names, so the serving_default signature and ``edgekit.load`` see the same
names as the float model.
"""
from __future__ import annotations

import collections

import numpy as np

from ...targets import IOType


def _fb():
    from ai_edge_litert import schema_py_generated as fb

    return fb


def read(model_bytes: bytes):
    """ModelT with every buffer's data inline.

    ai-edge-quantizer appends constant data after the flatbuffer and stores only (offset, size) in
    the Buffer table (schema.fbs: "offset > 1 ... data is stored outside the flatbuffer"); the object
    API would drop that tail on re-serialization, so the data is copied into the buffers here.
    """
    fb = _fb()
    raw = bytes(model_bytes)
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAs(raw, 0))
    for buf in model.buffers or []:
        if buf.offset and buf.offset > 1:
            buf.data = np.frombuffer(raw, dtype=np.uint8, count=buf.size, offset=buf.offset)
            buf.offset = buf.size = 0
    return model


def write(model) -> bytes:
    import flatbuffers

    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _opcode(model, name: str) -> int:
    fb = _fb()
    code = getattr(fb.BuiltinOperator, name)
    for i, oc in enumerate(model.operatorCodes):
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code:
            return i
    oc = fb.OperatorCodeT()
    oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = code, min(code, 127), 1
    model.operatorCodes.append(oc)
    return len(model.operatorCodes) - 1


def op_name(model, op) -> str:
    fb = _fb()
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    oc = model.operatorCodes[op.opcodeIndex]
    return names.get(max(oc.builtinCode, oc.deprecatedBuiltinCode), "CUSTOM")


def _edge_tensor(model, sg, src, kind: IOType):
    """A new tensor like ``src`` (an int8 edge) stored as ``kind``, taking over its name."""
    fb = _fb()
    t = fb.TensorT()
    t.name, t.shape = src.name, np.array(src.shape, dtype=np.int32)
    t.shapeSignature = src.shapeSignature
    buf = fb.BufferT()
    model.buffers.append(buf)
    t.buffer = len(model.buffers) - 1
    if kind is IOType.FLOAT:
        t.type = fb.TensorType.FLOAT32
    else:
        t.type = fb.TensorType.UINT8
        qp = fb.QuantizationParametersT()
        qp.scale = np.array(src.quantization.scale, dtype=np.float32)
        qp.zeroPoint = np.array(src.quantization.zeroPoint, dtype=np.int64) + 128
        t.quantization = qp
    src.name = (src.name.decode() if isinstance(src.name, bytes) else src.name) + "/int8"
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def _new_op(model, name: str, inputs, outputs):
    fb = _fb()
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = _opcode(model, name), list(inputs), list(outputs)
    if name == "QUANTIZE":
        op.builtinOptionsType, op.builtinOptions = fb.BuiltinOptions.QuantizeOptions, fb.QuantizeOptionsT()
    else:
        op.builtinOptionsType, op.builtinOptions = fb.BuiltinOptions.DequantizeOptions, fb.DequantizeOptionsT()
    return op


def set_interface(model, io: IOType) -> None:
    """Rewrite every int8 (or int16: w8a16) graph input/output of subgraph 0 as ``io`` (float or uint8);
    int8 = no change. int16 edges only become float (the scheme allows no other io with int16)."""
    fb = _fb()
    if io is IOType.INT8:
        return
    edge_types = (fb.TensorType.INT8, fb.TensorType.INT16) if io is IOType.FLOAT else (fb.TensorType.INT8,)
    sg = model.subgraphs[0]
    sg.inputs, sg.outputs = [int(i) for i in sg.inputs], [int(i) for i in sg.outputs]  # views are read-only
    remap = {}
    head, tail = [], []
    for pos, idx in enumerate(sg.inputs):
        if sg.tensors[idx].type not in edge_types:
            continue  # e.g. an input whose first consumer the accuracy-aware mode kept float
        new = _edge_tensor(model, sg, sg.tensors[idx], io)
        head.append(_new_op(model, "QUANTIZE", [new], [idx]))
        sg.inputs[pos] = remap[("in", idx)] = new
    sig_names = {m.tensorIndex: m.name for sd in model.signatureDefs or [] for m in sd.outputs or []}
    for pos, idx in enumerate(sg.outputs):
        if sg.tensors[idx].type not in edge_types:
            continue
        if idx in sig_names:  # the quantizer may have renamed it ("y_quantized"): users know the ONNX name
            sg.tensors[idx].name = sig_names[idx]
        new = _edge_tensor(model, sg, sg.tensors[idx], io)
        tail.append(_new_op(model, "DEQUANTIZE" if io is IOType.FLOAT else "QUANTIZE", [idx], [new]))
        sg.outputs[pos] = remap[("out", idx)] = new
    sg.operators = head + list(sg.operators) + tail
    for sd in model.signatureDefs or []:
        for m in sd.inputs or []:
            m.tensorIndex = remap.get(("in", m.tensorIndex), m.tensorIndex)
        for m in sd.outputs or []:
            m.tensorIndex = remap.get(("out", m.tensorIndex), m.tensorIndex)


def op_counts(model) -> dict:
    return dict(collections.Counter(op_name(model, op) for op in model.subgraphs[0].operators))


def float_ops(model) -> list[str]:
    """Ops that compute in float inside the graph: any float32 runtime tensor in or out.

    Allowed: QUANTIZE whose float input is a graph input and DEQUANTIZE whose float output is a graph
    output (the ``--io float`` edges). Constants (tensors with data) do not count.
    """
    fb = _fb()
    sg = model.subgraphs[0]
    ins, outs = set(sg.inputs), set(sg.outputs)

    def runtime_float(i):
        if i < 0:
            return False
        t = sg.tensors[i]
        data = model.buffers[t.buffer].data if t.buffer < len(model.buffers) else None
        return t.type == fb.TensorType.FLOAT32 and (data is None or len(data) == 0)

    bad = []
    for op in sg.operators:
        name = op_name(model, op)
        if name == "QUANTIZE" and all(i in ins for i in op.inputs if runtime_float(i)):
            continue
        if name == "DEQUANTIZE" and all(o in outs for o in op.outputs if runtime_float(o)):
            continue
        if any(runtime_float(i) for i in list(op.inputs) + list(op.outputs)):
            out = sg.tensors[op.outputs[0]].name
            bad.append(f"{name}({out.decode() if isinstance(out, bytes) else out})")
    return bad
