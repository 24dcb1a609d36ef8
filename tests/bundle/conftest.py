"""Tiny real models for bundle tests, built so the right answer is known without running them.

``colour_classifier``: x[1,3,8,8] -> GlobalAveragePool -> Flatten -> MatMul(GAIN * I) -> logits[1,3], so
class c scores GAIN * (normalized mean of channel c): a red image is class 0, green 1, blue 2.
``int8_pool_tflite``: a hand-built LiteRT flatbuffer, int8 input [1,8,8,3] (scale 1/255, zero point -128)
-> AVERAGE_POOL_2D 8x8 -> int8 [1,1,1,3]: the per-channel mean on the 0..1 scale, quantized I/O.
"""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgekit.data import PreprocessSpec, write_spec

GAIN = 1.0
SPEC = PreprocessSpec(size=(8, 8), mean=(0.5,), std=(0.25,))
LABELS = ["red", "green", "blue"]
IN_SCALE, IN_ZP = 1 / 255, -128


def colour_classifier(path, spec=SPEC, softmax=False):
    nodes = [helper.make_node("GlobalAveragePool", ["x"], ["p"]), helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("MatMul", ["f", "w"], ["logits" if not softmax else "z"])]
    if softmax:
        nodes.append(helper.make_node("Softmax", ["z"], ["logits"], axis=-1))
    graph = helper.make_graph(nodes, "colour", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 3])],
                              [numpy_helper.from_array((GAIN * np.eye(3)).astype(np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    write_spec(model, spec)
    onnx.save(model, str(path))
    return path


def expected_probs(rgb, spec=SPEC) -> np.ndarray:
    """What the colour classifier must answer for a constant image of colour ``rgb`` (float64 reference)."""
    norm = (np.asarray(rgb, np.float64) / 255 - np.asarray(spec.mean)) / np.asarray(spec.std)
    z = GAIN * norm
    e = np.exp(z - z.max())
    return e / e.sum()


def int8_pool_tflite(path):
    from ai_edge_litert import schema_py_generated as fb

    def tensor(name, shape, buf):
        q = fb.QuantizationParametersT()
        q.scale, q.zeroPoint = [IN_SCALE], [IN_ZP]  # AVERAGE_POOL int8 keeps input quantization on its output
        t = fb.TensorT()
        t.name, t.shape, t.type, t.buffer, t.quantization = name.encode(), shape, fb.TensorType.INT8, buf, q
        return t

    opts = fb.Pool2DOptionsT()
    opts.padding, opts.strideW, opts.strideH, opts.filterWidth, opts.filterHeight = fb.Padding.VALID, 1, 1, 8, 8
    op = fb.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    op.builtinOptionsType, op.builtinOptions = fb.BuiltinOptions.Pool2DOptions, opts
    sub = fb.SubGraphT()
    sub.tensors = [tensor("x", [1, 8, 8, 3], 1), tensor("mean", [1, 1, 1, 3], 2)]
    sub.inputs, sub.outputs, sub.operators, sub.name = [0], [1], [op], b"main"
    code = fb.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = fb.BuiltinOperator.AVERAGE_POOL_2D
    code.version = 2  # int8 kernels are version 2 (tensorflow/lite/core/kernels/register.cc)
    model = fb.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [sub]
    model.buffers = [fb.BufferT() for _ in range(3)]  # buffer 0 is the empty sentinel by convention
    model.description = b"int8 pool"
    import flatbuffers

    b = flatbuffers.Builder(1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    path.write_bytes(bytes(b.Output()))
    return path


@pytest.fixture
def onnx_model(tmp_path):
    return colour_classifier(tmp_path / "colour.onnx")


@pytest.fixture
def labels_file(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    return path
