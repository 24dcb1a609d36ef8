"""ConvTranspose -> TRANSPOSE_CONV (+ SLICE when the leading crop is not TFLite's SAME padding).

TRANSPOSE_CONV scatters input pixel i to output rows ``i*stride - pad_before + k`` and drops rows
outside ``output_shape`` (tensorflow/lite/kernels/transpose_conv.cc). So cropping the END of the full
result is free (a smaller output_shape); cropping the BEGIN needs TFLite's SAME pad_before, which is
``((ceil(O/s) - 1) * s + k - O) // 2`` — otherwise VALID into O + pad_begin rows and one SLICE.
TRANSPOSE_CONV has no dilation or groups: a dilated kernel is the kernel with zeros between taps,
a grouped one the block-diagonal dense kernel (both exact; rare in practice). 1-D runs as 2-D, H=1.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np

from ..context import NodeCtx, Value
from ..ir import channels_last
from ..registry import lowering
from ._base import FLOAT, check_dtypes, options
from ._spatial import padding_enum


@lowering("ConvTranspose", since=1)
def conv_transpose(n: NodeCtx, x: Value, w: Value, b: Optional[Value] = None, *, auto_pad: str = "NOTSET",
                   dilations: tuple = (), group: int = 1, kernel_shape: tuple = (), output_padding: tuple = (),
                   output_shape: tuple = (), pads: tuple = (), strides: tuple = ()):
    check_dtypes(n, [x, w, b], FLOAT)
    if not w.is_const or (b is not None and not b.is_const):
        raise n.unsupported("weights and bias must be constants")
    if x.rank not in (3, 4):
        raise n.unsupported(f"{x.rank - 2}-D transposed convolution (1-D and 2-D are supported)")
    weight = _dense_kernel(w.const, group, dilations)
    xt = n.nhwc(x)
    if x.rank == 3:  # N,W,C -> N,1,W,C with a 1-row kernel
        weight = weight[:, :, None, :]
        xt = n.reshape(xt, (x.shape[0], 1, x.shape[2], x.shape[1]))
        strides, output_padding = (1, *(strides or (1,))), (0, *(output_padding or (0,)))
        pads = (0, pads[0], 0, pads[1]) if pads else ()
        output_shape = (1, output_shape[-1]) if output_shape else ()
    spatial = xt.shape[1:3]
    k = weight.shape[2:]
    s = tuple(strides or (1, 1))
    op = tuple(output_padding or (0, 0))
    full = [s[a] * (spatial[a] - 1) + k[a] + op[a] for a in range(2)]
    begin, end = _pads(spatial, full, s, pads, auto_pad, output_shape)
    out_hw = [full[a] - begin[a] - end[a] for a in range(2)]
    c_out = weight.shape[1]
    # TFLite re-derives the input size from output_shape (transpose_conv.cc: computed_input_height
    # must equal the real one), which limits the output sizes each padding mode can express.
    same = all(begin[a] == max((math.ceil(out_hw[a] / s[a]) - 1) * s[a] + k[a] - out_hw[a], 0) // 2
               and math.ceil(out_hw[a] / s[a]) == spatial[a] for a in range(2))
    conv_hw = out_hw if same else [out_hw[a] + begin[a] for a in range(2)]
    if not same and not all(0 <= op[a] - end[a] < s[a] for a in range(2)):
        conv_hw = full   # crop the end with the SLICE too
    filt = n.const(np.transpose(weight, (1, 2, 3, 0)).astype(np.float32), name=f"{n.name}/weights")
    bias = n.const((b.const if b is not None else np.zeros(c_out)).astype(np.float32), name=f"{n.name}/bias")
    opts = options("TransposeConvOptions", padding=padding_enum("SAME" if same else "VALID"), strideH=s[0], strideW=s[1])
    final = n.out(0, channels_last(x.rank), shape=(x.shape[0], c_out, *out_hw[4 - x.rank:]))
    conv_shape = (x.shape[0], *conv_hw, c_out)
    crop = not same and (any(begin) or conv_hw != out_hw)
    last = final if (x.rank == 4 and not crop) else n.tensor(conv_shape)
    # version 3: the optional bias input (tensorflow/lite/tools/versioning/op_version.cc)
    y = n.op("TRANSPOSE_CONV", [n.const_i32(conv_shape), filt, xt, bias], last, opts, version=3)
    if crop:
        size = (x.shape[0], *out_hw, c_out)
        last = final if x.rank == 4 else n.tensor(size)
        y = n.op("SLICE", [y, n.const_i32([0, begin[0], begin[1], 0]), n.const_i32(size)], last,
                 options("SliceOptions"))
    return y if x.rank == 4 else n.reshape(y, final.shape, out=final)


def _dense_kernel(weight: np.ndarray, group: int, dilations) -> np.ndarray:
    """(C_in, C_out/group, k...) ONNX kernel -> dense, undilated (C_in, C_out, k_eff...)."""
    if group > 1:
        cin_g, cout_g = weight.shape[0] // group, weight.shape[1]
        dense = np.zeros((weight.shape[0], cout_g * group, *weight.shape[2:]), weight.dtype)
        for g in range(group):
            dense[g * cin_g:(g + 1) * cin_g, g * cout_g:(g + 1) * cout_g] = weight[g * cin_g:(g + 1) * cin_g]
        weight = dense
    if dilations and any(d != 1 for d in dilations):
        ks = weight.shape[2:]
        dilated = np.zeros((*weight.shape[:2], *[(kk - 1) * d + 1 for kk, d in zip(ks, dilations)]), weight.dtype)
        dilated[(slice(None), slice(None), *[slice(None, None, d) for d in dilations])] = weight
        weight = dilated
    return weight


def _pads(spatial, full, s, pads, auto_pad, output_shape):
    """(begin, end) crop of the full transposed-conv result per spatial axis (ONNX ConvTranspose spec)."""
    if auto_pad in ("NOTSET", "VALID") and not output_shape:
        pads = pads if (pads and auto_pad == "NOTSET") else (0, 0, 0, 0)
        return list(pads[:2]), list(pads[2:])
    out = list(output_shape[-2:]) if output_shape else [spatial[a] * s[a] for a in range(2)]
    total = [full[a] - out[a] for a in range(2)]
    begin = [t // 2 if auto_pad == "SAME_UPPER" else t - t // 2 for t in total]  # spec: NOTSET like SAME_LOWER
    return begin, [t - b for t, b in zip(total, begin)]
