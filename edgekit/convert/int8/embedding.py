"""Embedding tables as EMBEDDING_LOOKUP, so the int4 recipe reaches them.

edgekit's converter lowers ONNX Gather to TFLite GATHER, but ai-edge-quantizer's blockwise int4 rule
(default_policy.py, dynamic_wi4_afp32_blockwise) covers EMBEDDING_LOOKUP and FULLY_CONNECTED only: a
token model's embedding table (often the largest weight) would stay float32. A GATHER on axis 0 of a
constant 2-D float table with statically shaped indices is the same lookup as

    CAST(int64 -> int32, if needed) -> RESHAPE([n]) -> EMBEDDING_LOOKUP(ids, table) -> RESHAPE(out shape)

(TFLite's embedding_lookup takes 1-D int32 ids: lite/kernels/embedding_lookup.cc). Only the w4 / w4a8
path rewrites; float and int8 files keep GATHER.
"""
from __future__ import annotations

import numpy as np


def _fb():
    from ai_edge_litert import schema_py_generated as fb

    return fb


def gathers_to_lookups(model) -> int:
    """Rewrite every eligible GATHER of subgraph 0 in place; returns how many."""
    from .interface import _opcode, op_name

    fb = _fb()
    sg = model.subgraphs[0]
    ops, done = [], 0
    for op in sg.operators:
        if op_name(model, op) != "GATHER" or len(op.inputs) < 2:
            ops.append(op)
            continue
        table, ids = (sg.tensors[i] for i in op.inputs[:2])
        opts = op.builtinOptions
        const = model.buffers[table.buffer].data is not None and len(model.buffers[table.buffer].data)
        shape = [int(d) for d in ids.shape]
        if (not const or table.type != fb.TensorType.FLOAT32
                or len(table.shape) != 2 or getattr(opts, "axis", 0) != 0 or getattr(opts, "batchDims", 0)
                or ids.type not in (fb.TensorType.INT32, fb.TensorType.INT64) or any(d <= 0 for d in shape)
                or (ids.shapeSignature is not None and any(int(d) < 0 for d in ids.shapeSignature))):
            ops.append(op)
            continue
        n = int(np.prod(shape))
        name = _name(sg.tensors[op.outputs[0]])
        src = op.inputs[1]
        if ids.type == fb.TensorType.INT64:
            cast = _tensor(model, sg, f"{name}/ids_int32", shape, fb.TensorType.INT32)
            ops.append(_op(model, _opcode(model, "CAST"), [src], [cast], fb.BuiltinOptions.CastOptions,
                           _cast_options(fb)))
            src = cast
        flat = _tensor(model, sg, f"{name}/ids_flat", [n], fb.TensorType.INT32)
        ops.append(_reshape(model, sg, src, flat, [n], f"{name}/ids_shape"))
        rows = _tensor(model, sg, f"{name}/rows", [n, int(table.shape[1])], fb.TensorType.FLOAT32)
        ops.append(_op(model, _opcode(model, "EMBEDDING_LOOKUP"), [flat, op.inputs[0]], [rows]))
        out = op.outputs[0]
        ops.append(_reshape(model, sg, rows, out, [int(d) for d in sg.tensors[out].shape], f"{name}/out_shape"))
        done += 1
    sg.operators = ops
    return done


def _name(t) -> str:
    return t.name.decode() if isinstance(t.name, bytes) else str(t.name)


def _cast_options(fb):
    o = fb.CastOptionsT()
    o.inDataType, o.outDataType = fb.TensorType.INT64, fb.TensorType.INT32
    return o


def _tensor(model, sg, name: str, shape, kind, data=None) -> int:
    fb = _fb()
    t = fb.TensorT()
    t.name, t.shape, t.type = name, np.array(shape, np.int32), kind
    buf = fb.BufferT()
    if data is not None:
        buf.data = np.frombuffer(np.ascontiguousarray(data).tobytes(), np.uint8)
    model.buffers.append(buf)
    t.buffer = len(model.buffers) - 1
    sg.tensors.append(t)
    return len(sg.tensors) - 1


def _op(model, opcode: int, inputs, outputs, options_type=0, options=None):
    fb = _fb()
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = opcode, list(inputs), list(outputs)
    if options is not None:
        op.builtinOptionsType, op.builtinOptions = options_type, options
    return op


def _reshape(model, sg, src: int, dst: int, shape, name: str):
    from .interface import _opcode

    fb = _fb()
    new_shape = _tensor(model, sg, name, [len(shape)], fb.TensorType.INT32, np.array(shape, np.int32))
    o = fb.ReshapeOptionsT()
    o.newShape = list(shape)
    return _op(model, _opcode(model, "RESHAPE"), [src, new_shape], [dst], fb.BuiltinOptions.ReshapeOptions, o)
