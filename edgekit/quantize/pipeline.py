"""The static INT8 pipeline: pre-process, calibrate once, quantize, and the accuracy-aware fallback."""
from __future__ import annotations

import dataclasses
import itertools
import json
import sys
import tempfile
from pathlib import Path

from .config import QuantizeResult
from .sensitivity import candidates, layer_errors, schedule
from .static import DatasetReader, preprocess, quantize_static, resolve_excludes

SENSITIVITY_SAMPLES = 16  # activations compared per layer; enough for stable SQNR on small nets


def run_static(src: Path, out: Path, calib, base: dict, *, q, method, per_channel, calib_size, exclude,
               max_drop, eval_data, report, inputs, seed, strict) -> QuantizeResult:
    import onnx

    from ..data import open_source
    from .api import _finish

    spec = base["spec"]
    with tempfile.TemporaryDirectory(prefix="edgekit-q-") as tmpdir:
        tmp = Path(tmpdir)
        pre = tmp / "pre.onnx"
        preprocess(src, pre)
        excl = resolve_excludes(onnx.load(str(pre)), exclude)
        ds = open_source(calib, spec, inputs, calib_size=calib_size, seed=seed, strict=strict)
        opts = dict(activations=q.activations.value, weights=q.weights.value, fmt=q.format.value,
                    per_channel=per_channel, method=method)
        cache = tmp / "ranges.json"
        qpath = tmp / "int8.onnx"
        reader = DatasetReader(ds)
        secs = quantize_static(pre, qpath, reader, cache, exclude=excl, **opts)
        extra = dict(calib_samples=reader.samples, skipped=ds.skipped, calib_seconds=round(secs, 3))
        if ds.skipped:
            print(f"edgekit quantize: skipped {ds.skipped} unreadable file(s) in the calibration data", file=sys.stderr)
        fb = {}
        if max_drop is not None:
            fb = _fallback(src, pre, qpath, cache, opts, excl, eval_data, spec, inputs, max_drop, tmp, seed)
            qpath = fb.pop("path")
        elif report is not None:
            samples = (f for f, _ in itertools.islice(open_source(calib, spec, inputs, calib_size=SENSITIVITY_SAMPLES,
                                                                  seed=seed), SENSITIVITY_SAMPLES))
            fb = {"layers": tuple(layer_errors(pre, qpath, samples, tmp, kept=excl))}
        _finish(onnx.load(str(qpath)), out, spec)
    fallback = fb.get("fallback_layers", ())
    result = QuantizeResult(**base, method=method, activations=q.activations.value, weights=q.weights.value,
                            format=q.format.value, per_channel=per_channel, float_layers=tuple(excl) + tuple(fallback),
                            **fb, **extra)
    if report is not None:
        write_report(result, Path(report))
    return result


def _fallback(src, pre, qpath, cache, opts, excl, eval_data, spec, inputs, max_drop, tmp: Path, seed) -> dict:
    """Keep the most sensitive layers float until the top-1 drop is within ``max_drop`` or none is left."""
    from ..data import open_source
    from ..evaluate import _check_labels, predictions
    from ..runtime import load
    from ..ui import progress

    fmodel = load(src)
    eval_ds = open_source(eval_data, spec, inputs, seed=seed)
    _check_labels(fmodel, eval_ds)
    fpreds, labels = predictions(fmodel, eval_ds)
    labeled = all(label is not None for label in labels)
    ftop1 = 100.0 * float((fpreds == labels).mean()) if labeled else None

    def measure(path):
        preds, _ = predictions(load(path), eval_ds)
        qtop1 = 100.0 * float((preds == labels).mean()) if labeled else None
        drop = ftop1 - qtop1 if labeled else 100.0 - 100.0 * float((preds == fpreds).mean())
        return round(drop, 4), qtop1

    drop, qtop1 = measure(qpath)
    samples = (f for f, _ in itertools.islice(eval_ds, SENSITIVITY_SAMPLES))
    rows = layer_errors(pre, qpath, samples, tmp, kept=excl)
    chosen: list[str] = []
    if drop > max_drop:
        ranked = candidates(rows, excl)
        for k in progress(list(schedule(len(ranked))), desc="keeping sensitive layers float", unit="step"):
            path = tmp / f"int8_keep{k}.onnx"
            chosen = [name for group in ranked[:k] for name in group]
            quantize_static(pre, path, None, cache, exclude=list(excl) + chosen, **opts)
            qpath = path
            drop, qtop1 = measure(path)
            if drop <= max_drop:
                break
    kept = set(excl) | set(chosen)
    rows = [dataclasses.replace(r, kept_float=bool(kept & set(r.group or (r.node,)))) for r in rows]
    return {"path": qpath, "fallback_layers": tuple(chosen), "drop": drop,
            "drop_metric": "top1" if labeled else "agreement", "float_top1": ftop1, "quant_top1": qtop1,
            "budget_met": drop <= max_drop, "layers": tuple(rows)}


def write_report(result: QuantizeResult, path: Path) -> Path:
    """The per-layer error table as JSON or Markdown (by extension), written atomically."""
    from .._io import write_text

    if path.suffix.lower() == ".json":
        return write_text(path, json.dumps(result.to_dict(), indent=2) + "\n")
    lines = [f"# Quantization report: {result.output.name}", "",
             f"- mode: {result.mode.value}, target: {result.target}, activations/weights: "
             f"{result.activations}/{result.weights}, format: {result.format}, per-channel: {result.per_channel}"]
    if result.drop is not None:
        lines.append(f"- top-1 drop ({result.drop_metric}): {result.drop:.2f} points; budget met: {result.budget_met}")
    lines.append(f"- kept in float: {', '.join(result.float_layers) or 'none'}")
    lines += ["", "| node | op | tensor | SQNR dB | SQNR lost dB | float |", "|---|---|---|---:|---:|---|"]
    lines += [f"| {'+'.join(r.group) or r.node} | {r.op_type} | {r.tensor} | {r.sqnr_db:.2f} | {r.delta_db:.2f} | "
              f"{'yes' if r.kept_float else ''} |" for r in result.layers]
    return write_text(path, "\n".join(lines) + "\n")
