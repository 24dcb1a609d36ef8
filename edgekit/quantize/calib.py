"""Calibration: activation ranges for static INT8, saved in onnxruntime's calibration-cache format.

MinMax (the default) is hand-driven here instead of through ``MinMaxCalibrater.collect_data``:

- onnxruntime's MinMaxCalibrater adds a ReduceMin and a ReduceMax (+ Reshape) for every float
  tensor and runs that graph with optimizations disabled: on MobileNetV2 about 4x the float model's
  time. We probe only the tensors the quantizer reads, with ops onnxruntime runs in its fast
  layout, and keep optimizations on (see ``_augment``).
- its ``compute_data`` stacks every sample's outputs in Python; we keep a running min/max.
- its ``CalibMaxIntermediateOutputs`` drops samples (onnxruntime 1.31 calibrate.py, collect_data
  clears the buffer at the limit without computing it), so large sets cannot use it.

Entropy and percentile go through onnxruntime's HistogramCalibrater, fed chunk by chunk so memory
stays flat (each collect_data call folds its chunk into the histograms).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError, QuantizeError
from .config import Method

CHUNK = 16  # samples per HistogramCalibrater.collect_data call (memory: CHUNK x all activations)
PERCENTILE = 99.999  # onnxruntime's default for the percentile method, stated so docs can cite it


def _op_types() -> list[str]:
    from onnxruntime.quantization.registry import QDQRegistry, QLinearOpsRegistry

    return sorted(set(QLinearOpsRegistry) | set(QDQRegistry))


def _ort_error(exc: Exception):
    if isinstance(exc, DataError):
        return exc
    if isinstance(exc.__cause__, DataError):
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


def _augment(pre: Path, dst: Path) -> tuple[list[tuple[str, str, str | None]], dict[str, str]]:
    """Add cheap range probes to the float graph.

    Returns probes (tensor, max output, min output or None) and aliases (tensor -> tensor whose range
    it takes).

    - A tensor read only by one Relu/Clip is not probed: the quantizer gives it the activation
      output's range anyway (base_quantizer.adjust_tensor_ranges). Should that activation be kept
      float, the range is still right in effect: values the activation would clip saturate instead.
    - Max is a GlobalMaxPool for 4-D tensors, which onnxruntime runs in its blocked NCHWc layout
      without reordering the tensor back to NCHW first (ReduceMax would force that copy).
    - Min is skipped for Relu/Clip(min >= 0) outputs: the quantizer widens every range to include 0
      (quant_utils.compute_scale_zp), so a min >= 0 is exactly equivalent to 0.
    """
    import onnx
    from onnx import TensorProto, helper
    from onnxruntime.quantization.calibrate import CalibraterBase

    model = onnx.load(str(pre))
    tensors, value_infos = CalibraterBase.select_tensors_to_calibrate(_Ops(), model)
    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    outputs = {o.name for o in model.graph.output}
    probes, aliases = [], {}
    readers = {}
    for n in model.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    for t in sorted(tensors):
        if t not in outputs and len(readers.get(t, [])) == 1 and readers[t][0].op_type in _ACTS \
                and readers[t][0].output[0] in tensors:
            aliases[t] = readers[t][0].output[0]
            continue
        rank = len(value_infos[t].type.tensor_type.shape.dim) if value_infos[t].type.tensor_type.HasField("shape") else 0
        elem = value_infos[t].type.tensor_type.elem_type
        mx, mn = f"{t}__ek_max", None
        model.graph.node.append(helper.make_node("GlobalMaxPool" if rank == 4 else "ReduceMax", [t], [mx]))
        model.graph.output.append(helper.make_tensor_value_info(mx, elem, None))
        if not _nonneg(producer.get(t), inits):
            mn = f"{t}__ek_min"
            model.graph.node.append(helper.make_node("ReduceMin", [t], [mn]))
            model.graph.output.append(helper.make_tensor_value_info(mn, elem, None))
        probes.append((t, mx, mn))
    onnx.save(model, str(dst))
    return probes, aliases


class _Ops:
    """Stand-in ``self`` for CalibraterBase.select_tensors_to_calibrate: which op types to look at."""
    op_types_to_calibrate = property(lambda self: _op_types())


def minmax_ranges(pre: Path, reader, tmp: Path):
    """Min/max of every tensor the quantizer needs, over all samples of ``reader`` (running, not stored)."""
    import onnxruntime as ort
    from onnxruntime.quantization.calibrate import CalibrationMethod, TensorsData

    aug = tmp / "augmented_minmax.onnx"
    probes, aliases = _augment(pre, aug)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(aug), opts, providers=["CPUExecutionProvider"])
    names = [p[1] for p in probes] + [p[2] for p in probes if p[2]]
    lo = {p[0]: (np.inf if p[2] else 0.0) for p in probes}
    hi = {p[0]: -np.inf for p in probes}
    seen = 0
    for feeds in reader:
        got = dict(zip(names, sess.run(names, feeds)))
        for t, mx, mn in probes:
            hi[t] = max(hi[t], float(np.max(got[mx])))
            if mn:
                lo[t] = min(lo[t], float(np.min(got[mn])))
        seen += 1
    if not seen:
        raise DataError("no calibration samples were read", "the data source yielded nothing", "check --calib")
    for t in aliases:
        src = t
        while src in aliases:  # Conv -> Relu -> Clip chains
            src = aliases[src]
        lo[t], hi[t] = lo[src], hi[src]
    return TensorsData(CalibrationMethod.MinMax, {t: (np.array([lo[t]], np.float32), np.array([hi[t]], np.float32))
                                                  for t in lo})


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
    except (DataError, QuantizeError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise _ort_error(exc) from exc
    if not isinstance(ranges, TensorsData):
        raise QuantizeError("calibration produced no ranges", f"got {type(ranges).__name__}", "rerun with --debug")
    save_tensors_data(ranges, cache)
