"""The seam between schemes and formats: a backend protocol and a small registry keyed by format.

A backend declares the (weights, activations) kinds it implements; asking it for another scheme is
one line listing the presets it has. Backends are imported only when their format is asked for, so
``edgekit quantize x.onnx -o y.onnx`` never imports ai-edge-quantizer.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..errors import InputError
from .result import QuantizeResult
from .scheme import PRESETS, Scheme, SchemeError


@dataclass(frozen=True)
class Job:
    """Everything a backend is told, checked already (checks.py)."""
    src: Path
    output: Path
    scheme: Scheme
    target: object                    # edgekit.targets.Target
    calib: object = None              # any edgekit.data source
    calib_size: int | None = None
    method: str = "minmax"
    exclude: tuple[str, ...] = ()
    max_drop: float | None = None
    eval_data: object = None
    report: Path | None = None
    spec: object = None               # a PreprocessSpec given by the caller (None: stored > defaults)
    seed: int = 0
    strict: bool = False
    fallback: str = "float"           # how the accuracy-aware fallback keeps a layer: float | int16
    convert_options: object = None    # TFLite: the ConvertOptions of the ONNX -> TFLite step
    progress: bool = False
    qformat: str | None = None        # ONNX: qdq | qoperator (from the target)


class Backend(Protocol):
    format: str
    kinds: frozenset  # of (WType, AType)

    def quantize(self, job: Job) -> QuantizeResult: ...


# format -> "module:attribute" of its backend instance
_BACKENDS = {"onnx": "edgekit.quantize.onnx_backend:BACKEND", "tflite": "edgekit.convert.int8.backend:BACKEND"}
SUFFIXES = {".onnx": "onnx", ".tflite": "tflite"}


def backend_for(fmt: str) -> Backend:
    module, _, attr = _BACKENDS[fmt].partition(":")
    return getattr(importlib.import_module(module), attr)


def kinds_of(fmt: str) -> frozenset:
    """What the format's backend declares (backend modules import their libraries only when they run)."""
    return backend_for(fmt).kinds


def supports(fmt: str, scheme: Scheme) -> bool:
    return (scheme.weights.dtype, scheme.activations) in kinds_of(fmt)


def schemes_for(fmt: str) -> list[str]:
    return [name for name, s in PRESETS.items() if supports(fmt, s)]


def check_supported(fmt: str, scheme: Scheme) -> None:
    if not supports(fmt, scheme):
        raise SchemeError(f"scheme {scheme.name} is not available for {fmt}",
                         f"{fmt} has {', '.join(schemes_for(fmt))}",
                         f"pass --scheme with one of those, or write the other format (-o OUT"
                         f"{'.tflite' if fmt == 'onnx' else '.onnx'})")


def format_of(output) -> str:
    suffix = Path(str(output)).suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"output {output} ends in {suffix or 'no suffix'}", "the suffix picks the format",
                         "name it OUT.onnx or OUT.tflite")
    return SUFFIXES[suffix]
