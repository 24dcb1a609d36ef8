#!/usr/bin/env python
"""Per-op LiteRT/XNNPACK cost of TFLite models: each op cut out as a one-op model and timed alone.

The ai-edge-litert wheel has no op profiler in Python (the C++ benchmark_model's --enable_op_profiling
is not shipped), and XNNPACK fuses the whole graph into one delegate node, so the only per-op view
from Python is to time every op on its own: same tensors, same quantization, same constants, 1 thread,
default delegate. XNNPACK folds a PAD into the conv after it, so such a PAD is charged PAD+conv minus
conv. Isolated ops lose the cache reuse between neighbours, so the sum differs a little from the whole
model's latency; the ratios between models with the same op list are what it is for.

Also answers "did XNNPACK take every op?": with delegate node fusion disabled, LiteRT creates one
DELEGATE node per op the delegate accepted, so ``xnnpack_ops(path)`` counts them exactly; and
``layout(path)`` lists the weighted ops' quantization layout, to compare two tools' files.

    /opt/ekvenv/bin/python tools/tflite_per_op.py NAME=MODEL.tflite [NAME=MODEL.tflite ...] [--runs 40]
"""
from __future__ import annotations

import argparse
import collections
import copy
import statistics
import sys
import time

import numpy as np


def xnnpack_ops(path) -> tuple[int, int]:
    """(ops XNNPACK accepted, ops in the graph) with LiteRT's default delegate, 1 thread."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=1, experimental_disable_delegate_node_fusion=True)
    it.allocate_tensors()  # LiteRT applies its default delegate here
    names = [d["op_name"] for d in it._get_ops_details()]
    delegated = names.count("DELEGATE")  # NumNodes lists the graph's ops plus the delegate nodes
    return delegated, len(names) - delegated


def layout(path) -> dict:
    """{(op, weight quantized axis, per-channel, weight zero points all 0, bias type, bias scale = in x w,
    fused activation): count} over CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED: the quantization layout
    XNNPACK's QS8/QC8 path needs (schema.fbs; TFLite quantization spec)."""
    from ai_edge_litert import schema_py_generated as fb

    from edgekit.convert.int8 import interface

    types = {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}
    acts = {v: k for k, v in vars(fb.ActivationFunctionType).items() if not k.startswith("_")}
    model = interface.read(open(path, "rb").read())
    sg, out = model.subgraphs[0], collections.Counter()
    for op in sg.operators:
        kind = interface.op_name(model, op)
        if kind not in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"):
            continue
        x, w, b = (sg.tensors[i] for i in op.inputs[:3])
        if w.quantization is None or w.quantization.scale is None:
            out[(kind, "float weights")] += 1
            continue
        wq, bq = w.quantization, b.quantization
        bias_ok = bq is not None and np.allclose(bq.scale, x.quantization.scale[0] * np.asarray(wq.scale), rtol=1e-5)
        out[(kind, f"axis {wq.quantizedDimension}", "per-channel" if len(wq.scale) > 1 else "per-tensor",
             "w zp 0" if not np.any(wq.zeroPoint) else "w zp != 0", f"bias {types[b.type]}",
             "bias scale ok" if bias_ok else "bias scale off", acts[op.builtinOptions.fusedActivationFunction])] += 1
    return dict(out)


def _is_const(model, t) -> bool:
    data = model.buffers[t.buffer].data
    return data is not None and len(data) > 0


def _describe(model, sg, op) -> str:
    from edgekit.convert.int8 import interface

    kind = interface.op_name(model, op)
    if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        w = sg.tensors[op.inputs[1]]
        kind += f" {w.shape[1]}x{w.shape[2]}" + (f" s{op.builtinOptions.strideH}" if op.builtinOptions.strideH > 1 else "")
    return kind


def sub_model(model, sg, ops) -> bytes:
    """A model of ``ops`` (consecutive ops of ``sg``) alone: tensors, quantization and constants copied."""
    from ai_edge_litert import schema_py_generated as fb

    from edgekit.convert.int8 import interface

    m = fb.ModelT()
    m.version, m.operatorCodes, m.buffers = model.version, model.operatorCodes, [fb.BufferT()]
    s, remap = fb.SubGraphT(), {}
    s.tensors, s.operators = [], []

    def take(i):
        if i < 0:
            return i
        if i not in remap:
            t = copy.copy(sg.tensors[i])
            m.buffers.append(model.buffers[t.buffer] if _is_const(model, sg.tensors[i]) else fb.BufferT())
            t.buffer = len(m.buffers) - 1
            s.tensors.append(t)
            remap[i] = len(s.tensors) - 1
        return remap[i]

    produced = {i for op in ops for i in op.outputs}
    for op in ops:
        one = copy.copy(op)
        one.inputs, one.outputs, one.intermediates = [take(i) for i in op.inputs], [take(i) for i in op.outputs], []
        s.operators.append(one)
    s.inputs = [remap[i] for op in ops for i in op.inputs
                if i >= 0 and i not in produced and not _is_const(model, sg.tensors[i])]
    s.outputs = [remap[i] for i in ops[-1].outputs]
    m.subgraphs = [s]
    return interface.write(m)


