"""Upsample (deprecated since opset 10; scales attribute in opset 7, input in 9) -> Resize's lowering
with the asymmetric coordinate transform Upsample is defined with (see ``_resize.py``)."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._resize import output_shape, resize_op


@lowering("Upsample", since=7)
def upsample_v7(n: NodeCtx, x: Value, *, scales: tuple = (), mode: str = "nearest"):
    shape, s = output_shape(n, x, tuple(scales), None)
    return resize_op(n, x, shape, s, "linear" if mode == "bilinear" else mode, "asymmetric", "simple")


@lowering("Upsample", since=9)
def upsample(n: NodeCtx, x: Value, scales: Value, *, mode: str = "nearest"):
    if not scales.is_const:
        raise n.unsupported("scales computed at run time")
    s = tuple(float(v) for v in np.asarray(scales.const).reshape(-1))
    shape, s = output_shape(n, x, s, None)
    return resize_op(n, x, shape, s, "linear" if mode == "bilinear" else mode, "asymmetric", "simple")
