"""The alternatives to compare static INT8 against: dynamic INT8 and FP16."""
from __future__ import annotations

import logging
from pathlib import Path

from ..errors import QuantizeError

# onnxruntime's CPU ConvInteger kernel is registered for uint8 weights only
# (onnxruntime/core/providers/cpu/quantization/conv_integer.cc), so dynamic INT8 with int8 weights
# quantizes the matrix-multiply ops it is meant for (transformers, RNNs) and leaves Conv in float.
DYNAMIC_OPS = ("MatMul", "Gemm", "Attention", "LSTM", "GRU", "EmbedLayerNormalization", "Gather")


def quantize_dynamic(src: Path, dst: Path, *, weights: str, per_channel: bool, exclude=()) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic as ort_quantize_dynamic

    wtype = QuantType.QUInt8 if weights == "uint8" else QuantType.QInt8
    ops = list(DYNAMIC_OPS) + (["Conv"] if wtype is QuantType.QUInt8 else [])
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        ort_quantize_dynamic(str(src), str(dst), op_types_to_quantize=ops, per_channel=per_channel,
                             weight_type=wtype, nodes_to_exclude=list(exclude))
    except Exception as exc:
        raise QuantizeError("onnxruntime dynamic quantization failed", str(exc).splitlines()[0] if str(exc) else
                            type(exc).__name__, "rerun with --debug") from exc
    finally:
        root.setLevel(level)


def convert_fp16(model, exclude_nodes=()):
    """Float32 -> float16 weights and compute, inputs/outputs kept float32 so callers feed the same data.

    Uses onnxruntime.transformers.float16 (the same code as onnxconverter-common, which is not a
    dependency); it inserts Cast nodes at the float32 boundaries and clamps out-of-range constants.
    """
    from onnxruntime.transformers.float16 import convert_float_to_float16

    try:
        out = convert_float_to_float16(model, keep_io_types=True, node_block_list=list(exclude_nodes) or None)
    except Exception as exc:
        raise QuantizeError("FP16 conversion failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                            "rerun with --debug; try --exclude on the node it names") from exc
    return topo_sort(out)


def topo_sort(model):
    """Reorder the main graph's nodes topologically (stable: original order among ready nodes).

    The float16 converter appends its input Casts after the nodes that read them; onnxruntime sorts
    on load, but the ONNX spec (and onnx.checker, and other tools) require sorted nodes.
    """
    graph = model.graph
    nodes = list(graph.node)
    producer = {o: i for i, n in enumerate(nodes) for o in n.output if o}
    deps = [{producer[x] for x in n.input if x in producer and producer[x] != i} for i, n in enumerate(nodes)]
    users = [[] for _ in nodes]
    for i, d in enumerate(deps):
        for j in d:
            users[j].append(i)
    import heapq

    left = [len(d) for d in deps]
    ready = [i for i, k in enumerate(left) if k == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for u in users[i]:
            left[u] -= 1
            if left[u] == 0:
                heapq.heappush(ready, u)
    if len(order) != len(nodes):  # a cycle: leave it for onnxruntime to report
        return model
    del graph.node[:]
    graph.node.extend(nodes[i] for i in order)
    return model
