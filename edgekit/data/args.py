"""The preprocessing flags every data-reading command shares, and how they combine.

Precedence, key by key: flags > ``--preprocess`` file/preset > spec stored in the model > defaults
from the model's input shape. The model's layout and fixed input size always win (spec.resolve_spec,
the rule every command follows): any other could only fail at run time.
"""
from __future__ import annotations

import argparse

from ..errors import InputError
from .spec import PreprocessSpec, _fields, load_spec_file, read_spec, resolve_spec, spec_for_input


def add_preprocess_args(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    g = parser.add_argument_group("preprocessing (default: from the spec stored in the model, else its input shape)")
    g.add_argument("--color", choices=["rgb", "gray"], default=None, help="colour mode fed to the model")
    g.add_argument("--resize", type=int, default=None, metavar="N",
                   help="resize the shorter side to N, then centre-crop to the input size "
                        "(default: resize straight to the input size)")
    g.add_argument("--mean", default=None, metavar="A,B,C", help="per-channel mean on the 0..1 scale")
    g.add_argument("--std", default=None, metavar="A,B,C", help="per-channel std on the 0..1 scale")
    g.add_argument("--layout", choices=["nchw", "nhwc"], default=None, help="tensor layout")
    g.add_argument("--preprocess", default=None, metavar="FILE|imagenet",
                   help="TOML or JSON file with the same keys, or the preset 'imagenet'")
    return parser


def _floats(text: str, flag: str) -> list[float]:
    try:
        return [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise InputError(f"{flag} {text!r} is not a list of numbers", "expected e.g. 0.485,0.456,0.406",
                         "give comma-separated numbers on the 0..1 scale") from None


def _flag_keys(args) -> dict:
    raw = {}
    if getattr(args, "color", None):
        raw["color"] = args.color
    if getattr(args, "resize", None) is not None:
        raw["resize"] = args.resize
    if getattr(args, "mean", None) is not None:
        raw["mean"] = _floats(args.mean, "--mean")
    if getattr(args, "std", None) is not None:
        raw["std"] = _floats(args.std, "--std")
    if getattr(args, "layout", None):
        raw["layout"] = args.layout
    return _fields(raw, "the preprocessing flags")


def spec_from_args(args, input_shape, model_path=None, input_dtype: str = "float32") -> PreprocessSpec | None:
    """The spec for a command: flags > --preprocess > stored in the model > input-shape defaults.

    Returns None for a non-image input (token ids, audio features) when nothing asks for image
    preprocessing; asking for it there, unless the model already stores a spec, is an InputError (it
    would store an image spec the data never follows).
    """
    base = spec_for_input(input_shape, input_dtype)
    stored = read_spec(model_path) if model_path else None
    asked = _flag_keys(args)
    if base is None and stored is None and (asked or getattr(args, "preprocess", None)):
        shape = "x".join("?" if d is None else str(d) for d in input_shape)
        raise InputError("the preprocessing flags describe images",
                         f"the model's input is {shape} {input_dtype}, not NCHW/NHWC with 1 or 3 channels",
                         "drop them: arrays are fed to such a model as they are stored")
    layers = {}
    if stored is not None:
        layers.update(_fields(stored.to_dict(), "stored spec"))
    if getattr(args, "preprocess", None):
        layers.update(load_spec_file(args.preprocess))
    layers.update(asked)
    if base is None and not layers:
        return None
    try:
        merged = (base or PreprocessSpec()).replace(**layers)
    except InputError:
        raise
    except (TypeError, ValueError) as exc:  # pragma: no cover - _fields validated the keys
        raise InputError("invalid preprocessing options", str(exc), "check the flags") from exc
    return resolve_spec(base, merged)[0]  # the one rule: the model's layout and fixed size win


PREPROCESS_FLAGS = ("color", "resize", "mean", "std", "layout", "preprocess")


def asks_preprocessing(args) -> bool:
    """Whether any preprocessing flag was given (else the model's stored spec or its defaults apply)."""
    return any(getattr(args, k, None) is not None for k in PREPROCESS_FLAGS)
