"""One lowering per ONNX op, one small file per op (named after it). Importing this package imports
every module in it, which registers the lowerings; a new op file needs no other edit."""
from __future__ import annotations

import importlib
import pkgutil

for _mod in sorted(m.name for m in pkgutil.iter_modules(__path__)):
    importlib.import_module(f"{__name__}.{_mod}")
