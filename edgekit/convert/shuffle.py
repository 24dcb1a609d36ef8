"""Channel shuffles (ShuffleNet) without the interleaving TRANSPOSE where the weights can take it.

A channel shuffle lowers to RESHAPE (.., C) -> (.., g, C/g), TRANSPOSE of the last two axes, RESHAPE
back: a fixed permutation of the channel axis. In NHWC that TRANSPOSE interleaves innermost runs
(inner size g = 2 for ShuffleNetV2), which XNNPACK's transpose kernels do at ~1.3 ns per element, 2-3x
the cost of a plain copy: the 16 shuffles were ~14% of ShuffleNetV2's CPU time (docs/converter.md).

A 1x1 (or any groups=1) CONV_2D sums over its input channels, so it can read them in ANY order if
its filter's input-channel axis is permuted the same way; channel-wise ops (PAD, DEPTHWISE_CONV_2D
with multiplier 1, activations, pools) just carry the permutation to their output. So:
* a shuffle whose readers all take a permuted input (ShuffleNet's last block of a stage, read by
  the next stage's convs) disappears: they read the shuffle's input with permuted weights;
* a shuffle read only by channel SLICEs or SPLITs (ShuffleNet's `chunk(2)`) becomes, per part, a SLICE of the
  RESHAPE (.., g, C/g) view (the same channels, not interleaved); the half that feeds convs stays
  that way (permuted weights), the half that must keep the ONNX order (the pass-through branch
  into the next CONCATENATION) gets a TRANSPOSE of only its own channels: half the interleaving.
The numbers are unchanged except for the summation order inside the convs.
"""
from __future__ import annotations

from typing import Optional

import numpy as np

from .ir import TModel, TOp, TTensor

# Ops that apply the same function to every channel (their output carries the input's channel order).
_CHANNELWISE = {"PAD", "PADV2", "DEPTHWISE_CONV_2D", "RELU", "RELU6", "RELU_N1_TO_1", "LOGISTIC", "TANH",
                "HARD_SWISH", "MAX_POOL_2D", "AVERAGE_POOL_2D"}


class _Graph:
    def __init__(self, model: TModel):
        self.consumers = model.consumers()
        self.producers = model.producers()
        self.outputs = {t.uid for t in model.outputs}

    def readers(self, t: TTensor) -> list[TOp]:
        return self.consumers.get(t.uid, [])


def _const(t: Optional[TTensor]) -> bool:
    return t is not None and t.is_const


def _takes_any_order(g: _Graph, t: TTensor) -> bool:
    """Can every reader of ``t`` (NHWC-like, channels last) take its channels in any order?"""
    if t.uid in g.outputs or not g.readers(t):
        return False
    c = t.shape[-1]
    for op in g.readers(t):
        if op.inputs[0] is not t or any(x is t for x in op.inputs[1:]):
            return False
        if op.opcode == "CONV_2D":
            # groups=1 only: a grouped conv mixes channels within fixed groups
            if not (_const(op.inputs[1]) and op.inputs[1].shape[-1] == c):
                return False
            continue
        if op.opcode not in _CHANNELWISE or any(x is not None and not x.is_const for x in op.inputs[1:]):
            return False
        if op.opcode in ("PAD", "PADV2") and np.any(op.inputs[1].data[-1] != 0):
            return False   # padding the channel axis would need the pad placed per permuted channel
        if op.opcode == "DEPTHWISE_CONV_2D" and op.inputs[1].shape[-1] != c:
            return False   # depth multiplier > 1: output channel k*m+j reads input k
        if not _takes_any_order(g, op.outputs[0]):
            return False
    return True


def _permuted(t: TTensor, sigma: np.ndarray, axis: int = -1) -> TTensor:
    data = np.take(t.data, sigma, axis=axis)
    return TTensor(f"{t.name}/chperm", t.shape, t.dtype, data)


