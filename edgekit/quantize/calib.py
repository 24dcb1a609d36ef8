"""Calibration: activation ranges for static INT8, saved in onnxruntime's calibration-cache format.

MinMax (the default) is hand-driven here instead of through ``MinMaxCalibrater.collect_data``:

- onnxruntime's MinMaxCalibrater adds a ReduceMin and a ReduceMax (+ Reshape) for every float
  tensor and runs that graph with optimizations disabled: on MobileNetV2 about 4x the float model's
  time. We probe only the tensors the quantizer reads whose range does not follow from another's
  (``_link``), with ops onnxruntime runs in its fast layout, each right after its producer, and keep
  optimizations on (see ``_augment``); samples run side by side (see ``workers``).
- its ``compute_data`` stacks every sample's outputs in Python; we keep a running min/max.
- its ``CalibMaxIntermediateOutputs`` drops samples (onnxruntime 1.31 calibrate.py, collect_data
  clears the buffer at the limit without computing it), so large sets cannot use it.

Entropy and percentile go through onnxruntime's HistogramCalibrater, fed chunk by chunk so memory
stays flat (each collect_data call folds its chunk into the histograms).
"""
from __future__ import annotations

import contextlib
import io
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
# Increasing elementwise functions: the output's range is the function of the input's range, so the
# output needs no probe of its own; unprobed, onnxruntime also keeps fusing x * Sigmoid(x) (QuickGelu).
# float32 numpy against onnxruntime's kernels: the ranges agree to a few float32 ulps.
_MONOTONE = {"Sigmoid": lambda v: np.float32(1) / (np.float32(1) + np.exp(-v)), "Tanh": np.tanh}
# Outputs holding exactly their input's values, rearranged (and Concat: its inputs' values): the range
# follows exactly, no probe (ShuffleNet's channel shuffles are Concat -> Reshape -> Transpose -> Reshape).
_SAME_VALUES = ("Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Identity")


def _link(t: str, producer: dict, readers: dict, tensors, outputs) -> tuple | None:
    """Where ``t``'s range comes from without a probe of its own: (source tensors, _MONOTONE op or None)."""
    rd = readers.get(t, [])
    if t not in outputs and len(rd) == 1 and rd[0].op_type in _ACTS and rd[0].output[0] in tensors:
        return (rd[0].output[0],), None  # the quantizer gives t the activation output's range anyway
    node = producer.get(t)
    if node is None or not node.input:
        return None
    if node.op_type in _MONOTONE and node.input[0] in tensors:
        return (node.input[0],), node.op_type
    if node.op_type in _SAME_VALUES and node.input[0] in tensors:
        return (node.input[0],), None
    if node.op_type == "Concat" and all(i in tensors for i in node.input):
        return tuple(node.input), None
    return None


def _nonneg(node, inits, base_dir: str = "") -> bool:
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
        return float(numpy_helper.to_array(inits[node.input[1]], base_dir)) >= 0
    return False


