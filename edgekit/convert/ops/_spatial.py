"""Padding and window arithmetic shared by Conv, ConvTranspose and the pools.

TFLite kernels know two paddings: VALID (none) and SAME, where the total padding is
``max((ceil(in/stride) - 1) * stride + (k - 1) * dilation + 1 - in, 0)`` with the smaller half at the
start (tensorflow/lite/kernels/padding.h, ComputePaddingHeightWidth). Any other ONNX padding becomes
an explicit PAD op in front of a VALID kernel.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np


@dataclass(frozen=True)
class Window:
    kernel: tuple[int, ...]
    strides: tuple[int, ...]
    dilations: tuple[int, ...]
    pads: tuple[int, ...]   # ONNX order: begins..., ends...


def window(spatial_in: Sequence[int], kernel: Sequence[int], strides: Optional[Sequence[int]],
           dilations: Optional[Sequence[int]], pads: Optional[Sequence[int]], auto_pad: str,
           ceil_mode: int = 0) -> Window:
    """Resolve ONNX auto_pad/pads/ceil_mode into explicit begin/end pads (ONNX Conv/Pool spec)."""
    r = len(kernel)
    strides = tuple(strides or (1,) * r)
    dilations = tuple(dilations or (1,) * r)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        begins, ends = [], []
        for i, s, k, d in zip(spatial_in, strides, kernel, dilations):
            total = max((math.ceil(i / s) - 1) * s + (k - 1) * d + 1 - i, 0)
            small, big = total // 2, total - total // 2
            begins.append(small if auto_pad == "SAME_UPPER" else big)
            ends.append(big if auto_pad == "SAME_UPPER" else small)
        pads = (*begins, *ends)
    elif auto_pad == "VALID":
        pads = (0,) * (2 * r)
    else:
        pads = tuple(pads or (0,) * (2 * r))
    if ceil_mode:  # extra end padding so the last partial window is included (ONNX pooling ceil_mode)
        ends = list(pads[r:])
        for a, (i, s, k, d) in enumerate(zip(spatial_in, strides, kernel, dilations)):
            span = i + pads[a] + pads[r + a] - ((k - 1) * d + 1)
            out_ceil = math.ceil(span / s) + 1
            if (out_ceil - 1) * s >= i + pads[a]:  # the last window must start inside input + begin pad
                out_ceil -= 1
            ends[a] += max((out_ceil - 1) * s - span, 0)
        pads = (*pads[:r], *ends)
    # End padding that no window reaches (the floor in ONNX's output-size formula drops it) is
    # trimmed, so more cases match SAME/VALID and explicit PADs are smaller.
    ends = [max(0, pads[r + a] - (i + pads[a] + pads[r + a] - ((k - 1) * d + 1)) % s)
            for a, (i, s, k, d) in enumerate(zip(spatial_in, strides, kernel, dilations))]
    return Window(tuple(kernel), strides, dilations, tuple(int(p) for p in (*pads[:r], *ends)))


def tflite_padding(w: Window, spatial_in: Sequence[int]) -> Optional[str]:
    """'VALID' or 'SAME' when the TFLite kernel's own padding equals ``w.pads``; None if it does not."""
    r = len(w.kernel)
    if not any(w.pads):
        return "VALID"
    for a, (i, s, k, d) in enumerate(zip(spatial_in, w.strides, w.kernel, w.dilations)):
        total = max((math.ceil(i / s) - 1) * s + (k - 1) * d + 1 - i, 0)
        if (w.pads[a], w.pads[r + a]) != (total // 2, total - total // 2):
            return None
        # SAME also fixes the output size to ceil(in/stride): it must match ONNX's floor formula
        onnx_out = (i + total - ((k - 1) * d + 1)) // s + 1
        if onnx_out != math.ceil(i / s):
            return None
    return "SAME"


def padding_enum(name: str) -> int:
    from ai_edge_litert import schema_py_generated as fb

    return getattr(fb.Padding, name)


def pad_nhwc(n, x, pads: Sequence[int], value: float = 0.0):
    """An explicit PAD (or PADV2 with ``value``, e.g. -inf for max pooling) of an NHWC tensor."""
    r = len(pads) // 2
    paddings = np.array([[0, 0], *[[pads[a], pads[r + a]] for a in range(r)], [0, 0]], dtype=np.int32)
    shape = [x.shape[0], *[x.shape[1 + a] + pads[a] + pads[r + a] for a in range(r)], x.shape[-1]]
    out = n.tensor(shape, x.dtype, name=f"{n.name}/pad")
    if value == 0.0:
        return n.op("PAD", [x, n.const(paddings)], out)
    return n.op("PADV2", [x, n.const(paddings), n.const(np.array([value], dtype=x.dtype))], out)


def out_size(w: Window, spatial_in: Sequence[int], padded: bool = False) -> tuple[int, ...]:
    """Output spatial size of a strided window; ``padded``: the input already includes ``w.pads``."""
    r = len(w.kernel)
    out = []
    for a, (i, s, k, d) in enumerate(zip(spatial_in, w.strides, w.kernel, w.dilations)):
        total = i if padded else i + w.pads[a] + w.pads[r + a]
        out.append((total - ((k - 1) * d + 1)) // s + 1)
    return tuple(out)

