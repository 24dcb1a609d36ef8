"""edgekit eval MODEL [MODEL ...] --data DATA [--reference MODEL] [--json OUT]."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    from ..data.args import add_preprocess_args

    p = sub.add_parser("eval", help="accuracy and fidelity of models on data",
                       description="Top-1/top-5 on labeled data; agreement, SQNR and max error against a reference.")
    p.add_argument("models", nargs="+", metavar="MODEL", help=".onnx or .tflite file(s)")
    p.add_argument("--data", required=True, metavar="DATA",
                   help="image folder, .npy, .npz, or text: .txt (one example per line) / .jsonl (text, label)")
    p.add_argument("--reference", default=None, metavar="MODEL", help="compare outputs with this (float) model")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="evaluate N samples (seeded, spread over classes)")
    p.add_argument("--json", default=None, metavar="OUT", help="write one object per model as a JSON list")
    t = p.add_argument_group("text and language models (docs/lm.md)")
    t.add_argument("--tokenizer", default=None, metavar="FILE",
                   help="tokenizer.json for .txt/.jsonl data (default: the one stored in the model)")
    t.add_argument("--context", type=int, default=None, metavar="N",
                   help="LM perplexity: tokens per window (default: the model's longest prompt)")
    t.add_argument("--stride", type=int, default=None, metavar="N", help="LM perplexity: window step (default N/2)")
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

        check_output(args.json, "--json file", inputs=[*args.models, args.data, args.reference])
    import warnings

    from ..ui import print_warnings

    ref = load(args.reference) if args.reference else None
    models = [load(path) for path in args.models]
    if _perplexity_wanted(args, models):
        return _run_perplexity(args, models)
    results = []
    if ref is None:
        for model in models:
            _need_labels(model, args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for model in models:
            results += evaluate([model], args.data, reference=ref, spec=_spec(args, model), limit=args.limit,
                                tokenizer=args.tokenizer)
    print_warnings("eval", caught)
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
    print(table([[r.model, r.preprocess, r.preprocess_origin] for r in results], ["model", "preprocessing", "from"]))
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


def _need_labels(model, args) -> None:
    """Unlabelled data and no reference leave nothing to measure: say so before running the data."""
    from ..errors import InputError
    from ..evaluate import open_for

    if not open_for(model, args.data, _spec(args, model), args.tokenizer, calib_size=args.limit).labeled:
        raise InputError(f"{args.data} has no labels, so there is nothing to measure",
                         "top-1 needs one subfolder per class (or a 'labels' array); without labels, eval "
                         "compares against a reference model",
                         "add --reference MODEL (e.g. the float model this one was made from), or give labelled data")


def _clean(value):
    """Strict JSON: identical outputs have SQNR +inf, written as the string "inf" (JSON has no Infinity)."""
    import math

    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return value


def _perplexity_wanted(args, models) -> bool:
    """Text data and language models: perplexity; --context/--stride on anything else is an error."""
    from pathlib import Path

    from ..errors import InputError
    from ..evaluate import is_lm

    text = Path(args.data).suffix.lower() in (".txt", ".jsonl")
    lms = [is_lm(m) for m in models]
    if text and all(lms):
        if args.reference:
            raise InputError("--reference with language models", "perplexity compares models side by side "
                             "already", "list the float and quantized models together instead")
        return True
    if args.context is not None or args.stride is not None:
        raise InputError("--context/--stride apply to language models on text",
                         "the data is not .txt/.jsonl" if not text else "some models are not language models",
                         "drop them, or evaluate LMs only")
    if text and any(lms):
        raise InputError("language models and classifiers in one eval", "an LM reports perplexity, a classifier "
                         "accuracy", "evaluate them separately")
    return False


def _run_perplexity(args, models) -> int:
    import json

    from .._io import write_text
    from ..evaluate import perplexity
    from ..ui import table

    results = perplexity(models, args.data, args.tokenizer, context=args.context, stride=args.stride,
                         limit=args.limit)
    base = results[0].perplexity
    # four decimals: quantization moves an LM's perplexity in the third or fourth digit
    rows = [[r.model, r.tokens, r.context, r.stride, f"{r.nll:.4f}", f"{r.perplexity:.4f}",
             f"{r.perplexity / base:.4f}"] for r in results]
    print(table(rows, ["model", "tokens", "context", "stride", "NLL/token", "perplexity", "x first"],
                title=f"perplexity on {args.data} (per token)"))
    if args.json:
        write_text(args.json, json.dumps([r.to_dict() for r in results], indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
