"""2-D pooling shared by MaxPool and AveragePool (NHWC, SAME/VALID or explicit padding)."""
from __future__ import annotations

import numpy as np

from ..context import NodeCtx, Value
from ..ir import channels_last
from ._base import FLOAT, check_dtypes, options
from ._spatial import out_size, pad_nhwc, padding_enum, tflite_padding, window


def pool2d(n: NodeCtx, opcode: str, x: Value, kernel_shape, strides, pads, auto_pad, ceil_mode, dilations,
           count_include_pad: int = 0):
    check_dtypes(n, [x], FLOAT)
    if x.rank not in (3, 4):
        raise n.unsupported(f"rank {x.rank} input (1-D and 2-D pooling only)")
    if dilations and any(d != 1 for d in dilations):
        raise n.unsupported("dilated pooling")
    xt = n.nhwc(x)
    if x.rank == 3:  # NWC -> N,1,W,C: 1-D pooling as 2-D with a 1-row window
        xt = n.reshape(xt, (x.shape[0], 1, x.shape[2], x.shape[1]))
        kernel_shape, strides = (1, *kernel_shape), (1, *(strides or (1,)))
        pads = (0, pads[0], 0, pads[1]) if pads else ()
    spatial = tuple(xt.shape[1:3])
    win = window(spatial, kernel_shape, strides, None, pads, auto_pad, ceil_mode)
    hw = out_size(win, spatial)
    padding = tflite_padding(win, spatial)
    is_avg = opcode == "AVERAGE_POOL_2D"
    if is_avg and count_include_pad and any(win.pads):
        padding = None  # TFLite SAME averages over valid cells only
    correction = None
    if padding is None:
        # max pool: pad with -inf so padding never wins (zeros do too when the input is >= 0, and
        # PAD is delegated to XNNPACK where PADV2 is not); avg pool: pad with 0 and rescale below
        xt = pad_nhwc(n, xt, win.pads, value=0.0 if is_avg or non_negative(n, x) else -np.inf)
        padding = "VALID"
        if is_avg:
            correction = _avg_correction(spatial, win, hw, count_include_pad, pads, auto_pad)
    opts = options("Pool2DOptions", padding=padding_enum(padding), strideH=win.strides[0], strideW=win.strides[1],
                   filterHeight=win.kernel[0], filterWidth=win.kernel[1])
    out_shape = (*x.shape[:2], *hw[4 - x.rank:])
    final = n.out(0, channels_last(x.rank), shape=out_shape)
    last = final if x.rank == 4 else n.tensor((x.shape[0], *hw, x.shape[1]))
    if correction is None:
        y = n.op(opcode, [xt], last, opts)
    else:
        pooled = n.op(opcode, [xt], n.tensor((x.shape[0], *hw, x.shape[1])), opts)
        y = n.op("MUL", [pooled, n.const(correction, name=f"{n.name}/count")], last, options("MulOptions"))
    return y if x.rank == 4 else n.reshape(y, final.shape, out=final)


def _avg_correction(spatial, win, hw, count_include_pad, pads, auto_pad):
    """k_area / (cells ONNX counts) per output position, shaped (1, OH, OW, 1).

    A VALID pool over the zero-padded input divides by the full window; ONNX divides by the cells
    inside the input (count_include_pad=0) or inside input + explicit pads (=1; the extra ceil_mode
    overhang is never counted, as in onnxruntime's pool kernel).
    """
    r = len(spatial)
    explicit = tuple(pads or (0,) * (2 * r)) if auto_pad in ("NOTSET", "") else win.pads
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
