"""The TFLite backend: edgekit's converter to a float TFLite, then ai-edge-quantizer by scheme.

Kept light at import (the registry reads ``kinds``): the converter and the quantizer load when it runs.
"""
from __future__ import annotations

from ...quantize.scheme import AType, WType


class TfliteBackend:
    format = "tflite"
    kinds = frozenset({(WType.INT8, AType.INT8), (WType.INT8, AType.INT16), (WType.INT8, AType.DYNAMIC),
                       (WType.INT4, AType.FLOAT), (WType.INT4, AType.DYNAMIC), (WType.FP16, AType.FP16)})

    def quantize(self, job):
        from .pipeline import run

        return run(job)


BACKEND = TfliteBackend()
