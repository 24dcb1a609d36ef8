"""Conv -> CONV_2D / DEPTHWISE_CONV_2D (NHWC), 1-D convs as 2-D with H=1.

Weights are OIHW in ONNX; CONV_2D wants OHWI, DEPTHWISE_CONV_2D wants 1HW(C*multiplier). Grouped
convs use CONV_2D with filter in-channels C/group, which TFLite's kernel and XNNPACK run as grouped
conv (tensorflow/lite/kernels/conv.cc: groups = input_channel / filter_input_channel).
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..ir import channels_last
from ..registry import lowering
from ._base import FLOAT, check_dtypes, options
from ._spatial import out_size, pad_nhwc, padding_enum, tflite_padding, window


@lowering("Conv", since=1)
def conv(n: NodeCtx, x: Value, w: Value, b: Optional[Value] = None, *, auto_pad: str = "NOTSET",
         dilations: tuple = (), group: int = 1, kernel_shape: tuple = (), pads: tuple = (), strides: tuple = ()):
    check_dtypes(n, [x, w, b], FLOAT)
    if not w.is_const or (b is not None and not b.is_const):
        raise n.unsupported("weights and bias must be constants")
    if x.rank not in (3, 4):
        raise n.unsupported(f"{x.rank - 2}-D convolution (1-D and 2-D are supported)")
    weight = w.const
    bias = b.const if b is not None else np.zeros(weight.shape[0], weight.dtype)
    if x.rank == 3:  # NCW -> N,1,W,C: a 2-D conv with H = 1
        weight, spatial = weight[:, :, None, :], (1, x.shape[2])
        win = window(spatial, weight.shape[2:], (1, *(strides or (1,))), (1, *(dilations or (1,))),
                     _pads_1d(pads), auto_pad)
        xt = n.reshape(n.nhwc(x), (x.shape[0], 1, x.shape[2], x.shape[1]))
    else:
        spatial = x.shape[2:]
        win = window(spatial, weight.shape[2:], strides, dilations, pads, auto_pad)
        xt = n.nhwc(x)
    y = conv2d_nhwc(n, xt, weight, bias, win, spatial, group)
    if x.rank == 3:
        out_shape = n.shape(0)
        return n.reshape(y, (out_shape[0], out_shape[2], out_shape[1]), out=n.out(0, channels_last(3)))
    return y


def _pads_1d(pads: tuple) -> tuple:
    return (0, pads[0], 0, pads[1]) if pads else ()


def conv2d_nhwc(n: NodeCtx, xt, weight: np.ndarray, bias: np.ndarray, win, spatial, group: int, out=None):
    """CONV_2D or DEPTHWISE_CONV_2D of an NHWC tensor; explicit PAD when SAME/VALID do not match."""
    padding = tflite_padding(win, spatial)
    if padding is None:
        xt, spatial, padding = pad_nhwc(n, xt, win.pads), None, "VALID"
    (sh, sw), (dh, dw) = win.strides, win.dilations
    c_in, c_out = xt.shape[-1], weight.shape[0]
    bias_t = n.const(bias.astype(np.float32), name=f"{n.name}/bias")
    if out is None:
        hw = out_size(win, spatial if spatial is not None else xt.shape[1:3], padded=spatial is None)
        out = n.tensor((xt.shape[0], *hw, c_out), name=f"{n.name}/out") if n.node.outputs and \
            len(n.shape(0) or (0,) * 4) != 4 else n.out(0, channels_last(4), shape=(xt.shape[0], c_out, *hw))
    if group == c_in and weight.shape[1] == 1 and group > 1:
        filt = n.const(np.transpose(weight, (1, 2, 3, 0)).astype(np.float32), name=f"{n.name}/weights")
        opts = options("DepthwiseConv2DOptions", padding=padding_enum(padding), strideH=sh, strideW=sw,
                       depthMultiplier=c_out // c_in, dilationHFactor=dh, dilationWFactor=dw)
        return n.op("DEPTHWISE_CONV_2D", [xt, filt, bias_t], out, opts, version=2 if (dh, dw) != (1, 1) else 1)
    filt = n.const(np.transpose(weight, (0, 2, 3, 1)).astype(np.float32), name=f"{n.name}/weights")
    opts = options("Conv2DOptions", padding=padding_enum(padding), strideH=sh, strideW=sw,
                   dilationHFactor=dh, dilationWFactor=dw)
    return n.op("CONV_2D", [xt, filt, bias_t], out, opts)
