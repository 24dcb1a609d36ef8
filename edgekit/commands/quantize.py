"""edgekit quantize MODEL.onnx --scheme NAME [--calib DATA] -o OUT.onnx|OUT.tflite"""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    from ..data.args import add_preprocess_args
    from ._quantize_flags import add_quantize_flags

    p = sub.add_parser("quantize", help="quantize an ONNX model by scheme, to ONNX or TFLite",
                       description="Quantize an ONNX model by scheme. The output's suffix picks the format: "
                                   ".onnx through onnxruntime.quantization, .tflite converts and quantizes "
                                   "through ai-edge-quantizer in one step.")
    p.add_argument("model", metavar="MODEL.onnx", nargs="?")  # optional only so --exclude A B MODEL.onnx parses
    p.add_argument("-o", "--output", required=True, metavar="OUT.onnx|OUT.tflite")
    p.add_argument("--scheme", default=None, metavar="NAME",
                   help="w8a8, w8a16, w8-dynamic, w4, w4a8 or fp16 (default: the target's scheme)")
    p.add_argument("--mode", choices=["static", "dynamic", "fp16"], default=None,
                   help="older name of a scheme: static = w8a8, dynamic = w8-dynamic, fp16 = fp16")
    add_quantize_flags(p, "quantization")
    p.add_argument("--method", choices=["minmax", "entropy", "percentile"], default="minmax",
                   help="ONNX calibration method (default minmax)")
    p.add_argument("--per-tensor", action="store_true", help="one scale per weight tensor instead of per channel")
    p.add_argument("--exclude", nargs="+", action="extend", default=[], metavar="NAME_OR_OPTYPE",
                   help="ONNX: keep these nodes in float (node names or op types; repeatable, or a comma list)")
    p.add_argument("--input-layout", choices=["nchw", "nhwc"], default=None,
                   help="TFLite: layout of 4-D model inputs (default nchw, the ONNX layout)")
    add_preprocess_args(p)
    p.set_defaults(func=run)
    return p


def early_checks(args) -> None:
    """Usage and path mistakes in a fraction of a second, before onnx/onnxruntime load (seconds)."""
    from pathlib import Path

    from .._io import check_output
    from ..errors import DataError, InputError

    args.exclude = [n for item in args.exclude for n in item.split(",") if n]
    if args.model is None and args.exclude and args.exclude[-1].lower().endswith(".onnx"):
        args.model = args.exclude.pop()  # --exclude takes one or more names: it swallowed the model
    if args.model is None:
        raise InputError("no model given", "quantize needs MODEL.onnx",
                         "name it first: edgekit quantize MODEL.onnx --calib DATA -o OUT.onnx")
    if not Path(args.model).is_file():
        raise InputError(f"model {args.model} not found", "no such file", "check the path")
    for value in (args.calib, args.eval_data):
        if value is not None and not Path(value).exists():
            raise DataError(f"data source {value} not found", "no such file or directory", "check the path")
    check_output(args.output, "output")


def run(args) -> int:
    import warnings

    from .._io import check_output

    early_checks(args)

    from ..quantize import quantize
    from ..quantize.api import plan
    from ..quantize.backend import format_of
    from ..ui import print_warnings, table
    from ._quantize_flags import given_spec, result_rows

    reads = [args.model, args.calib, getattr(args, "eval_data", None)]
    check_output(args.output, "output", inputs=reads)
    if getattr(args, "report", None):
        check_output(args.report, "--report file", inputs=[*reads, args.output])
    plan(format_of(args.output), args.scheme, args.mode, args.target, not args.per_tensor, args.block_size,
         args.io)  # a wrong scheme/format/flag fails here, before the model or the data is read
    spec = given_spec(args, args.model)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = quantize(args.model, args.output, args.calib, scheme=args.scheme, mode=args.mode, target=args.target,
                          method=args.method, per_channel=not args.per_tensor, block_size=args.block_size,
                          io=args.io, fallback=args.fallback, calib_size=args.calib_size, exclude=args.exclude,
                          max_drop=args.max_drop, eval_data=args.eval_data, report=args.report, spec=spec,
                          seed=args.seed, strict=args.strict, input_layout=args.input_layout, progress=True)
    print_warnings("quantize", caught)
    below: list = []
    rows = result_rows(result, below, args.max_drop)
    print("\n".join([table(rows, ["", "result"]), *below]))
    if args.report:
        print(f"wrote {args.report}")
    return 0
