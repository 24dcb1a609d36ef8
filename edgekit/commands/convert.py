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


# int8-only flags and their defaults: given without --int8/--dynamic they would be silently ignored
_INT8_ONLY = {"calib": None, "io": "float", "target": None, "calib_size": None, "max_drop": None,
              "fallback": "float", "eval_data": None, "report": None, "seed": 0, "strict": False}
_PREPROCESS_FLAGS = ("color", "resize", "mean", "std", "layout", "preprocess")


def _check_float_flags(args) -> None:
    from ..errors import InputError

    given = [k for k, default in _INT8_ONLY.items() if getattr(args, k, default) != default]
    if given:
        flags = ", ".join("--" + ("eval" if k == "eval_data" else k.replace("_", "-")) for k in given)
        raise InputError(f"{flags} only apply to INT8 conversion", "this is a float32/float16 conversion",
                         "add --int8 (or --dynamic), or drop the flag(s)")


def _spec_metadata(args, src) -> dict:
    """The preprocessing flags as the edgekit.preprocess metadata entry (empty when none is given).

    Without this the flags --help lists under "preprocessing" would do nothing for a float conversion.
    """
    if not any(getattr(args, k, None) is not None for k in _PREPROCESS_FLAGS):
        return {}
    from ..convert import PREPROCESS_KEY
    from ..data import spec_from_args
    from ..data.model import model_inputs
    from ..errors import InputError

    inputs = model_inputs(src)  # a missing file: InputError
    if len(inputs) != 1:
        raise InputError(f"the preprocessing flags need a model with one input, {src.name} has {len(inputs)}",
                         "a preprocessing spec describes one image input", "drop the preprocessing flags")
    spec = spec_from_args(args, inputs[0].shape, src, inputs[0].dtype.name)
    return {PREPROCESS_KEY: spec.to_json()} if spec is not None else {}


def run(args) -> int:
    import time
    import warnings
    from dataclasses import replace
    from pathlib import Path

    from .._io import write_bytes
    from ..convert import lower_model
    from ..convert.writer import serialize
    from ..ui import print_warnings, table

    options = options_from_args(args)
    src = Path(args.model)
    out = Path(args.output) if args.output else src.with_suffix(".tflite")
    from ..convert.int8.cli import run_int8, wants_int8

    if wants_int8(args):
        return run_int8(args, options, out)
    _check_float_flags(args)
    spec_meta = _spec_metadata(args, src)
    if spec_meta:  # explicit --metadata edgekit.preprocess=... still wins
        options = replace(options, metadata=tuple(spec_meta.items()) + options.metadata)
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tmodel = lower_model(src, options, progress=True)
    print_warnings("convert", caught, own_only=False)
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