def _reroute(g: _Graph, old: TTensor, new: TTensor, sigma: np.ndarray) -> None:
    """Readers of ``old`` read ``new`` = old[..., sigma] instead (checked by ``_takes_any_order``)."""
    for op in g.readers(old):
        op.inputs[0] = new
        if op.opcode == "CONV_2D":
            op.inputs[1] = _permuted(op.inputs[1], sigma)          # filter (O, kh, kw, I)
            continue
        if op.opcode == "DEPTHWISE_CONV_2D":
            op.inputs[1] = _permuted(op.inputs[1], sigma)          # filter (1, kh, kw, C)
            if len(op.inputs) > 2 and _const(op.inputs[2]):
                op.inputs[2] = _permuted(op.inputs[2], sigma)
        out = op.outputs[0]
        moved = TTensor(f"{out.name}/chperm", out.shape, out.dtype)
        op.outputs[0] = moved
        _reroute(g, out, moved, sigma)


def _shuffle(g: _Graph, tr: TOp):
    """(x, pi, y) when ``tr`` is the TRANSPOSE of RESHAPE(x) -> TRANSPOSE -> RESHAPE = y and that chain
    only permutes x's last axis: y[..., k] = x[..., pi[k]]. Checked on the element indices, so every
    spelling of a shuffle qualifies (e.g. the (1, g, C/g, 1, 1) one at 1x1 spatial size)."""
    if tr.opcode != "TRANSPOSE" or not _const(tr.inputs[1]):
        return None
    r1 = g.producers.get(tr.inputs[0].uid)
    readers = g.readers(tr.outputs[0])
    if r1 is None or r1.opcode != "RESHAPE" or len(readers) != 1 or readers[0].opcode != "RESHAPE":
        return None
    x, y = r1.inputs[0], readers[0].outputs[0]
    if x.rank < 2 or y.shape != x.shape or tr.outputs[0].uid in g.outputs or x.uid in g.outputs:
        return None
    c = x.shape[-1]
    idx = np.arange(int(np.prod(x.shape))).reshape(tr.inputs[0].shape).transpose(tr.inputs[1].data).reshape(-1, c)
    pi = idx[0]
    same_in_every_row = np.array_equal(idx, pi + c * np.arange(len(idx))[:, None])
    if not same_in_every_row or np.array_equal(pi, np.arange(c)) or not np.array_equal(np.sort(pi), np.arange(c)):
        return None
    return x, pi, y