def _fused_pad(model, sg, k) -> bool:
    """A PAD whose only consumer is the next op (a conv): XNNPACK folds it into that conv's padding."""
    from edgekit.convert.int8 import interface

    op = sg.operators[k]
    if interface.op_name(model, op) != "PAD" or k + 1 >= len(sg.operators):
        return False
    users = [o for o in sg.operators if op.outputs[0] in list(o.inputs)]
    return users == [sg.operators[k + 1]] and "CONV" in interface.op_name(model, users[0])


def op_jobs(path) -> list:
    """[(kind, model bytes, fused)] for every op of subgraph 0: the op as a model of its own.

    A PAD that XNNPACK fuses into the following conv (``fused``) is timed as PAD->conv in one model
    and charged that minus the conv alone: what it adds, not its cost as a standalone copy."""
    from edgekit.convert.int8 import interface

    model = interface.read(open(path, "rb").read())
    sg = model.subgraphs[0]
    jobs = []
    for k, op in enumerate(sg.operators):
        if _fused_pad(model, sg, k):
            jobs.append(("PAD (fused: PAD+conv minus conv)", sub_model(model, sg, sg.operators[k:k + 2]), True))
        else:
            jobs.append((_describe(model, sg, op), sub_model(model, sg, [op]), False))
    return jobs


def time_op(content: bytes, runs: int) -> float:
    """Median thread-CPU ms of one invoke (1 thread: all the work is this thread's)."""
    from ai_edge_litert.interpreter import Interpreter
    from tflite_pair_latency import warmed

    it = warmed(Interpreter(model_content=content, num_threads=1))
    ts = []
    for _ in range(runs):
        t = time.thread_time()
        it.invoke()
        ts.append(time.thread_time() - t)
    return statistics.median(ts) * 1e3


def per_op(models: dict, runs: int = 40) -> tuple[list[str], dict, dict]:
    """(op kinds in first-seen order, {kind: {model: summed ms}}, {kind: count in the first model}).

    Interleaved: op i of every model is timed before op i + 1 of any, so load drift on a shared
    host hits all models alike instead of whichever was timed last."""
    names = list(models)
    jobs = {n: op_jobs(models[n]) for n in names}
    ms = {n: [0.0] * len(jobs[n]) for n in names}
    for i in range(max(len(j) for j in jobs.values())):
        for n in names:
            if i < len(jobs[n]):
                ms[n][i] = time_op(jobs[n][i][1], runs)
    sums: dict = collections.OrderedDict()
    count = collections.Counter()
    for n in names:
        for i, (kind, _, fused) in enumerate(jobs[n]):
            cost = ms[n][i] - ms[n][i + 1] if fused else ms[n][i]  # a fused PAD's next op is its conv
            sums.setdefault(kind, dict.fromkeys(names, 0.0))[n] += cost
            if n == names[0]:
                count[kind] += 1
    return list(sums), sums, count


def markdown(models: dict, runs: int = 40, pairs=()) -> str:
    """Per-op-kind table; ``pairs`` = [(float name, int8 name), ...] adds a float/int8 ratio column each."""
    kinds, sums, count = per_op(models, runs)
    names = list(models)
    head = ["op (kernel x stride)", "count"] + [f"{n} ms" for n in names] + [f"{q} speed-up" for _, q in pairs]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    total = dict.fromkeys(names, 0.0)
    for kind in kinds:
        for n in names:
            total[n] += sums[kind][n]
        # a fused PAD costs ~0 either way: its ratio would be noise over noise
        ratios = ["-" if kind.startswith("PAD (fused") else f"{sums[kind][f] / sums[kind][q]:.2f}x" for f, q in pairs]
        lines.append("| " + " | ".join([kind, str(count[kind])] + [f"{sums[kind][n]:.3f}" for n in names] + ratios) + " |")
    ratios = [f"{total[f] / total[q]:.2f}x" for f, q in pairs]
    lines.append("| " + " | ".join(["sum", ""] + [f"{total[n]:.2f}" for n in names] + ratios) + " |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", metavar="NAME=MODEL.tflite")
    ap.add_argument("--runs", type=int, default=40)
    args = ap.parse_args()
    models = dict(a.split("=", 1) for a in args.models)
    for name, path in models.items():
        ok, ops = xnnpack_ops(path)
        print(f"- {name}: {ok} of {ops} ops run by XNNPACK")
        for key, n in layout(path).items():
            print(f"  - {n} x {', '.join(key)}")
    print(markdown(models, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
