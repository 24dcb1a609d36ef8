"""The schema of a bundle's ``edgekit.json``: types, ranges, allowed keys and depth, checked on load.

A bundle's settings used to be trusted as written: ``threads: 1000000`` made ``edgekit.load`` segfault,
a mistyped field ended in a traceback. Every field the loader reads is described here as data (a
small rule per field) and checked before anything uses it. Standard library only: this runs on
devices. Unknown keys are refused, so a typo or an injected field does not pass silently.
"""
from __future__ import annotations

import math
import re

from ..errors import ModelError

MAX_MODELS = 16
MAX_LABELS = 1 << 16  # edgekit.limits.MAX_CLASSES (not imported: the device side stands alone)
MAX_THREADS = 4 * 4096  # runtime.device.thread_limit for the most cores a target may state
MAX_TEXT = 4096
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_FORMATS = ("onnx", "tflite")


class Bad(Exception):
    """A schema violation: ``where`` (a dotted key path) and what was expected."""

    def __init__(self, where: str, want: str, got):
        self.where, self.want, self.got = where, want, got
        super().__init__(f"{where}: expected {want}, got {_show(got)}")


def _show(value) -> str:
    text = repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return text if len(text) <= 60 else text[:57] + "..."


# ----------------------------------------------------------------------------- rules (value, where) -> None
def text(max_len: int = MAX_TEXT, const: str | None = None, choices=None):
    def rule(v, where):
        if not isinstance(v, str) or len(v) > max_len or "\x00" in v:
            raise Bad(where, f"a string of at most {max_len} characters", v)
        if const is not None and v != const:
            raise Bad(where, repr(const), v)
        if choices is not None and v not in choices:
            raise Bad(where, " or ".join(map(repr, choices)), v)
    return rule


def sha256(v, where):
    if not isinstance(v, str) or not _HEX64.match(v):
        raise Bad(where, "a sha256 as 64 lowercase hex digits", v)


def integer(lo: int, hi: int):
    def rule(v, where):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise Bad(where, f"a whole number from {lo} to {hi}", v)
    return rule


def number(v, where):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or (isinstance(v, float) and math.isnan(v)):
        raise Bad(where, "a number", v)


def boolean(v, where):
    if not isinstance(v, bool):
        raise Bad(where, "true or false", v)


def optional(inner):
    def rule(v, where):
        if v is not None:
            inner(v, where)
    return rule


def either(*rules, want: str):
    def rule(v, where):
        for r in rules:
            try:
                return r(v, where)
            except Bad:
                continue
        raise Bad(where, want, v)
    return rule


def array(item, max_len: int, min_len: int = 0):
    def rule(v, where):
        if not isinstance(v, list) or not min_len <= len(v) <= max_len:
            raise Bad(where, f"a list of {min_len} to {max_len} items", v)
        for i, x in enumerate(v):
            item(x, f"{where}[{i}]")
    return rule


def obj(required: dict, optional_keys: dict | None = None):
    """A JSON object with exactly these keys (required ones present, no others)."""
    allowed = {**required, **(optional_keys or {})}

    def rule(v, where):
        if not isinstance(v, dict):
            raise Bad(where, "an object", v)
        unknown = sorted(set(v) - set(allowed))
        if unknown:
            raise Bad(f"{where}.{unknown[0]}" if where else unknown[0], "no such key (allowed: "
                      f"{', '.join(allowed)})", v[unknown[0]])
        for key, r in allowed.items():
            if key in v:
                r(v[key], f"{where}.{key}" if where else key)
            elif key in required:
                raise Bad(f"{where}.{key}" if where else key, "this key", "nothing")
    return rule


def mapping(value_rule, max_len: int = 64):
    """An object with free string keys (metrics), each value checked by ``value_rule``."""
    def rule(v, where):
        if not isinstance(v, dict) or len(v) > max_len:
            raise Bad(where, f"an object of at most {max_len} keys", v)
        for k, x in v.items():
            text(128)(k, f"{where} key")
            value_rule(x, f"{where}.{k}")
    return rule


# ----------------------------------------------------------------------------- the manifest
SCALAR = optional(either(number, text(), boolean, want="a number, string, boolean or null"))
TENSOR = obj({"name": text(1024), "shape": array(integer(0, 2**31 - 1), 8), "dtype": text(16)},
             {"scale": optional(number), "zero_point": optional(integer(-(2**31), 2**31 - 1))})
PREPROCESS = obj({}, {k: SCALAR for k in ("color", "resize", "resize_shorter", "center_crop", "scale", "layout",
                                         "dtype")} | {"size": optional(array(integer(1, 1 << 15), 2, 2)),
                                                      "mean": array(number, 4, 1), "std": array(number, 4, 1)})
MODEL = obj({"file": text(255), "format": text(choices=_FORMATS), "sha256": sha256,
             "bytes": integer(0, 1 << 40)},
            {"preprocess": optional(PREPROCESS), "inputs": array(TENSOR, 64), "outputs": array(TENSOR, 64),
             "source_sha256": optional(sha256), "metrics": mapping(either(SCALAR, mapping(SCALAR),
                                                                          want="a number, string or object"))})
TARGET = obj({"name": text(256)}, {"arch": text(64), "format": text(choices=_FORMATS), "runtime": text(64),
                                   "threads": integer(1, MAX_THREADS)})
FILE_REF = obj({"sha256": sha256}, {"file": optional(text(255)), "name": optional(text(255)),
                                    "from": text(64), "files": integer(0, 1 << 40)})
MANIFEST_RULE = obj({"kind": text(), "schema": integer(1, 1 << 16), "models": array(MODEL, MAX_MODELS, 1)},
                    {"labels": text(255), "num_labels": integer(1, MAX_LABELS), "target": TARGET,
                     "tokenizer": optional(text(255)),  # a text model's tokenizer.json (docs/lm.md)
                     "provenance": optional(obj({}, {"edgekit_version": text(64), "source_model": optional(FILE_REF),
                                                     "calibration_set": optional(FILE_REF)}))})


def check_manifest(manifest, path) -> dict:
    """``manifest`` if it follows the schema, else ModelError naming the key."""
    try:
        MANIFEST_RULE(manifest, "")
    except Bad as bad:
        raise ModelError(f"{path} is not a valid bundle manifest", f"key '{bad.where}': expected {bad.want}, "
                         f"got {_show(bad.got)}", "rebuild the bundle with `edgekit bundle`") from None
    return manifest
