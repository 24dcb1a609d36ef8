"""Per-tensor error of the quantized TFLite against its float TFLite, and the ops' sensitivity.

Both models run in the LiteRT interpreter with every intermediate tensor preserved (and no XNNPACK,
which would fuse them away); tensors are matched by name (ai-edge-quantizer keeps the float
model's names), quantized ones are dequantized with their own scale/zero point. The SQNR sums are
accumulated sample by sample. ``delta_db`` is the SQNR lost across the producing op (worst input
SQNR minus its output's); edgekit.quantize.ranking ranks the rows for both formats.
"""
from __future__ import annotations

import warnings

import numpy as np

from ...quantize.ranking import CAP_DB, db
from ...quantize.result import LayerError

# Ops worth keeping float/int16: they do arithmetic whose rounding compounds. Data movement
# (TRANSPOSE, RESHAPE, PAD, MAX_POOL_2D, CONCATENATION of equal scales) gains nothing.
FALLBACK_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV", "BATCH_MATMUL", "ADD", "SUB",
                "MUL", "DIV", "MEAN", "SUM", "AVERAGE_POOL_2D", "SOFTMAX", "LOGISTIC", "TANH", "HARD_SWISH",
                "GELU", "CONCATENATION", "RESIZE_BILINEAR", "SQUARED_DIFFERENCE", "RSQRT", "SQRT"}


def _interpreter(model_bytes: bytes):
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "preserve_all_tensors is for debugging": it is debugging
        return Interpreter(model_content=bytes(model_bytes), experimental_preserve_all_tensors=True,
                           experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)


def _dequant(arr: np.ndarray, det: dict) -> np.ndarray:
    scale, zp = det.get("quantization", (0.0, 0))
    if arr.dtype.kind in "iu" and scale:
        # TFLite affine quantization: real = scale * (q - zero_point) (schema.fbs QuantizationParameters)
        return (arr.astype(np.float64) - zp) * scale
    return arr.astype(np.float64)


def _run(interp, runner, feeds) -> None:
    args = {}
    for name, det in runner.get_input_details().items():
        x = np.asarray(feeds[name])
        scale, zp = det["quantization"]
        if np.dtype(det["dtype"]).kind in "iu" and scale and x.dtype.kind == "f":
            lim = np.iinfo(det["dtype"])
            x = np.clip(np.round(x / scale) + zp, lim.min, lim.max)
        args[name] = x.astype(det["dtype"])
    runner(**args)


def _graph(model_bytes: bytes):
    """(producer op name per tensor name, runtime input tensor names per output name, constant names)."""
    from .interface import op_name, read

    model = read(model_bytes)
    sg = model.subgraphs[0]
    from .complete import _name as tensor_name

    name = lambda i: tensor_name(sg.tensors[i])  # noqa: E731
    const = {name(i) for i, t in enumerate(sg.tensors)
             if model.buffers[t.buffer].data is not None and len(model.buffers[t.buffer].data)}
    producer, inputs = {}, {}
    for op in sg.operators:
        for o in op.outputs:
            producer[name(o)] = op_name(model, op)
            inputs[name(o)] = [name(i) for i in op.inputs if i >= 0 and name(i) not in const]
    return producer, inputs, const


def tensor_errors(float_bytes: bytes, quant_bytes: bytes, samples) -> list[LayerError]:
    """One LayerError per activation tensor both models have (named by the tensor: the fallback keeps
    the op writing it)."""
    f_int, q_int = _interpreter(float_bytes), _interpreter(quant_bytes)
    f_run, q_run = f_int.get_signature_runner(), q_int.get_signature_runner()
    producer, inputs, const = _graph(float_bytes)
    f_det = {d["name"]: d for d in f_int.get_tensor_details() if d["name"] not in const}
    q_det = {d["name"]: d for d in q_int.get_tensor_details()}
    names = [n for n in f_det if n in q_det and n in producer]
    sig = dict.fromkeys(names, 0.0)
    err = dict.fromkeys(names, 0.0)
    peak = dict.fromkeys(names, 0.0)
    for feeds in samples:
        _run(f_int, f_run, feeds)
        _run(q_int, q_run, feeds)
        for n in names:
            f = f_int.get_tensor(f_det[n]["index"]).astype(np.float64)
            q = _dequant(q_int.get_tensor(q_det[n]["index"]), q_det[n])
            if f.shape != q.shape:
                continue
            sig[n] += float(np.sum(f * f))
            err[n] += float(np.sum((f - q) ** 2))
            peak[n] = max(peak[n], float(np.max(np.abs(f - q))) if f.size else 0.0)
    sqnr = {n: db(sig[n], err[n]) for n in names}
    rows = []
    for n in names:
        ins = [sqnr.get(i, CAP_DB) for i in inputs.get(n, [])] or [CAP_DB]
        rows.append(LayerError(n, producer[n], n, round(sqnr[n], 3), round(min(ins) - sqnr[n], 3),
                               dtype=np.dtype(q_det[n]["dtype"]).name, max_abs_error=float(peak[n])))
    return rows