# Why probes are added newest tensor first: onnxruntime orders execution by a reverse depth-first walk
# from the graph's leaves that, at each node, walks the input with the highest node index first
# (graph_viewer.cc: GraphViewer, Graph::ReverseDFSFrom with NodeCompare on Index). With probes added
# oldest first, the walk reaches the newest probe first, runs the whole network to make its tensor and
# leaves every other probe for the end: all activations stay alive and are re-read cold, and the
# convolutions write to fresh memory. Added newest first, the walk reaches the oldest probe first, so
# each probe runs right after its tensor's producer. The last node of each probe (a Reshape or a
# reduction) is one that onnxruntime's layout transforms leave alone, so the added order survives
# optimization; tests/quantize/test_calib.py checks the order onnxruntime really runs. On MobileNetV2
# at one thread this took the probed graph from 1.57x to 1.16x a float run (docs/quantization.md).
def _augment(pre: Path):
    """Add cheap range probes to the float graph.

    Returns the augmented model, probes (tensor, offset of its maxima in the output row, how many,
    offset of its minimum or None) and links (tensor -> ``_link``'s answer).

    - A tensor read only by one Relu/Clip is not probed: the quantizer gives it the activation
      output's range anyway (base_quantizer.adjust_tensor_ranges). Should that activation be kept
      float, the range is still right in effect: values the activation would clip saturate instead.
    - A Sigmoid/Tanh output takes its range from its input's (``_MONOTONE``), and so do outputs that
      only rearrange their inputs' values (``_SAME_VALUES``, Concat).
    - Min is skipped for Relu/Clip(min >= 0) outputs: the quantizer widens every range to include 0
      (quant_utils.compute_scale_zp), so a min >= 0 is exactly equivalent to 0.
    - Max of a 4-D tensor with no min probe is a GlobalMaxPool, which onnxruntime runs in its blocked
      NCHWc layout without reordering the tensor to NCHW first (ReduceMax would force that copy). A
      tensor that needs a min gets that copy anyway (ReduceMin has no NCHWc kernel), so its max is a
      ReduceMax of the same copy: 2.5% faster on MobileNetV2 than a GlobalMaxPool beside it.
    - Every probe goes into one Concat: one output to fetch and fold per sample.
    - Probes are added newest tensor first, so each runs right after its tensor is made (see above).
    """
    import onnx
    from onnx import helper, numpy_helper
    from onnxruntime.quantization.calibrate import CalibraterBase

    model = onnx.load(str(pre), load_external_data=False)  # weights stay in pre's side file (see _session)
    tensors, value_infos = CalibraterBase.select_tensors_to_calibrate(_Ops(), model)
    inits = {i.name: i for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    made_at = {o: i for i, n in enumerate(model.graph.node) for o in n.output}  # graph inputs: -1
    outputs = {o.name for o in model.graph.output}
    readers = {}
    for n in model.graph.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    model.graph.initializer.append(numpy_helper.from_array(np.array([1, -1, 1, 1], np.int64), "__ek_row"))
    probes, links, parts, at = [], {}, [], 0
    for t in sorted(tensors, key=lambda t: (made_at.get(t, -1), t), reverse=True):
        link = _link(t, producer, readers, tensors, outputs)
        if link is not None:
            links[t] = link
            continue
        tt = value_infos[t].type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 0 for d in tt.shape.dim] \
            if tt.HasField("shape") else []
        has_min = not _nonneg(producer.get(t), inits, str(pre.parent))
        # static N, C: the row slice has N*C values
        channels = len(dims) == 4 and dims[0] * dims[1] > 0 and not has_min
        width = dims[0] * dims[1] if channels else 1
        four = len(dims) == 4 and not channels  # reduced with keepdims to [1, 1, 1, 1]: no Reshape needed
        op, kw = ("GlobalMaxPool", {}) if channels else ("ReduceMax", {"keepdims": int(four)})
        model.graph.node.append(helper.make_node(op, [t], [f"{t}__ek_max"], **kw))
        parts.append(_row(model, f"{t}__ek_max", tt.elem_type, four))
        low = None
        if has_min:
            model.graph.node.append(helper.make_node("ReduceMin", [t], [f"{t}__ek_min"], keepdims=int(four)))
            parts.append(_row(model, f"{t}__ek_min", tt.elem_type, four))
            low = at + width
        probes.append((t, at, width, low))
        at += width + (low is not None)
    if parts:
        model.graph.node.append(helper.make_node("Concat", parts, [RANGES], axis=1))
        model.graph.output.append(helper.make_tensor_value_info(RANGES, onnx.TensorProto.FLOAT, None))
    return model, probes, links


RANGES = "__ek_ranges"


def _row(model, name: str, elem: int, four: bool) -> str:
    """A probe output as a [1, k, 1, 1] float32 piece of the output row (Concat on axis 1).

    A GlobalMaxPool's [1, C, 1, 1] still gets a Reshape: its last node must be one that onnxruntime's
    layout transforms leave alone, for the execution order (comment above ``_augment``). A reduction
    kept at rank 4 (``four``) is already such a node and in shape.
    """
    from onnx import TensorProto, helper

    if elem != TensorProto.FLOAT:  # float16 tensors: their extrema are exact in float32
        model.graph.node.append(helper.make_node("Cast", [name], [name + "_f32"], to=TensorProto.FLOAT))
        name += "_f32"
    elif four:
        return name
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


