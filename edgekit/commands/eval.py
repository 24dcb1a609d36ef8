"""edgekit eval MODEL [MODEL ...] --data DATA [--reference MODEL] [--json OUT]."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    from ..data.args import add_preprocess_args

    p = sub.add_parser("eval", help="accuracy and fidelity of models on data",
                       description="Top-1/top-5 on labeled data; agreement, SQNR and max error against a reference.")
    p.add_argument("models", nargs="+", metavar="MODEL", help=".onnx or .tflite file(s)")
    p.add_argument("--data", required=True, metavar="DATA", help="image folder, .npy or .npz")
    p.add_argument("--reference", default=None, metavar="MODEL", help="compare outputs with this (float) model")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="evaluate N samples (seeded, spread over classes)")
    p.add_argument("--json", default=None, metavar="OUT", help="write one object per model as a JSON list")
    add_preprocess_args(p)
    p.set_defaults(func=run)
    return p


def _spec(args, model):
    """Flags/--preprocess apply on top of each model's own spec; None when no flag is given."""
    from ..data import spec_from_args

    if not any(getattr(args, k, None) is not None for k in ("color", "resize", "mean", "std", "layout", "preprocess")):
        return None
    info = model.inputs[0]
    return spec_from_args(args, info.shape, str(model.path), info.dtype.name)


def run(args) -> int:
    import json

    from .._io import write_text
    from ..evaluate import evaluate
    from ..runtime import load
    from ..ui import table

    if args.json:  # before evaluating: an unwritable --json would otherwise fail only at the end
        from .._io import check_output

        check_output(args.json, "--json file")
    ref = load(args.reference) if args.reference else None
    results = []
    for path in args.models:
        model = load(path)
        results += evaluate([model], args.data, reference=ref, spec=_spec(args, model), limit=args.limit)
    headers = ["model", "samples", "top-1 %", "top-5 %"]
    if ref is not None:
        headers += ["agree %", "SQNR dB", "max |err|"]
    rows = []
    for r in results:
        row = [r.model, r.samples, r.top1, r.top5]
        if ref is not None:
            row += [r.agreement, r.sqnr_db, r.max_abs_error]
        rows.append(row)
    print(table(rows, headers))
    for r in results:
        if len(r.per_output) > 1:
            print(table([[n, e.sqnr_db, e.max_abs_error] for n, e in r.per_output.items()],
                        ["output", "SQNR dB", "max |err|"], title=f"{r.model} per output"))
        if r.skipped:
            print(f"{r.model}: skipped {r.skipped} unreadable file(s)")
    if args.json:
        keys = ("model", "samples", "top1", "top5") + (("agreement", "sqnr_db", "max_abs_error") if ref else ())
        out = [_clean({**{k: getattr(r, k) for k in keys}, "per_output": r.to_dict()["per_output"]}) for r in results]
        write_text(args.json, json.dumps(out, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


def _clean(value):
    """Strict JSON: identical outputs have SQNR +inf, written as the string "inf" (JSON has no Infinity)."""
    import math

    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value
