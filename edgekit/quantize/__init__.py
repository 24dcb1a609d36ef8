"""Quantization of ONNX models: static INT8 (calibrated QDQ), dynamic INT8, FP16.

``edgekit.quantize(model, calib, output, ...)`` is the entry point; see docs/quantization.md.
"""
from __future__ import annotations

from .api import quantize
from .config import LayerError, Method, Mode, QuantizeResult

__all__ = ["quantize", "QuantizeResult", "LayerError", "Mode", "Method"]

