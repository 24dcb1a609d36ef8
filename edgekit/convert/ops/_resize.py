"""Resize / Upsample, shared by ``resize.py`` and ``upsample.py``.

* nearest: the source index of every output row/column is computed here exactly as onnxruntime
  does (float32 coordinate transform, then the nearest_mode rounding, clamped). When resizing only
  H and W of a 4-D tensor and TFLite's RESIZE_NEAREST_NEIGHBOR with some (align_corners,
  half_pixel_centers) flags picks the same indices (checked index by index with TFLite's formula,
  reference_ops.h GetNearestNeighbor), that op is used on NHWC; otherwise one GATHER per resized
  axis with the precomputed indices (exact for every mode, any axis).
* linear (bilinear on H, W of a 4-D tensor): RESIZE_BILINEAR with align_corners (ONNX
  align_corners), half_pixel_centers (half_pixel, pytorch_half_pixel with outputs > 1) or neither
  (asymmetric); TFLite samples at (x + 0.5) * in / out - 0.5, so the ONNX scale must equal out / in.
* anything else (cubic, tf_crop_and_resize, antialiased downsampling, linear on N or C) is
  unsupported with the reason.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

from ..context import NodeCtx, Value
from ..ir import channels_last, shape_of
from ._base import options

_LINEAR_FLAGS = {"align_corners": (True, False), "asymmetric": (False, False), "half_pixel": (False, True),
                 "pytorch_half_pixel": (False, True), "half_pixel_symmetric": (False, True)}


def onnx_nearest(in_size: int, out_size: int, scale: float, ctm: str, mode: str) -> np.ndarray:
    """Source indices onnxruntime's nearest Resize reads (upsamplebase.h), in float32 like it."""
    x = np.arange(out_size, dtype=np.float32)
    s = np.float32(scale)
    if ctm == "align_corners":
        xo = x * np.float32((in_size - 1) / (out_size - 1)) if out_size > 1 else np.zeros_like(x)
    elif ctm == "asymmetric":
        xo = x / s
    elif ctm in ("half_pixel", "half_pixel_symmetric"):
        xo = (x + np.float32(0.5)) / s - np.float32(0.5)
    elif ctm == "pytorch_half_pixel":
        xo = (x + np.float32(0.5)) / s - np.float32(0.5) if out_size > 1 else np.zeros_like(x)
    elif ctm == "tf_half_pixel_for_nn":
        xo = (x + np.float32(0.5)) / s
    else:
        raise ValueError(ctm)
    half_away = np.sign(xo) * np.floor(np.abs(xo) + np.float32(0.5))
    if mode == "round_prefer_floor":
        idx = np.where(xo == np.floor(xo) + np.float32(0.5), np.floor(xo), half_away)
    elif mode == "round_prefer_ceil":
        idx = half_away
    elif mode == "floor":
        idx = np.floor(xo)
    elif mode == "ceil":
        idx = np.ceil(xo)
    elif mode == "simple":   # Resize-10 / Upsample: truncate when upsampling, ceil when downsampling
        idx = np.ceil(xo) if scale < 1 else np.trunc(xo)
    else:
        raise ValueError(mode)
    return np.clip(idx, 0, in_size - 1).astype(np.int64)


def tflite_nearest(in_size: int, out_size: int, align_corners: bool, half_pixel: bool) -> np.ndarray:
    """TFLite's RESIZE_NEAREST_NEIGHBOR source indices (reference_ops.h GetNearestNeighbor)."""
    x = np.arange(out_size, dtype=np.float32)
    scale = np.float32((in_size - 1) / (out_size - 1) if align_corners and out_size > 1 else in_size / out_size)
    v = (x + np.float32(0.5 if half_pixel else 0.0)) * scale
    idx = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)) if align_corners else np.floor(v)
    idx = np.minimum(idx, in_size - 1)
    return np.maximum(idx, 0).astype(np.int64) if half_pixel else idx.astype(np.int64)


