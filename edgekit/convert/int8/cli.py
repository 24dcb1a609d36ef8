"""The ``edgekit convert`` flags for INT8 TFLite, and the run path they take (issue 5)."""
from __future__ import annotations

import argparse


def add_args(p: argparse.ArgumentParser) -> None:
    from ...data.args import add_preprocess_args

    g = p.add_argument_group("INT8 (full-integer TFLite through ai-edge-quantizer; see docs/tflite_int8.md)")
    g.add_argument("--int8", action="store_true", help="int8 weights (per channel) and activations; needs --calib")
    g.add_argument("--calib", metavar="DATA", default=None, help="calibration data: image folder, .npy or .npz")
    g.add_argument("--io", choices=["float", "int8", "uint8"], default="float",
                   help="model input/output type (default float: QUANTIZE/DEQUANTIZE at the edges)")
    g.add_argument("--target", default=None, help="target name or .toml whose TFLite io types are checked")
    g.add_argument("--calib-size", type=int, default=None, metavar="N",
                   help="use N samples (seeded, spread over classes)")
    g.add_argument("--max-drop", type=float, default=None, metavar="PCT",
                   help="top-1 points the INT8 model may lose against float (needs --eval); the most sensitive ops "
                        "are kept float until it holds")
    g.add_argument("--fallback", choices=["float", "int16"], default="float",
                   help="how --max-drop keeps an op: float (default) or int16 activations")
    g.add_argument("--eval", dest="eval_data", default=None, metavar="DATA", help="labeled data for --max-drop")
    g.add_argument("--report", default=None, metavar="FILE", help="per-tensor error float vs int8 (.json or .md)")
    g.add_argument("--dynamic", action="store_true", help="weights-only int8 (dynamic range), no calibration")
    g.add_argument("--seed", type=int, default=0, help="seed for --calib-size sampling (default 0)")
    g.add_argument("--strict", action="store_true", help="an unreadable file in the data is an error")
    add_preprocess_args(p)


def wants_int8(args) -> bool:
    return bool(getattr(args, "int8", False) or getattr(args, "dynamic", False))


def run_int8(args, convert_options, out) -> int:
    import time
    import warnings
    from pathlib import Path

    from ...data import spec_from_args
    from ...data.model import model_inputs
    from ...errors import InputError
    from ...ui import name_list, print_warnings, table
    from . import Int8Options
    from .pipeline import convert_int8

    src = Path(args.model)
    if not src.is_file():
        raise InputError(f"model {src} not found", "no such file", "check the path")
    if convert_options.fp16:
        raise InputError("--fp16 and --int8/--dynamic exclude each other", "weights are stored one way", "choose one")
    opts = Int8Options.make(io=args.io, target=args.target, calib_size=args.calib_size, max_drop=args.max_drop,
                            dynamic=args.dynamic, fallback=args.fallback, seed=args.seed, strict=args.strict)
    from .pipeline import check

    check(opts, args.calib, args.eval_data, args.report)  # before reading the model: bad flags fail fast
    inputs = model_inputs(src)
    spec = spec_from_args(args, inputs[0].shape, src, inputs[0].dtype.name) if len(inputs) == 1 else None
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = convert_int8(src, out, convert_options, opts, args.calib, spec, args.eval_data, args.report, progress=True)
    print_warnings("convert", caught)
    below = []
    rows = [["output", str(out)], ["size", f"{out.stat().st_size / 1e6:.2f} MB"],
            ["mode", f"{r.mode} int8 (weights per channel" + (", activations int8)" if r.mode == "static" else ")")],
            ["io", r.io], ["ops", sum(r.ops.values())],
            ["op types", ", ".join(f"{k} x{v}" for k, v in sorted(r.ops.items()))],
            ["float ops inside", name_list("float ops inside", r.float_ops, below)]]
    if r.calib_samples:
        rows.append(["calibration", f"{r.calib_samples} samples, {r.calib_seconds:.2f} s"])
    if r.skipped:
        rows.append(["skipped files", f"{r.skipped} unreadable (--strict makes them an error)"])
    if r.drop is not None:
        rows += [["drop", f"{r.drop:.2f} points ({r.drop_metric}); budget {args.max_drop}: "
                          f"{'met' if r.budget_met else 'NOT met'}"],
                 [f"kept {r.fallback or ''}".strip(), name_list(f"kept {r.fallback or ''}".strip(), r.kept, below)]]
    if args.report:
        rows.append(["report", args.report])
    rows.append(["time", f"{time.perf_counter() - start:.2f} s"])
    print("\n".join([table(rows, ["", "converted"]), *below]))
    return 0
