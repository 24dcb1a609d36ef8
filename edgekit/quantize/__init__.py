"""Quantization by scheme, for ONNX and TFLite alike: schemes as data (scheme.py), one backend per format
(backend.py: onnxruntime.quantization, ai-edge-quantizer), and one result type, ranking, fallback loop and
report for both.

``edgekit.quantize(model, output, scheme="w8a8", calib=DATA)`` is the entry point; see docs/quantization.md.
"""
from __future__ import annotations

from .api import quantize
from .config import Method, Mode
from .result import LayerError, QuantizeResult
from .scheme import PRESETS, AType, Granularity, Scheme, Weights, WType, get_scheme

__all__ = ["quantize", "QuantizeResult", "LayerError", "Mode", "Method", "Scheme", "Weights", "WType", "AType",
           "Granularity", "PRESETS", "get_scheme"]