def _session(model, pre: Path):
    """A session on the probed graph. Its weights are references into pre's external-data file
    (static.preprocess writes one), which onnxruntime resolves relative to the model file: so the graph
    is written beside ``pre``, and deleted once loaded. Nothing is copied through Python: on ResNet-18
    (45 MB of weights) this costs 62 ms against 172 ms for serializing the whole model to bytes."""
    import onnx
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # see runtime.device.session_options
    if workers() > 1:
        opts.intra_op_num_threads = 1
    path = pre.with_name(pre.stem + ".probes.onnx")
    try:  # the save too: a Ctrl-C halfway through it leaves no partial file
        onnx.save(model, str(path))
        return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    finally:
        path.unlink(missing_ok=True)


def _run_all(sess, names, reader):
    """Yield the probe outputs of every sample; up to ``in_flight()`` samples run concurrently."""
    if workers() == 1:
        for feeds in reader:
            yield sess.run(names, feeds)
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    most = in_flight()  # once: os.cpu_count() reads /sys on each call (~5 us here, twice per sample)
    with ThreadPoolExecutor(workers(), thread_name_prefix="edgekit-calib") as pool:
        pending = deque()
        try:
            for feeds in reader:  # the reader (data decoding, checks, progress) stays on this thread
                pending.append(pool.submit(sess.run, names, feeds))
                del feeds
                while len(pending) >= most:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for fut in pending:  # Ctrl-C or a data error: do not start what is still queued
                fut.cancel()


def minmax_ranges(pre: Path, reader, tmp: Path):
    """Min/max of every tensor the quantizer needs, over all samples of ``reader`` (running, not stored)."""
    from onnxruntime.quantization.calibrate import CalibrationMethod, TensorsData

    model, probes, links = _augment(pre)
    if not probes:
        raise QuantizeError("nothing to calibrate", "no float tensor feeds an op onnxruntime can quantize",
                            "check the model, or use --mode dynamic|fp16")
    sess = _session(model, pre)
    del model
    hi = lo = None  # running max and min of every entry of the row; maxima read hi, minima read lo
    seen = 0
    for (row,) in _run_all(sess, [RANGES], reader):
        row = row.reshape(-1)  # [1, k, 1, 1]
        if hi is None:
            hi, lo = row.copy(), row.copy()
        np.maximum(hi, row, out=hi)
        np.minimum(lo, row, out=lo)
        seen += 1
    if not seen:
        raise DataError("no calibration samples were read", "the data source yielded nothing", "check --calib")
    ranges = {}
    for t, at, width, low in probes:
        # no min probe: a Relu/Clip(min >= 0) output, and the quantizer widens the range to include 0 anyway
        ranges[t] = (0.0 if low is None else float(lo[low]), float(hi[at:at + width].max()))
    for t in links:
        _follow(t, links, ranges)
    return TensorsData(CalibrationMethod.MinMax, {t: (np.array([a], np.float32), np.array([b], np.float32))
                                                  for t, (a, b) in ranges.items()})


def _follow(t: str, links: dict, ranges: dict) -> tuple:
    """The range of a linked tensor, from the tensors it links to (chains such as Conv -> Relu -> Clip).

    A source without a min probe carries 0 for its min, at or below its true min. The result is exact
    after the quantizer widens ranges to include 0: a union's min is then the true one whenever it is
    negative, and Sigmoid(0) = 0.5 and Tanh(0) = 0 are >= 0, like the true image of a min >= 0.
    """
    if t not in ranges:
        sources, op = links[t]
        got = [_follow(s, links, ranges) for s in sources]
        lo, hi = min(g[0] for g in got), max(g[1] for g in got)
        ranges[t] = (lo, hi) if op is None else tuple(float(_MONOTONE[op](np.float32(v))) for v in (lo, hi))
    return ranges[t]


def histogram_ranges(pre: Path, reader, method: Method, tmp: Path):
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    kind = CalibrationMethod.Entropy if method is Method.ENTROPY else CalibrationMethod.Percentile
    extra = {"percentile": PERCENTILE} if method is Method.PERCENTILE else {}
    cal = create_calibrator(pre, _op_types(), augmented_model_path=str(tmp / "augmented_hist.onnx"),
                            calibrate_method=kind, extra_options=extra)
    # onnxruntime print()s its progress ("Collecting tensor data and making histogram ...", bin counts)
    # to stdout, where edgekit's results go; edgekit's own progress bar says the same on stderr.
    with contextlib.redirect_stdout(io.StringIO()):
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
