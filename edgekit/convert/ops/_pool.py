"""Pooling shared by MaxPool and AveragePool: 1-D, 2-D and 3-D on TFLite's 2-D kernels (NHWC,
SAME/VALID or explicit padding)."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..ir import channels_last
from ._base import FLOAT, check_dtypes, options
from ._spatial import Window, out_size, pad_nhwc, padding_enum, tflite_padding, window


def pool2d(n: NodeCtx, opcode: str, x: Value, kernel_shape, strides, pads, auto_pad, ceil_mode, dilations,
           count_include_pad: int = 0):
    """1-D, 2-D and 3-D pooling on TFLite's 2-D kernels (channels-last)."""
    check_dtypes(n, [x], FLOAT)
    if x.rank not in (3, 4, 5):
        raise n.unsupported(f"rank {x.rank} input (1-D, 2-D and 3-D pooling only)")
    if dilations and any(d != 1 for d in dilations):
        raise n.unsupported("dilated pooling")
    r = x.rank - 2
    spatial = tuple(x.shape[2:])
    win = window(spatial, kernel_shape, strides, None, pads, auto_pad, ceil_mode)
    # what count_include_pad counts: explicit (or auto) pads, never the ceil_mode overhang
    explicit = tuple(pads or (0,) * (2 * r)) if auto_pad in ("NOTSET", "") else win.pads
    out_spatial = out_size(win, spatial)
    final = n.out(0, channels_last(x.rank), shape=(*x.shape[:2], *out_spatial))
    nonneg = opcode == "MAX_POOL_2D" and non_negative(n, x)
    xt = n.nhwc(x)
    if r == 1:  # NWC -> N,1,W,C: a 1-row window
        xt = n.reshape(xt, (x.shape[0], 1, x.shape[2], x.shape[1]))
        win, explicit, spatial = _sub(win, (None, 0)), _sub_pads(explicit, (None, 0)), (1, spatial[0])
    elif r == 3:
        # Pooling is separable: max over a box = max over D of the max over (H, W); the average
        # divides by the product of per-axis counts, which is what the per-axis averages multiply
        # to. So (H, W) on (N*D, H, W, C), then D on (N, D, OH*OW, C) with a (kd, 1) window.
        d, h, w = spatial
        oh, ow = out_spatial[1:]
        hw_t = _pool_nhwc(n, opcode, n.reshape(xt, (x.shape[0] * d, h, w, x.shape[1])), (h, w), _sub(win, (1, 2)),
                          _sub_pads(explicit, (1, 2)), count_include_pad, nonneg)
        xt = n.reshape(hw_t, (x.shape[0], d, oh * ow, x.shape[1]))
        win, explicit, spatial = _sub(win, (0, None)), _sub_pads(explicit, (0, None)), (d, oh * ow)
    y = _pool_nhwc(n, opcode, xt, spatial, win, explicit, count_include_pad, nonneg,
                   final if r == 2 else None)
    return y if r == 2 else n.reshape(y, final.shape, out=final)


def _sub(win: Window, axes) -> Window:
    """The 2-D window over ``axes`` of ``win`` (None: a size-1 axis with no padding)."""

    def pick(seq, a, unit):
        return unit if a is None else seq[a]

    return Window(tuple(pick(win.kernel, a, 1) for a in axes), tuple(pick(win.strides, a, 1) for a in axes),
                  (1, 1), _sub_pads(win.pads, axes))


def _sub_pads(pads, axes):
    r = len(pads) // 2
    return tuple(0 if a is None else pads[a] for a in axes) + tuple(0 if a is None else pads[r + a] for a in axes)


def _pool_nhwc(n: NodeCtx, opcode: str, xt, spatial, win: Window, explicit, count_include_pad, nonneg, out=None):
    """One TFLite 2-D pool of the NHWC tensor ``xt`` with the resolved window ``win``."""
    hw = out_size(win, spatial)
    padding = tflite_padding(win, spatial)
    is_avg = opcode == "AVERAGE_POOL_2D"
    if is_avg and count_include_pad and any(win.pads):
        padding = None  # TFLite SAME averages over valid cells only
    correction = None
    if padding is None:
        # max pool: pad with -inf so padding never wins (zeros do too when the input is >= 0, and
        # PAD is delegated to XNNPACK where PADV2 is not); avg pool: pad with 0 and rescale below
        xt = pad_nhwc(n, xt, win.pads, value=0.0 if is_avg or nonneg else -np.inf)
        padding = "VALID"
        if is_avg:
            correction = _avg_correction(spatial, win, hw, count_include_pad, explicit)
    opts = options("Pool2DOptions", padding=padding_enum(padding), strideH=win.strides[0], strideW=win.strides[1],
                   filterHeight=win.kernel[0], filterWidth=win.kernel[1])
    shape = (xt.shape[0], *hw, xt.shape[-1])
    if correction is None:
        return n.op(opcode, [xt], out or n.tensor(shape), opts)
    pooled = n.op(opcode, [xt], n.tensor(shape), opts)
    return n.op("MUL", [pooled, n.const(correction, name=f"{n.name}/count")], out or n.tensor(shape),
                options("MulOptions"))


def _avg_correction(spatial, win, hw, count_include_pad, explicit):
    """k_area / (cells ONNX counts) per output position, shaped (1, OH, OW, 1).

    A VALID pool over the zero-padded input divides by the full window; ONNX divides by the cells
    inside the input (count_include_pad=0) or inside input + explicit pads (=1; the extra ceil_mode
    overhang is never counted, as in onnxruntime's pool kernel).
    """
    r = len(spatial)
    counts = []
    for a in range(r):
        lo = -explicit[a] if count_include_pad else 0
        hi = spatial[a] + explicit[r + a] if count_include_pad else spatial[a]
        starts = np.arange(hw[a]) * win.strides[a] - win.pads[a]
        ends = starts + win.kernel[a]
        counts.append(np.minimum(ends, hi) - np.maximum(starts, lo))
    count = np.outer(counts[0], counts[1])
    corr = (win.kernel[0] * win.kernel[1]) / count
    if np.allclose(corr, 1.0):
        return None
    return corr.reshape(1, *hw, 1).astype(np.float32)


_NON_NEGATIVE = {"Relu", "Sigmoid", "HardSigmoid", "Softmax", "Exp", "Abs", "Sqrt", "GlobalMaxPool"}


def non_negative(n: NodeCtx, x: Value) -> bool:
    """True when ``x`` is known >= 0 from its producer (Relu, Clip(min >= 0), pools of those, ...)."""
    for _ in range(8):  # follow a few pooling ops back
        node = n.producer(x)
        if node is None:
            return False
        if node.op_type in _NON_NEGATIVE:
            return True
        if node.op_type == "Clip":
            lo = node.attrs.get("min") if n.opset < 11 else (
                n.graph.consts.get(node.inputs[1]) if len(node.inputs) > 1 and node.inputs[1] else None)
            return lo is not None and float(np.asarray(lo)) >= 0.0
        if node.op_type != "MaxPool":
            return False
        x = Value(node.inputs[0], (), np.dtype(np.float32), None, ())
    return False
