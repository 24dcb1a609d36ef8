"""edgekit convert: ONNX -> TFLite without TensorFlow (float32, or quantized by scheme in the same step).

The command parses flags and prints the result; ``edgekit.convert()`` does the work.
"""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    from ..data.args import add_preprocess_args
    from ._quantize_flags import add_quantize_flags

    p = sub.add_parser("convert", help="convert an ONNX model to TFLite",
                       description="Convert an ONNX model to a TFLite flatbuffer (no TensorFlow needed); with "
                                   "--scheme (or --int8/--dynamic/--fp16) it is quantized in the same step.")
    p.add_argument("model", help="input .onnx file (never modified)")
    p.add_argument("--to", default="tflite", choices=["tflite"], help="output format (default: tflite)")
    p.add_argument("-o", "--output", help="output file (default: MODEL with the .tflite suffix)")
    p.add_argument("--input-layout", choices=["nchw", "nhwc"], default=None,
                   help="layout of 4-D model inputs: nchw keeps the ONNX layout (default), nhwc takes "
                        "channels-last input (camera frames)")
    p.add_argument("--shape", action="append", default=[], metavar="NAME=DIMS",
                   help="fix an input's dynamic axes, e.g. input_ids=1,128 (repeatable; float conversions)")
    p.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE",
                   help="store a metadata entry in the model (repeatable)")
    p.add_argument("--scheme", default=None, metavar="NAME",
                   help="quantize: w8a8, w8a16, w8-dynamic, w4, w4a8 or fp16 (docs/quantization.md)")
    p.add_argument("--int8", action="store_true", help="= --scheme w8a8 (int8 weights and activations; needs --calib)")
    p.add_argument("--dynamic", action="store_true", help="= --scheme w8-dynamic (int8 weights, no calibration)")
    p.add_argument("--fp16", action="store_true", help="= --scheme fp16 (float16 weights, half the size)")
    add_quantize_flags(p, "quantization (with --scheme; see docs/tflite_int8.md)")
    add_preprocess_args(p)
    p.add_argument("--prefill", type=int, default=None, metavar="N",
                   help="a static-cache LM: longest prompt of the prefill signature (default 64; docs/lm.md)")
    p.set_defaults(func=run)
    return p


def _metadata(args) -> dict:
    from ..errors import InputError

    meta = {}
    for item in args.metadata:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"bad --metadata '{item}'", "expected KEY=VALUE", "write e.g. --metadata author=me")
        meta[key] = value
    return meta


def _shapes(args) -> dict:
    from ..errors import InputError

    shapes = {}
    for item in args.shape:
        name, sep, dims = item.partition("=")
        try:
            shapes[name] = [int(d) for d in dims.split(",")]
        except ValueError:
            shapes[name] = None
        if not sep or not name or shapes[name] is None:
            raise InputError(f"bad --shape '{item}'", "expected NAME=D1,D2,...", "write e.g. --shape input_ids=1,128")
    return shapes


def _scheme(args):
    from ..errors import InputError

    named = [n for n in ("int8", "dynamic", "fp16") if getattr(args, n)]
    if len(named) + (args.scheme is not None) > 1:
        flags = " and ".join(["--" + n for n in named] + (["--scheme"] if args.scheme else []))
        raise InputError(f"{flags} exclude each other", "weights are stored one way", "choose one scheme")
    return args.scheme or {"int8": "w8a8", "dynamic": "w8-dynamic", "fp16": "fp16"}.get(named[0] if named else "")


def _check_float_flags(args) -> None:
    """Quantization flags on a float conversion, named as the user typed them (the API names keywords)."""
    from ..convert import _QUANT_ONLY
    from ..errors import InputError

    given = [k for k, default in _QUANT_ONLY.items() if getattr(args, k, default) != default]
    if given:
        flags = ", ".join("--" + ("eval" if k == "eval_data" else k.replace("_", "-")) for k in given)
        raise InputError(f"{flags} only apply to quantization", "this is a float32 conversion",
                         "add --scheme NAME (or --int8, --dynamic), or drop the flag(s)")


def run(args) -> int:
    import time
    import warnings
    from pathlib import Path

    from .._io import check_output
    from ..convert import convert
    from ..ui import print_warnings, table
    from ._quantize_flags import given_spec, result_rows

    src = Path(args.model)
    out = Path(args.output) if args.output else src.with_suffix(".tflite")
    reads = [src, getattr(args, "calib", None), getattr(args, "eval_data", None)]
    check_output(out, "output", inputs=reads)
    if getattr(args, "report", None):
        check_output(args.report, "--report file", inputs=[*reads, out])
    from .convert_lm import maybe_convert_lm

    if maybe_convert_lm(args, src, out):  # a KV-cache LM: prefill + decode signatures (docs/lm.md)
        return 0
    scheme = _scheme(args)
    meta = _metadata(args)
    if scheme is None:
        _check_float_flags(args)
    else:
        from ..quantize.api import plan

        plan("tflite", scheme, None, args.target, True, args.block_size, args.io)  # bad flags fail before any work
    spec = given_spec(args, src)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = convert(src, out, input_layout=args.input_layout, metadata=meta, progress=True, scheme=scheme,
                    calib=args.calib, io=args.io, target=args.target, calib_size=args.calib_size,
                    max_drop=args.max_drop, eval_data=args.eval_data, report=args.report, spec=spec,
                    fallback=args.fallback, block_size=args.block_size, seed=args.seed, strict=args.strict,
                    shapes=_shapes(args))
    print_warnings("convert", caught, own_only=scheme is not None)
    below: list = []
    rows = result_rows(r, below, args.max_drop)
    if r.scheme is None:
        rows.insert(3, ["weights", "float32"])
    if args.shape:
        rows.append(["input shapes", ", ".join(args.shape) + " (fixed by --shape)"])
    if args.report:
        rows.append(["report", args.report])
    rows.append(["time", f"{time.perf_counter() - start:.2f} s"])
    print("\n".join([table(rows, ["", "converted"]), *below]))
    return 0
