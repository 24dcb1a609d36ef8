"""Calibration: activation ranges for static INT8, saved in onnxruntime's calibration-cache format.

MinMax (the default) is hand-driven here instead of through ``MinMaxCalibrater.collect_data``:

- onnxruntime's MinMaxCalibrater adds a ReduceMin and a ReduceMax (+ Reshape) for every float
  tensor and runs that graph with optimizations disabled: on MobileNetV2 about 4x the float model's
  time. We probe only the tensors the quantizer reads, with ops onnxruntime runs in its fast
  layout, and keep optimizations on (see ``_augment``); samples run side by side (see ``workers``).
- its ``compute_data`` stacks every sample's outputs in Python; we keep a running min/max.
- its ``CalibMaxIntermediateOutputs`` drops samples (onnxruntime 1.31 calibrate.py, collect_data
  clears the buffer at the limit without computing it), so large sets cannot use it.

Entropy and percentile go through onnxruntime's HistogramCalibrater, fed chunk by chunk so memory
stays flat (each collect_data call folds its chunk into the histograms).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError, EdgekitError, QuantizeError
from .config import Method

CHUNK = 16  # samples per HistogramCalibrater.collect_data call (memory: CHUNK x all activations)
MAX_WORKERS = 4  # beyond this, memory traffic, not cores, limits calibration on typical edge hosts
PERCENTILE = 99.999  # onnxruntime's default for the percentile method, stated so docs can cite it


def _op_types() -> list[str]:
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    return sorted(set(QLinearOpsRegistry) | set(QDQRegistry))


def _ort_error(exc: Exception):
    # Any edgekit error raised by the data reader inside onnxruntime already says what to do: pass it on.
    if isinstance(exc, EdgekitError):
        return exc
    if isinstance(exc.__cause__, EdgekitError):
        return exc.__cause__
    return QuantizeError("calibration failed in onnxruntime", str(exc).splitlines()[0] if str(exc) else
                         type(exc).__name__, "rerun with --debug")


_ACTS = ("Relu", "Clip")


def _nonneg(node, inits) -> bool:
    """Relu, or Clip whose lower bound is >= 0: the tensor's minimum cannot be below 0."""
    if node is None or node.op_type not in _ACTS:
        return False
    if node.op_type == "Relu":
        return True
    from onnx import numpy_helper

    for a in node.attribute:  # Clip-6: bounds are attributes
        if a.name == "min":
            return a.f >= 0
    if len(node.input) > 1 and node.input[1] in inits:  # Clip-11+: bounds are inputs
        return float(numpy_helper.to_array(inits[node.input[1]])) >= 0
    return False


def _augment(pre: Path):
    """Add cheap range probes to the float graph.

    Returns the augmented model, probes (tensor, width of its slice of the max row, has a min) and
    aliases (tensor -> tensor whose range it takes).

    - A tensor read only by one Relu/Clip is not probed: the quantizer gives it the activation
      output's range anyway (base_quantizer.adjust_tensor_ranges). Should that activation be kept
      float, the range is still right in effect: values the activation would clip saturate instead.
    - Max is a GlobalMaxPool for 4-D tensors, which onnxruntime runs in its blocked NCHWc layout
      without reordering the tensor back to NCHW first (ReduceMax would force that copy).
    - Min is skipped for Relu/Clip(min >= 0) outputs: the quantizer widens every range to include 0
      (quant_utils.compute_scale_zp), so a min >= 0 is exactly equivalent to 0.
    - All maxima are concatenated into one output row (per-channel maxima of 4-D tensors), all
      minima into another: two outputs to fetch and fold per sample instead of one per probe.
    """
    import onnx
    from onnx import helper, numpy_helper
    from onnxruntime.quantization.calibrate import CalibraterBase

    model = onnx.load(str(pre))
    tensors, value_infos = CalibraterBase.select_tensors_to_calibrate(_Ops(), model)
    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    outputs = {o.name for o in model.graph.output}
    readers = {}
    for n in model.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    model.graph.initializer.append(numpy_helper.from_array(np.array([1, -1], np.int64), "__ek_row"))
    probes, aliases, rows = [], {}, {"max": [], "min": []}
    for t in sorted(tensors):
        if t not in outputs and len(readers.get(t, [])) == 1 and readers[t][0].op_type in _ACTS \
                and readers[t][0].output[0] in tensors:
            aliases[t] = readers[t][0].output[0]
            continue
        tt = value_infos[t].type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 0 for d in tt.shape.dim] \
            if tt.HasField("shape") else []
        channels = len(dims) == 4 and dims[0] * dims[1] > 0  # static N, C: the row slice has N*C values
        op, kw = ("GlobalMaxPool", {}) if channels else ("ReduceMax", {"keepdims": 0})
        model.graph.node.append(helper.make_node(op, [t], [f"{t}__ek_max"], **kw))
        rows["max"].append(_row(model, f"{t}__ek_max", tt.elem_type))
        has_min = not _nonneg(producer.get(t), inits)
        if has_min:
            model.graph.node.append(helper.make_node("ReduceMin", [t], [f"{t}__ek_min"], keepdims=0))
            rows["min"].append(_row(model, f"{t}__ek_min", tt.elem_type))
        probes.append((t, dims[0] * dims[1] if channels else 1, has_min))
    for kind, parts in rows.items():
        if parts:
            model.graph.node.append(helper.make_node("Concat", parts, [f"__ek_{kind}"], axis=1))
            model.graph.output.append(helper.make_tensor_value_info(f"__ek_{kind}", onnx.TensorProto.FLOAT, None))
    return model, probes, aliases


