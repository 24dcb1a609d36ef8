"""Calibration data for the float TFLite model: the same sources and spec as ONNX INT8, streamed.

The data layer (``edgekit.data.open_source``) reads the folder/.npy/.npz/iterable and checks every
sample against the TFLite signature's inputs, so a shape mismatch is an error naming the input and
the shape the model expects. Samples go to ai-edge-quantizer's Calibrator one at a time (its
``Quantizer.calibrate`` materialises the whole dataset once just to count it: ``len(list(dataset))``
in calibrator.py), so a folder of 50,000 images is never held in memory.
"""
from __future__ import annotations

import itertools
import time
import warnings

import numpy as np

SIGNATURE = "serving_default"  # written by edgekit's converter (writer.py)


def signature_inputs(model_bytes: bytes):
    """InputSpecs (name, shape, dtype) of the float model's serving_default signature, in signature order."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    from ...data import InputSpec

    # Only the signature is read: no XNNPACK delegate, whose "INFO: Created ... delegate" line on
    # stderr would otherwise precede a one-line data error.
    runner = Interpreter(model_content=bytes(model_bytes),
                         experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
                         ).get_signature_runner(SIGNATURE)
    details = runner.get_input_details()
    return [InputSpec(name, tuple(int(d) for d in det["shape"]), np.dtype(det["dtype"]))
            for name, det in details.items()]


NHWC = (0, 2, 3, 1)  # ONNX NCHW sample -> the NHWC input ``--input-layout nhwc`` gives the TFLite model


class LayoutDataset:
    """A data source read in the ONNX model's layout, handed out in the TFLite model's.

    One calibration set serves both formats: arrays and images are read exactly as for the ONNX
    model (NCHW for a 1x3xHxW input), and 4-D inputs are transposed to NHWC when the TFLite model
    was converted with ``--input-layout nhwc``. Behaves like the ``edgekit.data`` Dataset it wraps.
    """

    def __init__(self, ds, perms: dict):
        self.ds, self.perms = ds, perms

    def __getattr__(self, name):  # count, classes, labeled, skipped, origin...
        return getattr(self.ds, name)

    def __iter__(self):
        for feeds, label in self.ds:
            yield {k: (np.ascontiguousarray(np.transpose(v, self.perms[k])) if k in self.perms else v)
                   for k, v in feeds.items()}, label


def onnx_layout(inputs, nhwc: bool):
    """(InputSpecs in the ONNX layout, {name: perm to the TFLite layout}) for the TFLite ``inputs``."""
    from ...data import InputSpec

    if not nhwc:
        return list(inputs), {}
    specs, perms = [], {}
    for s in inputs:
        if len(s.shape) == 4:
            n, h, w, c = s.shape
            specs.append(InputSpec(s.name, (n, c, h, w), s.dtype))
            perms[s.name] = NHWC
        else:
            specs.append(s)
    return specs, perms


def open_calibration(data, inputs, spec, job, nhwc: bool = False, sample: bool = True):
    """Open ``data`` for the TFLite model inputs; ``spec`` is in the ONNX layout (what the data is read in).

    ``sample``: apply the job's --calib-size and --strict (calibration data), else read all (eval data)."""
    from ...data import open_source

    specs, perms = onnx_layout(inputs, nhwc)
    ds = open_source(data, spec, specs, calib_size=job.calib_size if sample else None, seed=job.seed,
                     strict=job.strict if sample else False)
    return LayoutDataset(ds, perms) if perms else ds


def calibrate(model_bytes: bytes, recipe_manager, dataset, extra=()) -> tuple[dict, dict, int, float]:
    """Run the float model over ``dataset`` collecting activation ranges -> (QSVs, extra, samples, seconds).

    ``extra`` names tensors the quantizer does not calibrate (outputs of ops it has no rule for, see
    complete.py); their global float (min, max) is recorded with a second interpreter, only when asked.
    """
    from ai_edge_quantizer import calibrator
    from ai_edge_quantizer.utils import qsv_utils

    from ...ui import progress

    # global min/max, as onnxruntime's MinMax calibrator: the same ranges for both formats (the
    # quantizer's default is a moving average)
    update = qsv_utils.min_max_update
    start, n = time.perf_counter(), 0
    samples = iter(progress(dataset, total=dataset.count, desc="calibrating", unit="sample"))
    # Read (and check) the first sample before LiteRT starts: a bad data source then fails with its
    # one-line error alone, not after the interpreter's "INFO: Created ... delegate" line.
    first = next(samples, None)
    from ...runtime.device import quiet_stderr

    with warnings.catch_warnings(), quiet_stderr():  # LiteRT's "INFO: Created ... delegate" line
        # "experimental_preserve_all_tensors ... debugging only": it is how the Calibrator reads activations.
        warnings.simplefilter("ignore", UserWarning)
        cal = calibrator.Calibrator(bytes(model_bytes), num_threads=_threads(), qsv_update_func=update)
    side = _RangeRecorder(model_bytes, extra) if extra else None
    for feeds, _ in itertools.chain([first] if first is not None else [], samples):
        # One sample per call: QSVs accumulate in the Calibrator across calls.
        cal.calibrate({SIGNATURE: [feeds]}, recipe_manager)
        if side is not None:
            side.add(feeds)
        n += 1
    return cal.get_model_qsvs(), (side.ranges if side else {}), n, time.perf_counter() - start


class _RangeRecorder:
    """Global min/max of named float tensors over the samples (LiteRT, all tensors preserved)."""

    def __init__(self, model_bytes: bytes, names):
        from .report import _interpreter

        self.interp = _interpreter(model_bytes)
        self.runner = self.interp.get_signature_runner(SIGNATURE)
        wanted = set(names)
        self.index = {d["name"]: d["index"] for d in self.interp.get_tensor_details() if d["name"] in wanted}
        self.ranges: dict[str, tuple[float, float]] = {}

    def add(self, feeds) -> None:
        self.runner(**feeds)
        for name, i in self.index.items():
            v = self.interp.get_tensor(i)
            lo, hi = float(v.min()), float(v.max())
            old = self.ranges.get(name)
            self.ranges[name] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))


def _threads() -> int:
    import os

    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
