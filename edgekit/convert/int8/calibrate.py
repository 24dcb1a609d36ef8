"""Calibration data for the float TFLite model: the same sources and spec as ONNX INT8, streamed.

The data layer (``edgekit.data.open_source``) reads the folder/.npy/.npz/iterable and checks every
sample against the TFLite signature's inputs, so a shape mismatch is an error naming the input and
the shape the model expects. Samples go to ai-edge-quantizer's Calibrator one at a time (its
``Quantizer.calibrate`` materialises the whole dataset once just to count it: ``len(list(dataset))``
in calibrator.py), so a folder of 50,000 images is never held in memory.
"""
from __future__ import annotations

import time
import warnings

import numpy as np

SIGNATURE = "serving_default"  # written by edgekit's converter (writer.py)


def signature_inputs(model_bytes: bytes):
    """InputSpecs (name, shape, dtype) of the float model's serving_default signature, in signature order."""
    from ai_edge_litert.interpreter import Interpreter

    from ...data import InputSpec

    runner = Interpreter(model_content=bytes(model_bytes)).get_signature_runner(SIGNATURE)
    details = runner.get_input_details()
    return [InputSpec(name, tuple(int(d) for d in det["shape"]), np.dtype(det["dtype"]))
            for name, det in details.items()]


def resolve_spec(inputs, spec=None, stored=None):
    """The spec for the TFLite input: given > stored in the ONNX model > defaults, adapted to layout/size.

    The TFLite input can be NHWC (``--input-layout nhwc``) while the spec stored in the ONNX model
    says NCHW: the layout and size always come from the model input, everything else from the spec.
    """
    from ...data import spec_for_input

    natural = spec_for_input(inputs[0].shape, inputs[0].dtype.name) if len(inputs) == 1 else None
    base = spec if spec is not None else stored
    if base is None:
        return natural
    if natural is not None:
        base = base.replace(layout=natural.layout, **({"size": natural.size} if natural.size else {}))
    return base


def open_calibration(data, inputs, spec, options):
    from ...data import open_source

    return open_source(data, spec, inputs, calib_size=options.calib_size, seed=options.seed, strict=options.strict)


def calibrate(model_bytes: bytes, recipe_manager, dataset, ranges) -> tuple[dict, int, float]:
    """Run the float model over ``dataset`` collecting activation ranges -> (QSVs, samples, seconds)."""
    from ai_edge_quantizer import calibrator
    from ai_edge_quantizer.utils import qsv_utils

    from ...ui import progress
    from .options import RangeUpdate

    update = qsv_utils.min_max_update if ranges is RangeUpdate.MINMAX else qsv_utils.moving_average_update
    with warnings.catch_warnings():
        # "experimental_preserve_all_tensors ... debugging only": it is how the Calibrator reads activations.
        warnings.simplefilter("ignore", UserWarning)
        cal = calibrator.Calibrator(bytes(model_bytes), num_threads=_threads(), qsv_update_func=update)
    start, n = time.perf_counter(), 0
    for feeds, _ in progress(dataset, total=dataset.count, desc="calibrating", unit="sample"):
        # One sample per call: QSVs accumulate in the Calibrator across calls.
        cal.calibrate({SIGNATURE: [feeds]}, recipe_manager)
        n += 1
    return cal.get_model_qsvs(), n, time.perf_counter() - start


def _threads() -> int:
    import os

    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
