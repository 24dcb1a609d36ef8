"""w4 / w4a8 for ONNX: blockwise INT4 weights through onnxruntime's MatMulNBits quantizer.

``onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer`` rewrites MatMul with a
constant 2-D weight into com.microsoft MatMulNBits (4-bit blocks along the input dimension, one float
scale per block) and Gather on a constant table (an embedding) into GatherBlockQuantized. w4a8 sets
MatMulNBits' ``accuracy_level`` 4: onnxruntime quantizes the activations to int8 per block at run time
and multiplies int8 by int4 (ContribOperators.md, MatMulNBits); w4 leaves it unset (float compute).

What edgekit adds: Gemm with a constant weight becomes MatMul (+ Add) first, since the quantizer takes
MatMul only; the block size is checked against every weight's input dimension before any work; and an
embedding table is quantized only when the model converts cleanly to opset 21 (int4 tensors need it).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import QuantizeError
from .result import QuantizeResult
from .scheme import AType, SchemeError

INT4_OPSET = 21  # int4 tensor types (GatherBlockQuantized's data) exist from opset 21 / IR 10


def quantize_nbits(job, proto, base: dict) -> QuantizeResult:
    from .onnx_backend import finish
    from .static import resolve_excludes

    s = job.scheme
    excl = set(resolve_excludes(proto, job.exclude))
    check_int4(proto, s, job.src, excl)
    gemm_to_matmul(proto)
    block = s.weights.block_size
    tables = [n for n in proto.graph.node if n.op_type == "Gather" and n.input[0] in _weights(proto)
              and n.name not in excl and len(_weights(proto)[n.input[0]]) == 2]
    ops = ["MatMul"]
    if tables:
        if _to_opset(proto, INT4_OPSET):
            ops.append("Gather")
        else:
            logging.getLogger("edgekit").warning("embedding tables kept float: the model does not convert to "
                                                 "opset %d, which int4 tables need", INT4_OPSET)
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    config = DefaultWeightOnlyQuantConfig(block_size=block, is_symmetric=s.weights.symmetric,
                                          accuracy_level=4 if s.activations is AType.DYNAMIC else None,
                                          op_types_to_quantize=tuple(ops))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer logs every node it rewrites at INFO through the root logger
    try:
        q = MatMulNBitsQuantizer(proto, nodes_to_exclude=sorted(excl), algo_config=config)
        q.process()
        out = q.model.model
    except Exception as exc:
        raise QuantizeError("onnxruntime's MatMulNBits quantizer failed", str(exc).splitlines()[0] if str(exc) else
                            type(exc).__name__, "rerun with --debug; try --exclude on the node it names") from exc
    finally:
        root.setLevel(level)
    from .._tmp import temp_dir  # an owner file lets a later run clean it up after a kill

    with temp_dir("edgekit-q4-") as tmp:  # the result must load before it is written
        from .static import check_loads

        probe = Path(tmp) / "q4.onnx"
        import onnx

        onnx.save(out, str(probe))
        check_loads(probe)
    ops_count = finish(out, job.output, base["spec"], s)
    return QuantizeResult(**base, ops=ops_count, size=job.output.stat().st_size, float_layers=tuple(sorted(excl)))


def check_int4(proto, scheme, src: Path, exclude=()) -> None:
    """The model has int4-able weights (MatMul/Gemm with a constant weight, or an embedding table) and the
    block size divides each one's input dimension: checked on the ONNX model for both formats."""
    from onnx import helper

    weights = _weights(proto)
    excl = set(exclude)
    found = 0
    for n in proto.graph.node:
        if n.name in excl:
            continue
        if n.op_type in ("MatMul", "Gemm") and len(n.input) > 1 and len(weights.get(n.input[1], ())) == 2:
            trans = n.op_type == "Gemm" and any(a.name == "transB" and helper.get_attribute_value(a)
                                                for a in n.attribute)
            _check_block(n, weights[n.input[1]][1 if trans else 0], scheme.weights.block_size, "input dimension")
            found += 1
        elif n.op_type == "Gather" and len(weights.get(n.input[0], ())) == 2:
            _check_block(n, weights[n.input[0]][1], scheme.weights.block_size, "embedding width")
            found += 1
    if not found:
        raise SchemeError(f"{Path(src).name} has no MatMul/Gemm with constant weights",
                            f"{scheme.name} quantizes the weights of matrix multiplies and embedding tables only",
                            "use w8a8 or w8-dynamic for this model")


def _weights(proto) -> dict:
    """Constant float tensors -> shape."""
    return {t.name: tuple(t.dims) for t in proto.graph.initializer if t.data_type in (1, 10, 16)}


def _check_block(node, dim: int, block: int, what: str) -> None:
    if dim % block:
        fits = [b for b in (32, 64, 128, 256) if dim % b == 0]
        raise SchemeError(f"--block-size {block} does not divide the {what} {dim} of {node.name or node.op_type}",
                         "blockwise int4 needs whole blocks along the input dimension",
                         f"use --block-size {fits[-1]}" if fits else "exclude that node with --exclude")


def gemm_to_matmul(proto) -> int:
    """Gemm(A, B const, C) with alpha = beta = 1, transA = 0 -> MatMul(A, B') [+ Add C]; returns how many."""
    from onnx import helper, numpy_helper

    inits = {t.name: t for t in proto.graph.initializer}
    nodes, changed = [], 0
    for n in proto.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        if (n.op_type != "Gemm" or n.input[1] not in inits or attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0
                or attrs.get("beta", 1.0) != 1.0):
            nodes.append(n)
            continue
        name = n.name or f"gemm_{changed}"
        b = n.input[1]
        if attrs.get("transB", 0):
            w = numpy_helper.to_array(inits[b]).T
            b = f"{name}_weight_t"
            proto.graph.initializer.append(numpy_helper.from_array(np.ascontiguousarray(w), b))
        has_c = len(n.input) > 2 and n.input[2]
        mm_out = f"{name}_matmul" if has_c else n.output[0]
        nodes.append(helper.make_node("MatMul", [n.input[0], b], [mm_out], name=name))
        if has_c:
            nodes.append(helper.make_node("Add", [mm_out, n.input[2]], [n.output[0]], name=f"{name}_bias"))
        changed += 1
    if changed:
        del proto.graph.node[:]
        proto.graph.node.extend(nodes)
    return changed


def _to_opset(proto, version: int) -> bool:
    from onnx import version_converter

    from .static import opset_of

    if opset_of(proto) >= version:
        return True
    try:
        converted = version_converter.convert_version(proto, version)
    except Exception:
        return False
    proto.CopyFrom(converted)
    return True
