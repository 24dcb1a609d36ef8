"""The accuracy-aware fallback, once for every backend: keep the most sensitive layers float until the
top-1 drop against the float model is within the budget (or nothing is left to keep).

The drop is measured with ``edgekit.load`` on ``eval_ds``: top-1 points on labeled data, else
100 - top-1 agreement %. A backend supplies ``requantize(kept) -> path`` (its quantizer with those
layers left out; calibration ranges are reused, so a step is one re-quantization and one evaluation)
and ``layer_errors(path, samples) -> rows`` (its per-layer SQNR).
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path

from .ranking import candidates, rank, schedule
from .result import LayerError

SENSITIVITY_SAMPLES = 16  # activations compared per layer; enough for a stable SQNR ranking on small nets


@dataclass(frozen=True)
class Outcome:
    path: Path
    kept: tuple[str, ...]
    drop: float
    drop_metric: str
    float_top1: float | None
    quant_top1: float | None
    budget_met: bool
    layers: tuple[LayerError, ...]

    def fields(self) -> dict:
        """The QuantizeResult fields this sets."""
        return {"fallback_layers": self.kept, "drop": self.drop, "drop_metric": self.drop_metric,
                "float_top1": self.float_top1, "quant_top1": self.quant_top1, "budget_met": self.budget_met,
                "layers": self.layers}


def run(float_model: Path, quantized: Path, requantize, layer_errors, eval_ds, max_drop: float, fallback_ops,
        already=(), kept_as: str = "float") -> Outcome:
    from ..evaluate import _check_labels, predictions
    from ..runtime import load
    from ..ui import progress

    fmodel = load(float_model, threads=1)
    _check_labels(fmodel, eval_ds)
    fpreds, labels = predictions(fmodel, eval_ds)
    labeled = all(label is not None for label in labels)
    ftop1 = 100.0 * float((fpreds == labels).mean()) if labeled else None

    def measure(path):
        preds, _ = predictions(load(path, threads=1), eval_ds)
        qtop1 = 100.0 * float((preds == labels).mean()) if labeled else None
        drop = ftop1 - qtop1 if labeled else 100.0 - 100.0 * float((preds == fpreds).mean())
        return round(drop, 4), qtop1

    drop, qtop1 = measure(quantized)
    samples = [f for f, _ in itertools.islice(eval_ds, SENSITIVITY_SAMPLES)]
    rows = rank(layer_errors(quantized, samples))
    chosen: list[str] = []
    path = quantized
    if drop > max_drop:
        ranked = candidates(rows, fallback_ops, already)
        for k in progress(list(schedule(len(ranked))), desc="keeping sensitive layers float", unit="step"):
            chosen = [name for group in ranked[:k] for name in group]
            path = requantize(chosen)
            drop, qtop1 = measure(path)
            if drop <= max_drop:
                break
    rows = mark_kept(rows, set(already) | set(chosen), kept_as)
    return Outcome(path, tuple(chosen), drop, "top1" if labeled else "agreement", ftop1, qtop1, drop <= max_drop,
                   tuple(rows))


def mark_kept(rows, kept, kept_as: str = "float") -> list[LayerError]:
    kept = set(kept)
    return [dataclasses.replace(r, kept_float=bool(kept & set(r.group or (r.node,))),
                                kept_as=kept_as if kept & set(r.group or (r.node,)) else "") for r in rows]
