"""Accuracy-aware mode: keep the most sensitive ops float (or int16) until the top-1 drop holds.

The drop is measured against the float TFLite on ``--eval`` data: top-1 points on labeled data,
else 100 - top-1 agreement %. Ops are ranked by the SQNR they lose (report.tensor_errors); the
calibration ranges are reused, so each step is one re-quantization plus one evaluation.
"""
from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from .report import candidates, tensor_errors

SENSITIVITY_SAMPLES = 16  # activations compared per tensor; enough for a stable SQNR ranking on small nets


def run(float_bytes: bytes, quant_bytes: bytes, requantize, eval_ds, options) -> dict:
    """``requantize(kept)`` -> the int8 model with the ops writing ``kept`` tensors kept float/int16."""
    from ...evaluate import _check_labels, predictions
    from ...quantize.sensitivity import schedule
    from ...runtime import load
    from ...ui import progress

    with tempfile.TemporaryDirectory(prefix="edgekit-tfl8-") as tmp:
        def model_at(name, data):
            path = Path(tmp) / name
            path.write_bytes(data)
            return load(path, threads=1)

        fmodel = model_at("float.tflite", float_bytes)
        _check_labels(fmodel, eval_ds)
        fpreds, labels = predictions(fmodel, eval_ds)
        labeled = all(label is not None for label in labels)
        ftop1 = 100.0 * float((fpreds == labels).mean()) if labeled else None

        def measure(data, name):
            preds, _ = predictions(model_at(name, data), eval_ds)
            qtop1 = 100.0 * float((preds == labels).mean()) if labeled else None
            drop = ftop1 - qtop1 if labeled else 100.0 - 100.0 * float((preds == fpreds).mean())
            return round(drop, 4), qtop1

        drop, qtop1 = measure(quant_bytes, "int8.tflite")
        samples = [f for f, _ in itertools.islice(eval_ds, SENSITIVITY_SAMPLES)]
        rows = tensor_errors(float_bytes, quant_bytes, samples)
        kept: list[str] = []
        if drop > options.max_drop:
            ranked = candidates(rows)
            for k in progress(list(schedule(len(ranked))), desc="keeping sensitive ops", unit="step"):
                kept = ranked[:k]
                quant_bytes = requantize(kept)
                drop, qtop1 = measure(quant_bytes, f"keep{k}.tflite")
                if drop <= options.max_drop:
                    break
            rows = tensor_errors(float_bytes, quant_bytes, samples, kept=kept, kind=options.fallback.value)
    return {"bytes": quant_bytes, "kept": tuple(kept), "drop": drop, "drop_metric": "top1" if labeled else "agreement",
            "float_top1": ftop1, "quant_top1": qtop1, "budget_met": drop <= options.max_drop, "tensors": tuple(rows)}
