"""Per-tensor error of the quantized TFLite against its float TFLite, and the ops' sensitivity.

Both models run in the LiteRT interpreter with every intermediate tensor preserved (and no XNNPACK,
which would fuse them away); tensors are matched by name (ai-edge-quantizer keeps the float
model's names), quantized ones are dequantized with their own scale/zero point. The SQNR sums are
accumulated sample by sample. ``delta_db`` is the SQNR lost across the producing op (worst input
SQNR minus its output's), which is what the accuracy-aware mode ranks by (as edgekit's ONNX side).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .options import TensorError

CAP_DB = 100.0  # SQNR of an exact tensor (graph input): finite so deltas stay comparable
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


def tensor_errors(float_bytes: bytes, quant_bytes: bytes, samples, kept=(), kind: str = "float") -> list[TensorError]:
    """One TensorError per activation tensor both models have, most sensitive producer first."""
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
    sqnr = {n: _db(sig[n], err[n]) for n in names}
    kept = set(kept)
    rows = []
    for n in names:
        ins = [sqnr.get(i, CAP_DB) for i in inputs.get(n, [])] or [CAP_DB]
        rows.append(TensorError(n, producer[n], np.dtype(q_det[n]["dtype"]).name,
                                round(sqnr[n], 3), float(peak[n]), round(min(ins) - sqnr[n], 3),
                                kind if n in kept else ""))
    rows.sort(key=lambda r: -r.delta_db)
    return rows


def candidates(rows: list[TensorError], already=()) -> list[str]:
    """Op output tensors to keep (float/int16), most sensitive first."""
    skip = set(already)
    return [r.tensor for r in rows if r.op in FALLBACK_OPS and r.delta_db > 0 and r.tensor not in skip]


def _db(signal: float, noise: float) -> float:
    if noise <= 0:
        return CAP_DB
    if signal <= 0:
        return -CAP_DB
    return min(CAP_DB, 10.0 * math.log10(signal / noise))


def write_report(result, path) -> None:
    """JSON or Markdown by extension, written atomically."""
    import json
    from pathlib import Path

    from ..._io import write_text

    path = Path(path)
    if path.suffix.lower() == ".json":
        write_text(path, json.dumps(result.to_dict(), indent=2) + "\n")
        return
    lines = [f"# TFLite INT8 report: {result.output.name}", "",
             f"- mode: {result.mode}, io: {result.io}, calibration samples: {result.calib_samples}",
             f"- float ops inside the graph: {', '.join(result.float_ops) or 'none'}"]
    if result.drop is not None:
        lines.append(f"- drop ({result.drop_metric}): {result.drop:.2f} points; budget met: {result.budget_met}")
    lines.append(f"- kept ({result.fallback or '-'}): {', '.join(result.kept) or 'none'}")
    lines += ["", "| tensor | op | type | SQNR dB | SQNR lost dB | max abs error | kept |",
              "|---|---|---|---:|---:|---:|---|"]
    lines += [f"| {r.tensor} | {r.op} | {r.dtype} | {r.sqnr_db:.2f} | {r.delta_db:.2f} | {r.max_abs_error:.4g} | "
              f"{r.kept} |" for r in result.tensors]
    write_text(path, "\n".join(lines) + "\n")