def _row(model, name: str, elem: int) -> str:
    """Reshape a probe output to [1, k] float32 so every probe can go into one Concat."""
    from onnx import TensorProto, helper

    if elem != TensorProto.FLOAT:  # float16 tensors: their extrema are exact in float32
        model.graph.node.append(helper.make_node("Cast", [name], [name + "_f32"], to=TensorProto.FLOAT))
        name += "_f32"
    model.graph.node.append(helper.make_node("Reshape", [name, "__ek_row"], [name + "_row"]))
    return name + "_row"


class _Ops:
    """Stand-in ``self`` for CalibraterBase.select_tensors_to_calibrate: which op types to look at."""
    op_types_to_calibrate = property(lambda self: _op_types())


def workers() -> int:
    """Samples calibrated at once. Each run uses one thread: at batch 1, running samples side by side
    keeps the cores busier than splitting one sample's small convolutions across threads, and the
    memory-bound probes of one sample overlap the next sample's arithmetic."""
    return max(1, min(os.cpu_count() or 1, MAX_WORKERS))


def in_flight() -> int:
    """Samples submitted but not yet folded into the ranges (what streaming holds at most)."""
    return 2 * workers() if workers() > 1 else 1


def _session(model):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if workers() > 1:
        opts.intra_op_num_threads = 1
    # From bytes: no temporary copy of the model on disk.
    return ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])


def _run_all(sess, names, reader):
    """Yield the probe outputs of every sample; up to ``in_flight()`` samples run concurrently."""
    if workers() == 1:
        for feeds in reader:
            yield sess.run(names, feeds)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers(), thread_name_prefix="edgekit-calib") as pool:
        pending = deque()
        try:
            for feeds in reader:  # the reader (data decoding, checks, progress) stays on this thread
                pending.append(pool.submit(sess.run, names, feeds))
                del feeds
                while len(pending) >= in_flight():
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:  # Ctrl-C or a data error: do not start what is still queued
                fut.cancel()


def minmax_ranges(pre: Path, reader, tmp: Path):
    """Min/max of every tensor the quantizer needs, over all samples of ``reader`` (running, not stored)."""
    from onnxruntime.quantization.calibrate import CalibrationMethod, TensorsData

    model, probes, aliases = _augment(pre)
    if not probes:
        raise QuantizeError("nothing to calibrate", "no float tensor feeds an op onnxruntime can quantize",
                            "check the model, or use --mode dynamic|fp16")
    sess = _session(model)
    del model
    names = [o.name for o in sess.get_outputs() if o.name in ("__ek_max", "__ek_min")]
    hi = np.full(sum(w for _, w, _ in probes), -np.inf, np.float32)
    lo = np.full(sum(1 for *_, m in probes if m), np.inf, np.float32)
    seen = 0
    for outs in _run_all(sess, names, reader):
        np.maximum(hi, outs[0][0], out=hi)
        if len(outs) > 1:
            np.minimum(lo, outs[1][0], out=lo)
        seen += 1
    if not seen:
        raise DataError("no calibration samples were read", "the data source yielded nothing", "check --calib")
    ranges, at, at_min = {}, 0, 0
    for t, width, has_min in probes:
        low = 0.0  # Relu/Clip(min >= 0) output: the quantizer widens the range to include 0 anyway
        if has_min:
            low, at_min = float(lo[at_min]), at_min + 1
        ranges[t] = (low, float(hi[at:at + width].max()))
        at += width
    for t in aliases:
        src = t
        while src in aliases:  # Conv -> Relu -> Clip chains
            src = aliases[src]
        ranges[t] = ranges[src]
    return TensorsData(CalibrationMethod.MinMax, {t: (np.array([a], np.float32), np.array([b], np.float32))
                                                  for t, (a, b) in ranges.items()})


def histogram_ranges(pre: Path, reader, method: Method, tmp: Path):
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    kind = CalibrationMethod.Entropy if method is Method.ENTROPY else CalibrationMethod.Percentile
    extra = {"percentile": PERCENTILE} if method is Method.PERCENTILE else {}
    cal = create_calibrator(pre, _op_types(), augmented_model_path=str(tmp / "augmented_hist.onnx"),
                            calibrate_method=kind, extra_options=extra)
    while reader.has_more():
        reader.chunk_left = CHUNK
        cal.collect_data(reader)
    reader.chunk_left = None
    return cal.compute_data()


def calibrate(pre: Path, reader, cache: Path, method: Method, tmp: Path) -> None:
    """Compute ranges with ``method`` and write them to ``cache`` for onnxruntime's quantize_static."""
    from onnxruntime.quantization.calibrate import TensorsData, save_tensors_data

    try:
        ranges = minmax_ranges(pre, reader, tmp) if method is Method.MINMAX else \
            histogram_ranges(pre, reader, method, tmp)
    except (EdgekitError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise _ort_error(exc) from exc
    if not isinstance(ranges, TensorsData):
        raise QuantizeError("calibration produced no ranges", f"got {type(ranges).__name__}", "rerun with --debug")
    save_tensors_data(ranges, cache)
