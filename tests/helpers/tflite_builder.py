"""A tiny TFLite writer for tests, built on the flatbuffer schema that ships in ai-edge-litert.

No binary model is copied from elsewhere: every .tflite a test runs is written here with the schema's
object API (ModelT / SubGraphT / TensorT / OperatorT / BufferT) and the file identifier ``TFL3``
(tensorflow/lite/schema/schema.fbs: ``file_identifier "TFL3"``).

``Graph`` is a minimal builder; the ``*_model`` functions make the graphs the runtime tests need.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

_TYPES = {np.dtype("float32"): "FLOAT32", np.dtype("int8"): "INT8", np.dtype("uint8"): "UINT8",
          np.dtype("int32"): "INT32", np.dtype("int64"): "INT64", np.dtype("int16"): "INT16"}


def _fb():
    from ai_edge_litert import schema_py_generated as fb

    return fb


class Graph:
    """One subgraph: add tensors and ops, then ``write(path)``.

    Buffer 0 is the empty sentinel buffer every TFLite model starts with (schema.fbs: "buffer 0 ... is
    an empty buffer"); activations point at it, constants get their own buffer.
    """

    def __init__(self):
        fb = _fb()
        self.fb = fb
        self.tensors, self.operators, self.opcodes = [], [], []
        self.buffers = [fb.BufferT()]
        self.inputs, self.outputs = [], []
        self.signature: dict | None = None

    def tensor(self, name: str, shape, dtype="float32", data=None, scale=None, zero_point=None,
               signature=None) -> int:
        fb = self.fb
        t = fb.TensorT()
        t.name = name
        t.shape = [1 if d < 0 else int(d) for d in shape]
        if any(d < 0 for d in shape):
            t.shapeSignature = [int(d) for d in shape]
        t.type = getattr(fb.TensorType, _TYPES[np.dtype(dtype)])
        t.buffer = 0
        if data is not None:
            buf = fb.BufferT()
            buf.data = np.frombuffer(np.ascontiguousarray(data, dtype=dtype).tobytes(), np.uint8)
            self.buffers.append(buf)
            t.buffer = len(self.buffers) - 1
        if scale is not None:
            q = fb.QuantizationParametersT()
            q.scale = [float(s) for s in np.atleast_1d(scale)]
            q.zeroPoint = [int(z) for z in np.atleast_1d(zero_point or 0)]
            t.quantization = q
        self.tensors.append(t)
        return len(self.tensors) - 1

    def op(self, builtin: str, inputs, outputs, options=None, options_type: str | None = None):
        fb = self.fb
        code = getattr(fb.BuiltinOperator, builtin)
        if code not in self.opcodes:
            self.opcodes.append(code)
        o = fb.OperatorT()
        o.opcodeIndex = self.opcodes.index(code)
        o.inputs, o.outputs = list(inputs), list(outputs)
        if options is not None:
            o.builtinOptionsType = getattr(fb.BuiltinOptions, options_type)
            o.builtinOptions = options
        self.operators.append(o)

    def fully_connected(self, x: int, w: int, b: int, out: int, relu: bool = False):
        opts = self.fb.FullyConnectedOptionsT()
        opts.fusedActivationFunction = self.fb.ActivationFunctionType.RELU if relu else 0
        self.op("FULLY_CONNECTED", [x, w, b], [out], opts, "FullyConnectedOptions")

    def to_bytes(self) -> bytes:
        import flatbuffers

        fb = self.fb
        sub = fb.SubGraphT()
        sub.tensors, sub.operators = self.tensors, self.operators
        sub.inputs, sub.outputs, sub.name = self.inputs, self.outputs, "main"
        model = fb.ModelT()
        model.version = 3  # the schema version every current TFLite file carries
        model.description = "edgekit test model"
        model.subgraphs, model.buffers = [sub], self.buffers
        codes = []
        for c in self.opcodes:
            oc = fb.OperatorCodeT()
            # builtin codes < 127 also go in the deprecated int8 field, which old readers use
            oc.builtinCode, oc.deprecatedBuiltinCode, oc.version = c, min(c, 127), 1
            codes.append(oc)
        model.operatorCodes = codes
        if self.signature is not None:
            model.signatureDefs = [self._signature()]
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())

    def _signature(self):
        fb = self.fb
        sig = fb.SignatureDefT()
        sig.signatureKey, sig.subgraphIndex = "serving_default", 0

        def maps(indices, names):
            out = []
            for i, n in zip(indices, names):
                m = fb.TensorMapT()
                m.name, m.tensorIndex = n, i
                out.append(m)
            return out

        sig.inputs = maps(self.inputs, self.signature["inputs"])
        sig.outputs = maps(self.outputs, self.signature["outputs"])
        return sig

    def write(self, path) -> Path:
        path = Path(path)
        path.write_bytes(self.to_bytes())
        return path


# ----------------------------------------------------------------------------- ready-made models
def add_relu_model(path, n: int = 4, signature: bool = False) -> Path:
    """Float: inputs ``a``, ``b`` [1, n]; outputs, in this order, ``z_relu`` = relu(a + b), ``a_sum`` = a + b.

    The output order is deliberately not alphabetical so tests can see order is the model's.
    With ``signature`` the serving_default signature renames them (inputs x1/x2, outputs out_relu/out_sum).
    """
    g = Graph()
    a, b = g.tensor("a", [1, n]), g.tensor("b", [1, n])
    s, r = g.tensor("a_sum", [1, n]), g.tensor("z_relu", [1, n])
    g.op("ADD", [a, b], [s], g.fb.AddOptionsT(), "AddOptions")
    g.op("RELU", [s], [r])
    g.inputs, g.outputs = [a, b], [r, s]
    if signature:
        g.signature = {"inputs": ["x1", "x2"], "outputs": ["out_relu", "out_sum"]}
    return g.write(path)


def fc_model(path, weights: np.ndarray, bias: np.ndarray, batch: int = 1, relu: bool = False) -> Path:
    """Float FULLY_CONNECTED: y = x @ weights.T + bias; ``batch=-1`` makes the batch dim dynamic."""
    g = Graph()
    out_f, in_f = weights.shape
    x = g.tensor("x", [batch, in_f])
    w = g.tensor("w", [out_f, in_f], data=weights.astype(np.float32))
    b = g.tensor("bias", [out_f], data=bias.astype(np.float32))
    y = g.tensor("y", [batch, out_f])
    g.fully_connected(x, w, b, y, relu)
    g.inputs, g.outputs = [x], [y]
    return g.write(path)


def int8_fc_model(path, weights_q: np.ndarray, w_scale: float, bias_q: np.ndarray,
                  x_scale: float, x_zp: int, y_scale: float, y_zp: int, dtype: str = "int8") -> Path:
    """Fully integer FULLY_CONNECTED with ``dtype`` (int8) input and output.

    Per TFLite's int8 spec (https://ai.google.dev/edge/litert/models/quantization_spec): weights int8
    symmetric (zero point 0), bias int32 with scale x_scale * w_scale and zero point 0.
    """
    g = Graph()
    out_f, in_f = weights_q.shape
    x = g.tensor("x", [1, in_f], dtype, scale=x_scale, zero_point=x_zp)
    w = g.tensor("w", [out_f, in_f], "int8", data=weights_q, scale=w_scale, zero_point=0)
    b = g.tensor("bias", [out_f], "int32", data=bias_q, scale=x_scale * w_scale, zero_point=0)
    y = g.tensor("y", [1, out_f], dtype, scale=y_scale, zero_point=y_zp)
    g.fully_connected(x, w, b, y)
    g.inputs, g.outputs = [x], [y]
    return g.write(path)


def uint8_add_model(path, n: int, a_scale: float, a_zp: int, out_scale: float, out_zp: int) -> Path:
    """Fully uint8 ADD of the input and itself: y = 2 x (real values), requantized to the output's scale."""
    g = Graph()
    x = g.tensor("x", [1, n], "uint8", scale=a_scale, zero_point=a_zp)
    y = g.tensor("y", [1, n], "uint8", scale=out_scale, zero_point=out_zp)
    g.op("ADD", [x, x], [y], g.fb.AddOptionsT(), "AddOptions")
    g.inputs, g.outputs = [x], [y]
    return g.write(path)


def matmul_stack_model(path, features: int, layers: int, seed: int = 0) -> Path:
    """A float stack of FULLY_CONNECTED+RELU layers, features x features each (benchmark-sized models)."""
    rng = np.random.default_rng(seed)
    g = Graph()
    x = g.tensor("x", [1, features])
    first = x
    for i in range(layers):
        w = g.tensor(f"w{i}", [features, features],
                     data=rng.standard_normal((features, features)).astype(np.float32) / np.sqrt(features))
        b = g.tensor(f"b{i}", [features], data=np.zeros(features, np.float32))
        y = g.tensor(f"h{i}", [1, features])
        g.fully_connected(x, w, b, y, relu=True)
        x = y
    g.inputs, g.outputs = [first], [x]
    return g.write(path)
