"""Quantization of ONNX models: static INT8 (calibrated QDQ), dynamic INT8, FP16.

``edgekit.quantize(model, calib, output, ...)`` is the entry point; see docs/quantization.md.
"""
from __future__ import annotations

from .api import quantize
from .config import LayerError, Method, Mode, QuantizeResult

__all__ = ["quantize", "QuantizeResult", "LayerError", "Mode", "Method"]


def _make_callable() -> None:
    """``edgekit.quantize`` is both this package and the function: importing the package (e.g.
    ``from edgekit.quantize import Mode``) binds the module to ``edgekit.quantize``, which would shadow
    the lazy function. A callable module keeps ``edgekit.quantize(...)`` working in either order."""
    import sys
    import types

    class _CallableModule(types.ModuleType):
        def __call__(self, *args, **kwargs):
            return quantize(*args, **kwargs)

    sys.modules[__name__].__class__ = _CallableModule


_make_callable()
