"""Fuse the erf-based GELU that exporters write, x * 0.5 * (1 + erf(x / sqrt(2))), into one Gelu node.

torch.onnx (opset < 20) exports nn.GELU as Div(x, 1.4142135) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5)
(the two Muls in either order, or Mul(x, 0.5) first; Mul(x, 0.70710677) instead of the Div). TFLite
has a GELU kernel but no ERF, so fusing gives one exact op instead of five plus an erf
approximation (``ops/erf.py``). Run by ``prepare.prepare`` after constant folding.
"""
from __future__ import annotations

import numpy as np

from .graph import Graph, Node

_SQRT2 = float(np.sqrt(2.0))


def _scalar(graph: Graph, name: str):
    v = graph.consts.get(name)
    return float(v.reshape(-1)[0]) if v is not None and v.size == 1 else None


def _near(value, target) -> bool:
    return value is not None and abs(value - target) <= 1e-6 * abs(target)


def _other(node: Node, name: str) -> str:
    return node.inputs[1] if node.inputs[0] == name else node.inputs[0]


def fuse_gelu(graph: Graph) -> int:
    consumers = graph.consumers()
    producer = {o: n for n in graph.nodes for o in n.outputs}
    outputs = set(graph.outputs)
    dead, fused = set(), 0

    def single(name):   # the only consumer of an intermediate value (None if shared or a graph output)
        users = consumers.get(name, [])
        return users[0] if len(users) == 1 and name not in outputs else None

    for erf in graph.nodes:
        if erf.op_type != "Erf" or id(erf) in dead:
            continue
        scaled = producer.get(erf.inputs[0])
        if scaled is None or single(scaled.outputs[0]) is not erf:
            continue
        x = next((i for i in scaled.inputs if graph.consts.get(i) is None), None)
        c = _scalar(graph, _other(scaled, x)) if x is not None and len(scaled.inputs) == 2 else None
        if not ((scaled.op_type == "Div" and scaled.inputs[0] == x and _near(c, _SQRT2))
                or (scaled.op_type == "Mul" and _near(c, 1 / _SQRT2))):
            continue
        add = single(erf.outputs[0])
        if add is None or add.op_type != "Add" or not _near(_scalar(graph, _other(add, erf.outputs[0])), 1.0):
            continue
        chain, factors, cur = [], [], add.outputs[0]
        while len(chain) < 2:
            mul = single(cur)
            if mul is None or mul.op_type != "Mul" or len(mul.inputs) != 2:
                break
            chain.append(mul)
            factors.append(_other(mul, cur))
            cur = mul.outputs[0]
            if _is_gelu_factors(graph, producer, single, factors, x):
                break
        if not chain or not _is_gelu_factors(graph, producer, single, factors, x):
            continue
        last = chain[-1]
        half = producer.get(factors[0]) if len(factors) == 1 else None
        for node in [scaled, erf, add, *chain[:-1]] + ([half] if half is not None else []):
            dead.add(id(node))
        last.op_type, last.inputs, last.attrs = "Gelu", [x], {}
        fused += 1
    graph.nodes = [n for n in graph.nodes if id(n) not in dead]
    return fused


def _is_gelu_factors(graph, producer, single, factors, x) -> bool:
    """The product of ``factors`` is x * 0.5: either [x, 0.5] (any order) or [Mul(x, 0.5)]."""
    if len(factors) == 2:
        vals = {_scalar(graph, f) for f in factors if f != x}
        return x in factors and len(vals) == 1 and _near(vals.pop(), 0.5)
    if len(factors) == 1:
        half = producer.get(factors[0])
        return (half is not None and half.op_type == "Mul" and x in half.inputs and single(factors[0]) is not None
                and _near(_scalar(graph, _other(half, x)), 0.5))
    return False
