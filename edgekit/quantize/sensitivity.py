"""Per-layer sensitivity: SQNR of float against quantized activations, streamed sample by sample.

Like onnxruntime.quantization.qdq_loss_debug, both models are augmented to output every
intermediate float tensor (its ``modify_model_output_intermediate_tensors``) and the float model's
tensor ``t`` is compared with the QDQ model's dequantized ``t``. Unlike its ``collect_activations``,
which keeps every activation of every sample in memory, the sums behind the SQNR are accumulated one
sample at a time.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .ranking import CAP_DB, db
from .result import LayerError

_SAVED = "_ReshapedSavedOutput"  # suffix qdq_loss_debug gives the saved copies
_DQ = "_DequantizeLinear_Output"  # onnxruntime.quantization.quant_utils.DEQUANT_OUTPUT_SUFFIX


def _augmented_session(src: Path, dst: Path):
    import onnxruntime as ort
    from onnxruntime.quantization.qdq_loss_debug import modify_model_output_intermediate_tensors

    modify_model_output_intermediate_tensors(str(src), str(dst))
    opts = ort.SessionOptions()
    # No fusions: the tensors must exist as named in the graph (qdq_loss_debug does the same).
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(dst), opts, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return sess, names


def _saved(sess, names, feeds) -> dict:
    outs = sess.run(None, feeds)
    return {n[:-len(_SAVED)]: v for n, v in zip(names, outs) if n.endswith(_SAVED)}


def layer_errors(float_model: Path, quant_model: Path, samples, workdir: Path, kept=()) -> list[LayerError]:
    """One LayerError per float-model node (ranking.rank orders them)."""
    import onnx

    f_sess, f_names = _augmented_session(float_model, workdir / "float_aug.onnx")
    q_sess, q_names = _augmented_session(quant_model, workdir / "quant_aug.onnx")
    sig, err = {}, {}
    for feeds in samples:
        fa, qa = _saved(f_sess, f_names, feeds), _saved(q_sess, q_names, feeds)
        for t, fv in fa.items():
            qv = qa.get(t + _DQ, qa.get(t + _DQ + "_1", qa.get(t)))
            if qv is None or qv.shape != fv.shape:
                continue
            f64 = fv.astype(np.float64)
            sig[t] = sig.get(t, 0.0) + float(np.sum(f64 * f64))
            err[t] = err.get(t, 0.0) + float(np.sum((f64 - qv) ** 2))
    sqnr = {t: db(sig[t], err[t]) for t in sig}
    model = onnx.load(str(float_model), load_external_data=False)
    weights = {i.name for i in model.graph.initializer}
    producer = {o: n for n in model.graph.node for o in n.output}
    kept = set(kept)
    rows = []
    for node in model.graph.node:
        out = node.output[0] if node.output else ""
        if out not in sqnr:
            continue
        group, ins = _segment(node, sqnr, producer, weights)
        delta = (min(ins) if ins else CAP_DB) - sqnr[out]
        rows.append(LayerError(group[0], node.op_type if len(group) == 1 else "+".join(_ops(group, model)), out,
                               round(sqnr[out], 3), round(delta, 3), bool(kept & set(group)), tuple(group)))
    return rows


def _segment(node, sqnr, producer, weights):
    """The node plus the upstream nodes whose outputs have no QDQ pair of their own.

    The QDQ quantizer folds e.g. Conv -> Relu into one quantized step (the Relu disappears into the
    output range), so only the Relu's output is comparable; the error belongs to the Conv+Relu pair.
    Returns (node names, upstream-first; SQNRs of the comparable tensors entering the group).
    """
    group, ins, stack, seen = [], [], [node], set()
    while stack:
        n = stack.pop()
        if n.name in seen:
            continue
        seen.add(n.name)
        group.append(n.name)
        for i in n.input:
            if not i or i in weights:
                continue
            if i in sqnr:
                ins.append(sqnr[i])
            elif i in producer:
                stack.append(producer[i])
            else:
                ins.append(CAP_DB)
    return group[::-1], ins


def _ops(group, model):
    kinds = {n.name: n.op_type for n in model.graph.node}
    return [kinds[g] for g in group]


# Ops the QDQ quantizer can leave in float and that carry weights or do arithmetic worth keeping
# exact; pure data movement (Reshape, Transpose, ...) gains nothing from staying float.
FALLBACK_OPS = {"Conv", "ConvTranspose", "Gemm", "MatMul", "Add", "Mul", "Concat", "AveragePool",
                "GlobalAveragePool", "MaxPool", "Sigmoid", "Softmax", "LeakyRelu", "Resize", "InstanceNormalization",
                "LayerNormalization", "Attention", "Gather", "Where", "Clip", "Relu"}
