"""edgekit bundle MODEL [MODEL ...] --target T [--labels FILE] [--results JSON] -o DIR."""
from __future__ import annotations

import argparse

_PREPROCESS_FLAGS = ("color", "resize", "mean", "std", "layout", "preprocess")


def add_parser(sub) -> argparse.ArgumentParser:
    from ..data.args import add_preprocess_args

    p = sub.add_parser("bundle", help="package model(s), labels and preprocessing into a deployment directory",
                       description="Write a directory with the model file(s), labels.txt and edgekit.json "
                                   "(preprocessing, I/O quantization, target, provenance, accuracy and latency). "
                                   "edgekit.load(DIR) opens it; Model.predict(image) classifies with it.")
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help=".onnx/.tflite file(s); edgekit.load picks the one in the target's format, else the first")
    p.add_argument("--target", required=True, help="target name or .toml path")
    p.add_argument("--labels", default=None, metavar="FILE|DIR",
                   help="one label per line, or a data folder with one subfolder per class (default: class indices)")
    p.add_argument("--results", action="append", default=None, metavar="JSON",
                   help="profile/eval/demo results whose accuracy and latency go into edgekit.json (repeatable)")
    p.add_argument("--source", default=None, metavar="MODEL", help="the model these were derived from (hashed)")
    p.add_argument("--calibration", default=None, metavar="DATA", help="the calibration file or folder (hashed)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="bundle directory to write")
    p.add_argument("--sign", default=None, metavar="KEY",
                   help="sign the bundle with this Ed25519 private key (PEM; make one with `edgekit keygen`)")
    add_preprocess_args(p)
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import warnings
    from pathlib import Path

    from ..bundle import bundle
    from ..runtime.bundle import MANIFEST
    from ..ui import print_warnings, table

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = bundle(args.models, args.output, target=args.target, labels=args.labels, results=args.results,
                     source=args.source, calibration=args.calibration, spec=_spec(args), sign=args.sign)
    print_warnings("bundle", caught, own_only=False)
    import json

    manifest = json.loads((Path(out) / MANIFEST).read_text(encoding="utf-8"))
    rows = [[m["file"], m["format"], m["bytes"] / 1e6, m["metrics"].get("top1"),
             (m["metrics"].get("latency_ms") or {}).get("p50"), m["sha256"][:12]] for m in manifest["models"]]
    print(table(rows, ["file", "format", "size MB", "top1 %", "p50 ms", "sha256"],
                title=f"bundle {out} for {manifest['target']['name']} ({manifest['num_labels']} labels)"))
    return 0


def _spec(args):
    """A spec from the preprocessing flags, or None to use the one stored in the model(s)."""
    if not any(getattr(args, k, None) is not None for k in _PREPROCESS_FLAGS):
        return None
    from pathlib import Path

    from .. import load
    from ..data import spec_from_args

    first = Path(args.models[0])
    onnx = next((m for m in [args.source, *args.models] if m and str(m).lower().endswith(".onnx")), None)
    info = load(first).inputs[0] if first.is_file() else None
    if info is None:
        return None  # bundle() reports the missing file
    return spec_from_args(args, info.shape, onnx, "float32" if info.quantized else info.dtype.name)
