"""edgekit quantize MODEL.onnx --calib DATA -o OUT.onnx: static INT8 (or dynamic / FP16)."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    from ..data.args import add_preprocess_args

    p = sub.add_parser("quantize", help="quantize an ONNX model (static INT8, dynamic INT8, FP16)",
                       description="Quantize an ONNX model. Static INT8 is calibrated on --calib data through "
                                   "onnxruntime.quantization; types and format come from the target profile.")
    p.add_argument("model", metavar="MODEL.onnx")
    p.add_argument("--calib", metavar="DATA", default=None, help="image folder, .npy or .npz (static mode)")
    p.add_argument("-o", "--output", required=True, metavar="OUT.onnx")
    p.add_argument("--target", default=None, help="target name or .toml (default: this host's)")
    p.add_argument("--mode", choices=["static", "dynamic", "fp16"], default="static")
    p.add_argument("--method", choices=["minmax", "entropy", "percentile"], default="minmax",
                   help="calibration method (default minmax)")
    p.add_argument("--per-tensor", action="store_true", help="one scale per weight tensor instead of per channel")
    p.add_argument("--calib-size", type=int, default=None, metavar="N", help="use N samples (seeded, spread over classes)")
    p.add_argument("--seed", type=int, default=0, help="seed for --calib-size sampling (default 0)")
    p.add_argument("--exclude", nargs="+", default=[], metavar="NAME_OR_OPTYPE", help="keep these nodes in float")
    p.add_argument("--max-drop", type=float, default=None, metavar="PCT",
                   help="top-1 points the INT8 model may lose against float (needs --eval)")
    p.add_argument("--eval", dest="eval_data", default=None, metavar="DATA", help="labeled data for --max-drop")
    p.add_argument("--report", default=None, metavar="FILE", help="per-layer error table (.json or .md)")
    p.add_argument("--strict", action="store_true", help="an unreadable file in the data is an error")
    add_preprocess_args(p)
    p.set_defaults(func=run)
    return p



def run(args) -> int:
    import warnings

    from ..data import spec_from_args
    from ..data.model import model_inputs
    from ..quantize import quantize
    from ..ui import name_list, print_warnings, table

    inputs = model_inputs(args.model)  # a missing file: InputError
    spec = spec_from_args(args, inputs[0].shape, args.model, inputs[0].dtype.name) if len(inputs) == 1 else None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = quantize(args.model, args.calib, args.output, target=args.target, mode=args.mode,
                          method=args.method, per_channel=not args.per_tensor, calib_size=args.calib_size,
                          exclude=args.exclude, max_drop=args.max_drop, eval_data=args.eval_data, report=args.report,
                          spec=spec, seed=args.seed, strict=args.strict)
    print_warnings("quantize", caught)
    rows = [["output", str(result.output)], ["mode", result.mode.value], ["target", result.target]]
    if result.activations:
        rows += [["activations/weights", f"{result.activations}/{result.weights}"], ["format", result.format],
                 ["per-channel", str(result.per_channel)], ["calibration samples", str(result.calib_samples)]]
    if result.skipped:
        rows.append(["skipped files", str(result.skipped)])
    below = []
    rows.append(["kept in float", name_list("kept in float", result.float_layers, below)])
    if result.drop is not None:
        metric = "top-1" if result.drop_metric == "top1" else "disagreement with float"
        rows.append([f"{metric} drop", f"{result.drop:.2f} points (budget {args.max_drop}: "
                                       f"{'met' if result.budget_met else 'NOT met'})"])
    print("\n".join([table(rows, ["", "result"]), *below]))
    if args.report:
        print(f"wrote {args.report}")
    return 0
