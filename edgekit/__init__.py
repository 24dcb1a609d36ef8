"""edgekit: distill, convert, quantize, profile and bundle a network for a device.

The public API is loaded lazily so that ``import edgekit`` and ``edgekit.load`` pull in only numpy
and one runtime backend — never onnx, pillow or torch (a device has none of them).
"""
from __future__ import annotations

import importlib
import sys
import types

from .errors import EdgekitError

__version__ = "0.1.0"

# public name -> (module, attribute)
_API = {
    "load": ("edgekit.runtime", "load"),
    "Model": ("edgekit.runtime", "Model"),
    "profile": ("edgekit.profile", "profile"),
    "get_target": ("edgekit.targets", "get_target"),
    "list_targets": ("edgekit.targets", "list_targets"),
    "convert": ("edgekit.convert", "convert"),
    "quantize": ("edgekit.quantize", "quantize"),
    "evaluate": ("edgekit.evaluate", "evaluate"),
    "distill": ("edgekit.distill", "distill"),
    "bundle": ("edgekit.bundle", "bundle"),
    "report": ("edgekit.report", "report"),
    "demo": ("edgekit.demo", "demo"),
}

__all__ = ["EdgekitError", "__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        module, attr = _API[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'edgekit' has no attribute {name!r}")


class _CallableModule(types.ModuleType):
    """A subpackage named like the function it defines (``edgekit.profile``, ``edgekit.convert``, ...).

    Importing ``edgekit.profile`` anywhere makes Python set the subpackage as the attribute
    ``edgekit.profile``, shadowing the public function; a callable module keeps ``edgekit.profile(...)``
    working whatever was imported first, and ``edgekit.profile.Protocol`` still resolves.
    """

    def __call__(self, *args, **kwargs):
        return getattr(self, self.__name__.rsplit(".", 1)[1])(*args, **kwargs)


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and _API.get(name) == (value.__name__, name):
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
