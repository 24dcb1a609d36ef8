"""Passes over the lowered TFLite ops: fuse activations, cancel transposes, drop dead ops, fp16.

They work on ``ir.TModel`` and know nothing about ONNX, so every lowering benefits without doing
anything itself (a Conv lowering never looks ahead for a Relu).
"""
from __future__ import annotations

import numpy as np

from .ir import TModel, TOp, TTensor

# Ops whose options carry ``fusedActivationFunction`` and whose float kernels (and XNNPACK) apply it.
_FUSIBLE = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ADD", "SUB", "MUL", "DIV",
            "AVERAGE_POOL_2D", "MAX_POOL_2D", "TRANSPOSE_CONV"}
# NOT CONCATENATION: its options have the field but the kernel ignores it (results would be wrong).
_ACTIVATIONS = {"RELU": "RELU", "RELU6": "RELU6", "RELU_N1_TO_1": "RELU_N1_TO_1"}


def _rewire(model: TModel, old: TTensor, new: TTensor) -> None:
    for op in model.ops:
        op.inputs = [new if t is old else t for t in op.inputs]


def fuse_activations(model: TModel) -> int:
    """X(..) -> RELU/RELU6/RELU_N1_TO_1 becomes X(.., fused_activation) when X's output has no other use."""
    from ai_edge_litert import schema_py_generated as fb

    consumers, producers = model.consumers(), model.producers()
    outputs = {t.uid for t in model.outputs}
    dead, fused = set(), 0
    for op in model.ops:
        if op.opcode not in _ACTIVATIONS or op.inputs[0] is None:
            continue
        x = op.inputs[0]
        prod = producers.get(x.uid)
        if (prod is None or prod.opcode not in _FUSIBLE or id(prod) in dead or x.uid in outputs
                or len(consumers.get(x.uid, [])) != 1 or prod.options is None
                or getattr(prod.options, "fusedActivationFunction", None) != fb.ActivationFunctionType.NONE):
            continue
        prod.options.fusedActivationFunction = getattr(fb.ActivationFunctionType, _ACTIVATIONS[op.opcode])
        y = op.outputs[0]
        prod.outputs = [y if t is x else t for t in prod.outputs]
        dead.add(id(op))
        fused += 1
    model.ops = [op for op in model.ops if id(op) not in dead]
    return fused


def cancel_transposes(model: TModel) -> int:
    """TRANSPOSE(TRANSPOSE(x, p), q) = TRANSPOSE(x, p[q]): consumers read x directly when p[q] is the
    identity, else the second TRANSPOSE reads x with the composed perm (the first one then dies
    unless something else reads it)."""
    producers = model.producers()
    outputs = {t.uid for t in model.outputs}
    changed = 0
    for op in list(model.ops):
        if op.opcode != "TRANSPOSE":
            continue
        prev = producers.get(op.inputs[0].uid)
        if prev is None or prev.opcode != "TRANSPOSE" or not op.inputs[1].is_const or not prev.inputs[1].is_const:
            continue
        p, q = prev.inputs[1].data, op.inputs[1].data
        composed = p[q].astype(np.int32)
        if np.array_equal(composed, np.arange(len(q))) and op.outputs[0].uid not in outputs:
            _rewire(model, op.outputs[0], prev.inputs[0])
        else:
            perm = TTensor(f"{op.inputs[1].name}/composed", composed.shape, np.int32, composed)
            op.inputs = [prev.inputs[0], perm]
        changed += 1
    dead_code(model)
    return changed


def drop_reshape_before_fc(model: TModel) -> int:
    """RESHAPE to (B, K) feeding only FULLY_CONNECTED(keep_num_dims=False) with K input features:
    the FC kernel flattens its input to (numel / K, K) itself (tensorflow/lite/kernels/
    fully_connected.cc), so the RESHAPE is redundant (e.g. GAP -> Flatten -> Gemm)."""
    consumers, producers = model.consumers(), model.producers()
    outputs = {t.uid for t in model.outputs}
    dropped = 0
    for op in model.ops:
        if op.opcode != "FULLY_CONNECTED" or getattr(op.options, "keepNumDims", True):
            continue
        x = op.inputs[0]
        prev = producers.get(x.uid)
        if (prev is None or prev.opcode != "RESHAPE" or x.uid in outputs or len(consumers[x.uid]) != 1
                or x.rank != 2 or x.shape[1] != op.inputs[1].shape[1]):
            continue
        op.inputs[0] = prev.inputs[0]
        dropped += 1
    dead_code(model)
    return dropped


