"""The TFLite quantization backend: quantized TFLite from the converter's float TFLite.

``edgekit.quantize(model, "out.tflite", scheme=...)`` (or ``edgekit.convert(..., scheme=...)``) lowers
the ONNX model to a float TFLite in memory, then: calibrate.py (same data sources and preprocessing
rule as ONNX, streamed) -> aeq.py (ai-edge-quantizer, one recipe per scheme, per-op recipes for the
fallback) -> the shared accuracy-aware fallback (edgekit.quantize.fallback) -> interface.py
(float/int8/uint8 I/O) -> report.py (per-tensor error). See docs/tflite_int8.md.
"""
from __future__ import annotations