def _groups(pi: np.ndarray) -> int:
    """g when pi is the shuffle of g groups (y[i*g + j] = x[j*C/g + i]), else 0."""
    c = len(pi)
    if c < 2 or pi[1] <= 0 or c % pi[1]:
        return 0
    g = c // int(pi[1])
    return g if np.array_equal(pi, np.arange(c).reshape(g, c // g).T.reshape(-1)) else 0


def _channel_parts(op: TOp, y: TTensor, groups: int):
    """[(output, start, size)] when ``op`` (SLICE, SPLIT, SPLIT_V) cuts y's last axis alone, in whole
    rows of the groups x C/g grid; else None."""
    c, last = y.shape[-1], y.rank - 1
    if op.opcode == "SLICE" and op.inputs[0] is y and _const(op.inputs[1]) and _const(op.inputs[2]):
        begin, size = [int(v) for v in op.inputs[1].data], [int(v) for v in op.inputs[2].data]
        size = [d - b if s == -1 else s for s, b, d in zip(size, begin, y.shape)]
        if any(b != 0 for b in begin[:-1]) or list(size[:-1]) != list(y.shape[:-1]):
            return None
        parts = [(op.outputs[0], begin[-1], size[-1])]
    elif op.opcode in ("SPLIT", "SPLIT_V"):
        data, axis = (op.inputs[1], op.inputs[0]) if op.opcode == "SPLIT" else (op.inputs[0], op.inputs[2])
        if data is not y or any(t is y for t in op.inputs if t is not data) or not _const(axis) \
                or int(axis.data.reshape(-1)[0]) % y.rank != last:
            return None
        starts = np.cumsum([0] + [t.shape[-1] for t in op.outputs])
        parts = [(t, int(b), t.shape[-1]) for t, b in zip(op.outputs, starts)]
    else:
        return None
    if any(start % groups or n % groups or start + n > c for _, start, n in parts):
        return None
    return parts


def absorb_channel_shuffles(model: TModel) -> int:
    """Rewrite every channel shuffle whose readers allow it (module docstring); returns how many."""
    from .optimize import dead_code

    done = 0
    for tr in list(model.ops):
        if tr.opcode != "TRANSPOSE":
            continue
        g = _Graph(model)
        found = _shuffle(g, tr)
        if found is None:
            continue
        x, pi, y = found
        lead, groups = x.shape[:-1], _groups(pi)
        if _takes_any_order(g, y):
            _reroute(g, y, x, np.argsort(pi))
            dead_code(model)   # the shuffle's ops, so later checks see only live readers
            done += 1
            continue
        cuts = [(op, _channel_parts(op, y, groups)) for op in g.readers(y)] if groups else []
        if not groups or y.uid in g.outputs or not cuts or any(p is None for _, p in cuts):
            continue
        new_ops = _split_slices(g, x, groups, lead, [p for _, ps in cuts for p in ps])
        at = model.ops.index(tr)
        gone = {id(op) for op, _ in cuts}
        model.ops = [op for op in model.ops[:at] if id(op) not in gone] + new_ops + \
                    [op for op in model.ops[at:] if id(op) not in gone]
        dead_code(model)
        done += 1
    return done


def _split_slices(g: _Graph, x: TTensor, groups: int, lead: tuple, parts) -> list[TOp]:
    """Each channel part (SLICE, SPLIT output) of the shuffle -> a SLICE of the (.., g, C/g) view of x: the same channels
    grouped by source group; readers that take any order read that, the rest get the ONNX order back
    through a TRANSPOSE of just these channels."""
    rank, per = len(lead) + 1, x.shape[-1] // groups
    ops: list[TOp] = []
    grid = TTensor(f"{x.name}/groups", (*lead, groups, per), x.dtype)
    ops.append(_reshape(x, grid))
    for u, start, n in parts:
        rows = n // groups
        cut = TTensor(f"{u.name}/grouped", (*lead, groups, rows), x.dtype)
        begin = np.array([0] * (rank - 1) + [0, start // groups], np.int32)
        ops.append(TOp("SLICE", [grid, _i32(f"{cut.name}/begin", begin), _i32(f"{cut.name}/size", cut.shape)],
                       [cut]))
        if _takes_any_order(g, u):
            flat = TTensor(f"{u.name}/grouped_flat", u.shape, u.dtype)
            ops.append(_reshape(cut, flat))
            sigma = np.arange(n).reshape(rows, groups).T.reshape(-1)   # flat[..., m] = u[..., sigma[m]]
            _reroute(g, u, flat, sigma)
        else:
            inter = TTensor(f"{u.name}/interleaved", (*lead, rows, groups), x.dtype)
            ops.append(TOp("TRANSPOSE", [cut, _i32(f"{inter.name}/perm", (*range(rank - 1), rank, rank - 1))],
                           [inter]))
            ops.append(_reshape(inter, u))
    return ops


def _i32(name: str, values) -> TTensor:
    data = np.asarray(values, np.int32)
    return TTensor(name, data.shape, np.int32, data)


def _reshape(x: TTensor, out: TTensor) -> TOp:
    from ai_edge_litert import schema_py_generated as fb

    opts = fb.ReshapeOptionsT()
    opts.newShape = [int(d) for d in out.shape]
    return TOp("RESHAPE", [x, _i32(f"{out.name}/shape", out.shape)], [out], opts)
