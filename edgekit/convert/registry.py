"""The typed registry of lowerings: one function per ONNX op, keyed by (op_type, since-opset).

A lowering is registered with ``@lowering("Conv", since=1)``. Its signature IS its contract:

* the first parameter is the ``NodeCtx`` (see ``context.py``);
* the next positional parameters are the ONNX inputs in spec order (``Value`` or ``None`` when an
  optional input is omitted); a ``*args`` parameter takes variadic inputs (Concat, Sum);
* keyword-only parameters are the ONNX attributes, with the spec's defaults. Attribute values arrive
  typed: INT -> int, FLOAT -> float, STRING -> str, INTS -> tuple[int], FLOATS -> tuple[float],
  TENSOR -> np.ndarray. An attribute the signature does not name makes the node unsupported (we
  never silently ignore semantics).

``check_supported`` validates a whole graph against the registry before anything is lowered or
written, so an unsupported op fails fast with one message listing everything that is missing.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Callable, Optional

from ..errors import UnsupportedOpError

ONNX_DOMAINS = ("", "ai.onnx")
# Attributes with no inference semantics for ANY op: opset 1-5's legacy in-place hint.
ALWAYS_IGNORED = frozenset({"consumed_inputs"})


@dataclass(frozen=True)
class Lowering:
    op_type: str
    since: int
    fn: Callable
    n_inputs: int          # positional ONNX inputs the function takes (excluding ctx)
    n_required: int        # of which have no default
    variadic: bool         # takes *args
    attrs: frozenset[str]  # attribute names it understands
    ignore: frozenset[str]  # attributes accepted but irrelevant to inference (documented per op)

    def call(self, ctx, inputs: list, attrs: dict):
        return self.fn(ctx, *inputs, **attrs)


_REGISTRY: dict[str, list[Lowering]] = {}


def lowering(op_type: str, since: int = 1, ignore: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """Register ``fn`` as the lowering of ONNX ``op_type`` for opsets >= ``since``.

    ``ignore`` names attributes that do not change inference results (e.g. Dropout's ``seed``);
    they are dropped before the call. Stacking the decorator registers one function for several
    ops or opset ranges.
    """

    def register(fn: Callable) -> Callable:
        params = list(inspect.signature(fn).parameters.values())[1:]  # drop ctx
        positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        entry = Lowering(
            op_type=op_type, since=since, fn=fn,
            n_inputs=len(positional),
            n_required=sum(p.default is p.empty for p in positional),
            variadic=any(p.kind == p.VAR_POSITIONAL for p in params),
            attrs=frozenset(p.name for p in params if p.kind == p.KEYWORD_ONLY),
            ignore=frozenset(ignore),
        )
        versions = _REGISTRY.setdefault(op_type, [])
        if any(v.since == since for v in versions):
            raise RuntimeError(f"two lowerings for {op_type} since opset {since}")
        versions.append(entry)
        versions.sort(key=lambda v: v.since)
        return fn

    return register


def _load_ops() -> None:
    from . import ops  # noqa: F401  (importing the package registers every op file in it)


def find(op_type: str, opset: int, domain: str = "") -> Optional[Lowering]:
    """The lowering with the greatest ``since`` <= ``opset``, or None."""
    _load_ops()
    if domain not in ONNX_DOMAINS:
        return None
    best = None
    for entry in _REGISTRY.get(op_type, ()):
        if entry.since <= opset:
            best = entry
    return best


def supported_ops() -> list[str]:
    _load_ops()
    return sorted(_REGISTRY)


def problems(node, opset: int) -> list[str]:
    """Why ``node`` (a ``graph.Node``) cannot be lowered; empty when it can."""
    entry = find(node.op_type, opset, node.domain)
    where = f"{node.op_type} (node '{node.name}', opset {opset}"
    if node.domain not in ONNX_DOMAINS:
        return [f"{where}, domain '{node.domain}')"]
    if entry is None:
        return [f"{where})"]
    out = []
    unknown = sorted(set(node.attrs) - entry.attrs - entry.ignore - ALWAYS_IGNORED)
    if unknown:
        out.append(f"{where}) attribute(s) {', '.join(unknown)}")
    n = len(node.inputs)
    while n and node.inputs[n - 1] == "":
        n -= 1
    if n > entry.n_inputs and not entry.variadic:
        out.append(f"{where}) with {n} inputs (at most {entry.n_inputs} supported)")
    return out


def check_supported(nodes, opset_of: Callable[[str], int]) -> None:
    """Raise one UnsupportedOpError naming every op type that has no lowering (before any output).

    Problems are grouped by op type (a model with 16 ReduceMean nodes gets one entry naming the
    first node and the count), so the one-line message stays readable.
    """
    found: dict[str, list[str]] = {}
    for node in nodes:
        for p in problems(node, opset_of(node.domain)):
            key = p.split(" (node ")[0] + p.split(")", 1)[1]
            found.setdefault(key, []).append(p)
    if found:
        parts = [ps[0] + (f" and {len(ps) - 1} more {k.split()[0]} node(s)" if len(ps) > 1 else "")
                 for k, ps in found.items()]
        raise UnsupportedOpError(
            f"cannot convert to TFLite: unsupported {'; '.join(parts)}",
            f"supported ops are {', '.join(supported_ops())}",
            "replace the op in the exporter (e.g. a different torch module or opset) or open an issue "
            "with the model")


def typed_attrs(entry: Lowering, attrs: dict) -> dict:
    """Drop ignored attributes; values were typed when the graph was read (see graph.py)."""
    return {k: v for k, v in attrs.items()
            if k not in entry.ignore and (k in entry.attrs or k not in ALWAYS_IGNORED)}