def resize_op(n: NodeCtx, x: Value, out_shape: Sequence[int], scales: Sequence[float], mode: str, ctm: str,
              nearest_mode: str):
    out_shape = tuple(int(d) for d in out_shape)
    if 0 in out_shape:
        raise n.unsupported(f"an empty output {out_shape}")
    changed = [a for a in range(x.rank) if out_shape[a] != x.shape[a] or scales[a] != 1.0]
    if not changed:
        return n.get_as_is(x)[0]
    if mode == "nearest":
        if ctm == "tf_crop_and_resize":
            raise n.unsupported("coordinate_transformation_mode tf_crop_and_resize (needs a runtime crop)")
        if ctm == "align_corners" and not _consistent(x, out_shape, scales, changed):
            raise n.unsupported(f"align_corners with scales {tuple(scales)} that differ from output/input sizes "
                                "(the spec's (out - 1) is ambiguous then)")
        idx = {a: onnx_nearest(x.shape[a], out_shape[a], scales[a], ctm, nearest_mode) for a in changed}
        if x.rank == 4 and set(changed) <= {2, 3}:
            for ac, hp in ((False, False), (False, True), (True, False)):
                if all(np.array_equal(idx[a], tflite_nearest(x.shape[a], out_shape[a], ac, hp)) for a in (2, 3)):
                    opts = options("ResizeNearestNeighborOptions", alignCorners=ac, halfPixelCenters=hp)
                    return n.op("RESIZE_NEAREST_NEIGHBOR", [n.nhwc(x), n.const_i32(out_shape[2:])],
                                n.out(0, channels_last(4), shape=out_shape), opts)
        return _gather_resize(n, x, out_shape, idx)
    if mode != "linear":
        raise n.unsupported(f"mode {mode!r} (nearest and linear are supported)")
    why = bilinear_refusal(x, out_shape, scales, ctm)
    if why:
        raise n.unsupported(why)
    ac, hp = _LINEAR_FLAGS[ctm]
    opts = options("ResizeBilinearOptions", alignCorners=ac, halfPixelCenters=hp)
    return n.op("RESIZE_BILINEAR", [n.nhwc(x), n.const_i32(out_shape[2:])],
                n.out(0, channels_last(4), shape=out_shape), opts)


def bilinear_refusal(x: Value, out_shape, scales, ctm: str) -> Optional[str]:
    """Why TFLite's RESIZE_BILINEAR cannot do this linear Resize (None: it can)."""
    changed = [a for a in range(x.rank) if out_shape[a] != x.shape[a] or scales[a] != 1.0]
    if x.rank != 4 or not set(changed) <= {2, 3}:
        return "linear resizing of other axes than H and W of an NCHW tensor (TFLite is bilinear on H, W)"
    if ctm not in _LINEAR_FLAGS:
        return f"coordinate_transformation_mode {ctm!r} with linear mode"
    if ctm == "pytorch_half_pixel" and min(out_shape[2:]) == 1:
        return "pytorch_half_pixel to an output of size 1 (samples at -0.5, TFLite cannot)"
    if ctm == "half_pixel_symmetric" and not all(out_shape[a] == x.shape[a] * scales[a] for a in (2, 3)):
        return "half_pixel_symmetric with a scale that is not output/input"
    if not _consistent(x, out_shape, scales, (2, 3)):
        return f"scales {tuple(scales)} that differ from output/input sizes (TFLite samples at out/in)"
    return None


def _consistent(x: Value, out_shape, scales, axes) -> bool:
    return all(abs(scales[a] * x.shape[a] - out_shape[a]) <= 1e-6 * out_shape[a] for a in axes)


def _gather_resize(n: NodeCtx, x: Value, out_shape, idx: dict):
    t, perm = n.get_as_is(x)
    shape = list(x.shape)
    axes = sorted(idx)
    for k, a in enumerate(axes):
        shape[a] = out_shape[a]
        last = k == len(axes) - 1
        dst = n.out(0, perm, shape=out_shape, dtype=t.dtype) if last else n.tensor(shape_of(perm, shape), t.dtype)
        t = n.op("GATHER", [t, n.const(idx[a].astype(np.int32))], dst, options("GatherOptions", axis=perm.index(a)))
    return t


def output_shape(n: NodeCtx, x: Value, scales: Optional[Sequence[float]], sizes: Optional[Sequence[int]],
                 axes: Sequence[int] = (), policy: str = "stretch") -> tuple[tuple[int, ...], tuple[float, ...]]:
    """(output shape, per-axis scale as onnxruntime uses it) from the scales or sizes input."""
    axes = [a % x.rank for a in axes] or list(range(x.rank))
    full_scales, out = [1.0] * x.rank, list(x.shape)
    if sizes:
        if policy in ("not_larger", "not_smaller"):   # one scale for all axes, output = round(scale * in)
            ratios = [sizes[i] / x.shape[a] for i, a in enumerate(axes)]
            s = min(ratios) if policy == "not_larger" else max(ratios)
            for a in axes:
                full_scales[a], out[a] = s, int(math.floor(s * x.shape[a] + 0.5))
        elif policy != "stretch":
            raise n.unsupported(f"keep_aspect_ratio_policy {policy!r}")
        else:
            for i, a in enumerate(axes):
                out[a], full_scales[a] = int(sizes[i]), float(np.float32(sizes[i]) / np.float32(x.shape[a]))
    elif scales:
        for i, a in enumerate(axes):
            full_scales[a] = float(scales[i])
            out[a] = int(math.floor(x.shape[a] * scales[i] + 1e-9))
    else:
        raise n.unsupported("neither scales nor sizes is given")
    known = n.shape(0)
    if known is not None and tuple(known) != tuple(out):
        out = list(known)
    return tuple(out), tuple(full_scales)
