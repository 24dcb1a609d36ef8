"""Resize (opset 10, 11+) -> RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR / GATHER (see ``_resize.py``); cubic,
antialiased linear downsampling and linear resizes RESIZE_BILINEAR cannot sample (scales that are not
out/in, other axes, half_pixel_symmetric) -> constant interpolation matrices (``_resize_matrix.py``)."""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..registry import lowering
from ._axes import const_ints
from ._resize import bilinear_refusal, output_shape, resize_op
from ._resize_matrix import matrix_resize


def _floats(n: NodeCtx, v: Optional[Value]):
    if v is None or v.const is not None and v.const.size == 0:
        return None
    if not v.is_const:
        raise n.unsupported("scales computed at run time")
    return tuple(float(s) for s in np.asarray(v.const).reshape(-1))


@lowering("Resize", since=10)
def resize_v10(n: NodeCtx, x: Value, scales: Value, *, mode: str = "nearest"):
    shape, s = output_shape(n, x, _floats(n, scales), None)
    return resize_op(n, x, shape, s, mode, "asymmetric", "simple")


@lowering("Resize", since=11)
def resize(n: NodeCtx, x: Value, roi: Optional[Value] = None, scales: Optional[Value] = None,
           sizes: Optional[Value] = None, *, mode: str = "nearest", coordinate_transformation_mode: str = "half_pixel",
           nearest_mode: str = "round_prefer_floor", cubic_coeff_a: float = -0.75, exclude_outside: int = 0,
           extrapolation_value: float = 0.0, antialias: int = 0, axes: tuple = (),
           keep_aspect_ratio_policy: str = "stretch"):
    sz = const_ints(n, sizes, "sizes") if sizes is not None and (sizes.const is None or sizes.const.size) else None
    shape, s = output_shape(n, x, _floats(n, scales), sz, axes, keep_aspect_ratio_policy)
    downsampled = any(o < i for o, i in zip(shape, x.shape))
    if mode == "cubic" or mode == "linear" and (antialias and downsampled or bilinear_refusal(
            x, shape, s, coordinate_transformation_mode) and coordinate_transformation_mode != "tf_crop_and_resize"):
        # no TFLite kernel: one constant interpolation matrix per resized axis (_resize_matrix.py)
        if coordinate_transformation_mode == "tf_crop_and_resize":
            raise n.unsupported("coordinate_transformation_mode tf_crop_and_resize (needs a runtime crop)")
        if keep_aspect_ratio_policy != "stretch":
            raise n.unsupported(f"keep_aspect_ratio_policy {keep_aspect_ratio_policy!r} with mode {mode!r}")
        attrs = dict(mode=mode, coordinate_transformation_mode=coordinate_transformation_mode,
                     cubic_coeff_a=cubic_coeff_a, exclude_outside=exclude_outside)
        if antialias:
            attrs["antialias"] = antialias
        return matrix_resize(n, x, shape, s, attrs, sz is not None)
    return resize_op(n, x, shape, s, mode, coordinate_transformation_mode, nearest_mode)
