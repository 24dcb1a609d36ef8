"""edgekit convert: ONNX -> TFLite (float32 or float16) without TensorFlow.

The argparse layer only maps flags onto ``edgekit.convert.ConvertOptions`` (a frozen dataclass);
issue 5 adds its int8 flags in ``add_parser`` and fields in the dataclass, nothing else changes.
"""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("convert", help="convert an ONNX model to TFLite",
                       description="Convert an ONNX model to a TFLite flatbuffer (no TensorFlow needed).")
    p.add_argument("model", help="input .onnx file (never modified)")
    p.add_argument("--to", default="tflite", choices=["tflite"], help="output format (default: tflite)")
    p.add_argument("-o", "--output", help="output file (default: MODEL with the .tflite suffix)")
    p.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    p.add_argument("--input-layout", choices=["nchw", "nhwc"], default=None,
                   help="layout of 4-D model inputs: nchw keeps the ONNX layout (default), nhwc takes "
                        "channels-last input (camera frames)")
    p.add_argument("--metadata", action="append", default=[], metavar="KEY=VALUE",
                   help="store a metadata entry in the model (repeatable)")
    from ..convert.int8.cli import add_args  # issue 5: --int8 --calib --io ... and the preprocessing flags

    add_args(p)
    p.set_defaults(func=run)
    return p


def options_from_args(args):
    """The ConvertOptions for parsed ``args`` (kept separate so other commands can reuse it)."""
    from ..convert import ConvertOptions
    from ..errors import InputError

    meta = {}
    for item in args.metadata:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise InputError(f"bad --metadata '{item}'", "expected KEY=VALUE", "write e.g. --metadata author=me")
        meta[key] = value
    return ConvertOptions.make(args.to, args.fp16, args.input_layout, meta)


def run(args) -> int:
    import sys
    import time
    import warnings
    from pathlib import Path

    from .._io import write_bytes
    from ..convert import lower_model
    from ..convert.writer import serialize
    from ..ui import table

    options = options_from_args(args)
    src = Path(args.model)
    out = Path(args.output) if args.output else src.with_suffix(".tflite")
    from ..convert.int8.cli import run_int8, wants_int8

    if wants_int8(args):
        return run_int8(args, options, out)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tmodel = lower_model(src, options, progress=True)
    for w in caught:  # one readable line each instead of python's file:line warning format
        print(f"edgekit convert: warning: {w.message}", file=sys.stderr)
    write_bytes(out, serialize(tmodel))
    seconds = time.perf_counter() - start
    counts = tmodel.op_counts()
    rows = [["output", str(out)], ["size", f"{out.stat().st_size / 1e6:.2f} MB"],
            ["weights", "float16" if options.fp16 else "float32"],
            ["input layout", options.input_layout.value], ["ops", sum(counts.values())],
            ["op types", ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))],
            ["time", f"{seconds:.2f} s"]]
    print(table(rows, ["", "converted"]))
    return 0