def permute_fc_weights(model: TModel) -> int:
    """TRANSPOSE (batch axis kept) -> FULLY_CONNECTED: permute the FC's weight columns instead.

    FC flattens its input per batch row, so ``W @ flat(transpose(x))`` = ``W' @ flat(x)`` with the
    columns of W moved to where transpose sends them. This removes the NHWC -> NCHW TRANSPOSE a
    Flatten of a spatial map (VGG/LeNet-style classifiers) would otherwise need. Run after
    ``drop_reshape_before_fc`` so the Flatten's RESHAPE is already gone.
    """
    consumers, producers = model.consumers(), model.producers()
    outputs = {t.uid for t in model.outputs}
    done = 0
    for op in model.ops:
        if op.opcode != "FULLY_CONNECTED" or getattr(op.options, "keepNumDims", True) or not op.inputs[1].is_const:
            continue
        x = op.inputs[0]
        tr = producers.get(x.uid)
        if tr is None or tr.opcode != "TRANSPOSE" or x.uid in outputs or len(consumers[x.uid]) != 1:
            continue
        perm = [int(a) for a in tr.inputs[1].data]
        src = tr.inputs[0]
        w = op.inputs[1].data
        k = int(np.prod(src.shape[1:])) if src.rank > 1 else 0
        if perm[0] != 0 or w.shape[1] != k:
            continue
        # sigma[j] = index in flat(src row) of element j of flat(transposed row)
        sigma = np.arange(k).reshape(src.shape[1:]).transpose([a - 1 for a in perm[1:]]).reshape(-1)
        permuted = np.empty_like(w)
        permuted[:, sigma] = w
        op.inputs = [src, TTensor(op.inputs[1].name + "/permuted", w.shape, w.dtype, permuted), *op.inputs[2:]]
        done += 1
    dead_code(model)
    return done


def fold_bias_add(model: TModel) -> int:
    """FULLY_CONNECTED without bias -> ADD(constant of its output width) becomes the FC's bias
    (torch exports Linear on 3-D inputs as MatMul + Add)."""
    consumers = model.consumers()
    outputs = {t.uid for t in model.outputs}
    dead, folded = set(), 0
    for op in model.ops:
        if (op.opcode != "FULLY_CONNECTED" or len(op.inputs) < 2 or (len(op.inputs) > 2 and op.inputs[2] is not None)
                or op.options is None or op.options.fusedActivationFunction != 0):
            continue
        y = op.outputs[0]
        users = consumers.get(y.uid, [])
        if y.uid in outputs or len(users) != 1 or users[0].opcode != "ADD":
            continue
        add = users[0]
        other = add.inputs[1] if add.inputs[0] is y else add.inputs[0]
        units = op.inputs[1].shape[0]
        if (other is None or not other.is_const or other.dtype != np.float32 or other.data.size != units
                or other.shape[-1:] != (units,) or add.outputs[0].shape != y.shape):
            continue
        bias = TTensor(other.name, (units,), np.float32, other.data.reshape(units))
        op.inputs = [op.inputs[0], op.inputs[1], bias]
        op.options.fusedActivationFunction = add.options.fusedActivationFunction if add.options else 0
        op.outputs = [add.outputs[0]]
        dead.add(id(add))
        folded += 1
    model.ops = [op for op in model.ops if id(op) not in dead]
    return folded


def dead_code(model: TModel) -> None:
    """Drop ops whose outputs nobody reads (after rewiring)."""
    live = {t.uid for t in model.outputs}
    keep: list[TOp] = []
    for op in reversed(model.ops):
        if any(t.uid in live for t in op.outputs):
            keep.append(op)
            live.update(t.uid for t in op.inputs if t is not None)
    model.ops = keep[::-1]


def to_fp16(model: TModel) -> int:
    """The standard TFLite float16 scheme: float32 constants stored as float16 + one DEQUANTIZE each.

    Constants that are not weights (shape/perm/axis tensors are int32) are untouched; a float
    constant read by several ops is dequantized once.
    """
    done: dict[int, TTensor] = {}
    new_ops: list[TOp] = []
    for op in model.ops:
        ins = []
        for t in op.inputs:
            if t is not None and t.is_const and t.dtype == np.float32 and t.data.size > 1:
                if t.uid not in done:
                    half = TTensor(f"{t.name}/fp16", t.shape, np.float16, t.data.astype(np.float16))
                    deq = TTensor(t.name, t.shape, np.float32)
                    new_ops.append(TOp("DEQUANTIZE", [half], [deq]))
                    done[t.uid] = deq
                t = done[t.uid]
            ins.append(t)
        op.inputs = ins
        new_ops.append(op)
    model.ops = new_ops
    return len(done)
