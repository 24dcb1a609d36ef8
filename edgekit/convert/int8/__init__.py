"""Full-integer (and dynamic-range) INT8 TFLite from the converter's float TFLite.

``edgekit.convert(..., int8=True, calib=DATA)`` lowers the ONNX model to a float TFLite in memory,
then: calibrate.py (same data sources and preprocessing spec as ONNX INT8, streamed) -> aeq.py
(ai-edge-quantizer ``static_wi8_ai8``, per-op recipes for the fallback) -> fallback.py (accuracy-aware
mode) -> interface.py (float/int8/uint8 I/O, metadata) -> report.py (per-tensor error). The caller
writes the bytes atomically. See docs/tflite_int8.md.
"""
from __future__ import annotations

from .options import Fallback, Int8Options, Int8Result, RangeUpdate, TensorError
from .pipeline import check, quantize_bytes

__all__ = ["Int8Options", "Int8Result", "TensorError", "Fallback", "RangeUpdate", "check", "quantize_bytes"]
