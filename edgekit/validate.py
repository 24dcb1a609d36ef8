"""Validate a model file before any runtime or the converter sees it (issue 17).

``check_file(path)`` is the one entry point ``edgekit.load``, ``convert``, ``quantize``, ``eval`` and
``profile`` call: the structural check of the format (below), then, unless told otherwise, a load and
one run in a child process (``runtime.probe``) so that a runtime abort becomes one line.

ONNX: ``onnx.checker`` with full (strict) shape inference, plus what the checker leaves to the
runtimes and edgekit needs: a supported IR version and opset, at least one node, input and output,
known element types, initializer data matching its dims, dims within int32 and within a memory
budget, and sane values for the attributes that size kernels (Conv group, pads, strides...).
TFLite: ``runtime.tflite_verify`` (a pure-Python structural check; no verifier ships without TensorFlow).

onnx is imported inside the check: ``edgekit.load`` stays numpy + one backend at module load, and on a
device without onnx the ONNX structural check is skipped (the child-process probe still runs).
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .errors import ModelError

# The converter lowers legacy opsets (Clip-6, Pad-2...); whether a runtime runs one is the probe's call.
MIN_IR, MIN_OPSET = 3, 1
_INT32_MAX = 2**31 - 1
_FIX = "re-export the model (e.g. torch.onnx.export) or check that the file is complete"
# attribute -> lowest allowed value, for the ops whose kernels size buffers from them
_ATTR_MIN = {"group": 1, "strides": 1, "dilations": 1, "kernel_shape": 1, "pads": 0, "output_padding": 0}
_ATTR_OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "ConvInteger", "QLinearConv"}


def memory_budget() -> int:
    """Bytes of weights a model may declare: the machine's physical memory (a larger file cannot run here)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 2**36


def check_file(path, fmt: str | None = None, probe: bool = True) -> str:
    """Validate the model file ``path``; its format (onnx|tflite). Raises a one-line ModelError."""
    from .runtime.device import detect_format

    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ModelError(f"cannot read model {p}", exc.strerror or str(exc), "check the path") from None
    if size == 0:
        raise ModelError(f"{p.name} is empty (0 bytes)", "an interrupted copy or download leaves such files",
                         "copy or export the model again")
    fmt = fmt or detect_format(str(p))
    if fmt == "tflite":
        check_tflite(p)  # 2 ms for a 100 KB model, pure Python: before even the child sees the file
    elif not probe:
        check_onnx_file(p)
    if probe:  # the ONNX checks run inside the probe's child: this process need not import onnx (~0.4 s)
        from .runtime.probe import check

        check(p, fmt)
    return fmt


@contextlib.contextmanager
def bundle_errors(root):
    """A bundle whose edgekit.json or labels are mistyped, too deep or not UTF-8 is one ModelError.

    The manifest's own schema check (types, ranges, keys) comes first where it exists; this catches
    what a hand-edited or hostile file still gets past it, instead of a traceback from deep inside.
    """
    try:
        yield
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as exc:
        why = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}".rstrip(": ")
        raise ModelError(f"bundle {Path(root).name} is malformed", why,
                         "rebuild it with `edgekit bundle` (hand edits to edgekit.json must keep its schema)") from None


def check_written(path, fmt: str) -> None:
    """Run a file edgekit just wrote (a temporary file) once in a child process; refuse it if that fails.

    Issue 19: a converted file that aborts LiteRT must never be reported as a success.
    """
    from .runtime.probe import probe

    if fmt == "tflite":
        check_tflite(path)
    verdict = probe(path, fmt)
    if not verdict.ok:
        what = verdict.what if verdict.status == "error" else f"it {verdict.what}"
        raise ModelError(f"the model edgekit wrote does not run ({what})", verdict.why,
                         "nothing was kept; run with --debug and report it with the source model")


def check_tflite(path) -> None:
    import mmap

    from .runtime.tflite_verify import TfliteFormatError, verify

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        try:
            verify(buf)
        except TfliteFormatError as exc:
            raise ModelError(f"cannot load {Path(path).name}", f"not a valid TFLite model ({exc})", _FIX) from None


def check_onnx_file(path) -> None:
    try:
        import onnx
    except ImportError:  # a device: the child-process probe is the check there
        return
    p = Path(path)
    try:
        proto = onnx.load(str(p), load_external_data=False)
    except Exception as exc:  # DecodeError, ValueError, ...
        raise ModelError(f"cannot load {p.name}", f"not a valid ONNX file ({_first_line(exc)})", _FIX) from None
    check_onnx(proto, p.name, p)


def check_onnx(proto, name: str = "the model", path=None) -> None:
    """The structural checks on a ModelProto (``path``: the file it came from, for external data)."""
    import onnx

    _check_header(proto, name)
    _check_graph(proto.graph, name)
    if path is not None and proto.ByteSize() > 2**31 - 2**24:  # protobuf's 2 GB limit: the checker reads the file
        try:
            onnx.checker.check_model(str(path), full_check=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"{name} is not a valid ONNX model", _checker_reason(exc), _FIX) from None
        return
    try:
        # Full (strict) shape inference first, then the checker on its result: exporters and hand-built
        # graphs often leave graph outputs without a shape, which the checker alone would refuse
        # although every runtime accepts it (inference fills them in).
        inferred = _infer(proto)
        _external_as_inputs(inferred, name, path)
        for v in [v for v in inferred.graph.output if not v.type.tensor_type.HasField("shape")]:
            inferred.graph.output.remove(v)  # rank unknown even after inference (shape chains): runtimes cope
        onnx.checker.check_model(inferred)
    except Exception as exc:  # ValidationError, InferenceError, and whatever a hostile proto triggers
        raise ModelError(f"{name} is not a valid ONNX model", _checker_reason(exc), _FIX) from None


def _infer(proto):
    """Strict inference; where it only failed to carry a type through (a limit of onnx's inference on
    some Shape chains, "expected to have type but instead is null"), the lenient pass decides."""
    import onnx

    proto = _sorted(proto)
    try:
        return onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=True, data_prop=True)
    except Exception as exc:  # noqa: BLE001
        if "instead is null" not in str(exc):
            raise
        return onnx.shape_inference.infer_shapes(proto, check_type=True, strict_mode=False, data_prop=True)


def _sorted(proto):
    """The proto, or a copy with its nodes in topological order: onnxruntime and the converter sort a
    graph themselves, the checker refuses an unsorted one. A cycle stays as it is (and is refused)."""
    g = proto.graph
    known = {i.name for i in g.input} | {t.name for t in g.initializer} | {""}
    seen = set(known)
    for n in g.node:  # the usual case, one linear pass: already sorted
        if not all(i in seen for i in n.input):
            break
        seen.update(n.output)
    else:
        return proto
    order, pending = [], list(g.node)
    while pending:
        ready = [n for n in pending if all(i in known for i in n.input)]
        if not ready:
            break
        for n in ready:
            known.update(n.output)
        order += ready
        pending = [n for n in pending if not any(n is r for r in ready)]
    if pending or [id(n) for n in order] == [id(n) for n in g.node]:
        return proto
    copy = type(proto)()
    copy.CopyFrom(proto)
    del copy.graph.node[:]
    copy.graph.node.extend(order)
    return copy


def _external_as_inputs(proto, name: str, path) -> None:
    """Weights in external files: check each location here (inside the model's folder, a regular file,
    long enough), then show them to the checker as typed inputs (it has no folder to look in for a proto)."""
    from onnx import TensorProto, helper

    folder = Path(path).resolve().parent if path is not None else None
    for t in [t for t in proto.graph.initializer if t.data_location == TensorProto.EXTERNAL]:
        info = {e.key: e.value for e in t.external_data}
        where = f"{name}: initializer {t.name!r}"
        loc = Path(info.get("location", ""))
        if folder is None or not loc.parts or loc.is_absolute() or ".." in loc.parts:
            raise ModelError(f"{where} points at external data {str(loc)!r}",
                             "external data must be a relative path inside the model's folder", _FIX)
        file = folder / loc
        try:
            size = file.stat().st_size if file.is_file() and not file.is_symlink() else None
            offset, length = int(info.get("offset", 0)), int(info.get("length", 0) or 0)
        except (OSError, ValueError):
            size = None
        if size is None or offset < 0 or length < 0 or offset + length > size:
            raise ModelError(f"{where} needs external data in {loc}", "the file is missing, not a regular file "
                             "or too short", "keep the weights file beside the .onnx file")
        proto.graph.initializer.remove(t)
        proto.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))


def _check_header(proto, name: str) -> None:
    import onnx

    if not proto.ByteSize():
        raise ModelError(f"{name} is empty", "it parses as an ONNX model with no fields set", _FIX)
    if not proto.HasField("graph"):
        raise ModelError(f"{name} holds no graph", "the file is empty or not an ONNX model", _FIX)
    if not MIN_IR <= proto.ir_version <= onnx.IR_VERSION:
        raise ModelError(f"{name} has ONNX IR version {proto.ir_version}",
                         f"edgekit reads IR versions {MIN_IR}..{onnx.IR_VERSION}", _FIX)
    newest = onnx.defs.onnx_opset_version()
    default = [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")]
    if not default:
        raise ModelError(f"{name} imports no ai.onnx opset", "every model needs one", _FIX)
    if not MIN_OPSET <= default[0] <= newest:
        raise ModelError(f"{name} uses opset {default[0]}", f"edgekit supports opsets {MIN_OPSET}..{newest}",
                         "re-export the model with a supported opset (e.g. opset_version=17)")


def _check_graph(g, name: str) -> None:
    inits = {t.name for t in g.initializer}
    if not g.node:
        raise ModelError(f"{name} has no nodes", "there is nothing to run", _FIX)
    if not any(v.name not in inits for v in g.input):
        raise ModelError(f"{name} has no inputs", "a graph of constants cannot be profiled or converted", _FIX)
    if not g.output:
        raise ModelError(f"{name} has no outputs", "nothing it computes would be returned", _FIX)
    for v in list(g.input) + list(g.output):
        _check_value_info(v, name)
    budget, total = memory_budget(), 0
    for t in g.initializer:
        total += _check_tensor(t, f"{name}: initializer {t.name!r}")
    for n in g.node:
        _check_node(n, name)
        for a in n.attribute:
            if a.HasField("t"):
                total += _check_tensor(a.t, f"{name}: node {n.name or n.op_type!r} attribute {a.name}")
    if total > budget:
        raise ModelError(f"{name} declares {total / 2**30:.1f} GiB of weights",
                         f"this machine has {budget / 2**30:.1f} GiB of memory", "use a smaller model or a larger machine")


def _known_type(elem_type: int) -> bool:
    from onnx import TensorProto

    return elem_type != TensorProto.UNDEFINED and elem_type in TensorProto.DataType.values()


def _check_value_info(v, name: str) -> None:
    if not v.type.HasField("tensor_type"):
        # edgekit feeds and returns arrays: a sequence, optional or map at the graph's edge cannot be run,
        # converted or profiled, and onnxruntime's own message for it ("expected type 3") says nothing.
        kind = v.type.WhichOneof("value") or "untyped"
        kind = {"sequence_type": "sequence", "optional_type": "optional", "map_type": "map"}.get(kind, kind)
        raise ModelError(f"{name}: {v.name!r} is a {kind}, not a tensor", "edgekit takes tensor inputs and outputs only",
                         "export the model with tensors at its inputs and outputs")
    tt = v.type.tensor_type
    if not _known_type(tt.elem_type):
        raise ModelError(f"{name}: {v.name!r} has element type {tt.elem_type}", "not an ONNX tensor type", _FIX)
    for d in tt.shape.dim:
        if d.HasField("dim_value") and not 0 <= d.dim_value <= _INT32_MAX:
            raise ModelError(f"{name}: {v.name!r} has dimension {d.dim_value}", f"dims must be 0..{_INT32_MAX}", _FIX)


def _check_tensor(t, where: str) -> int:
    """Bytes the tensor declares; ModelError for unknown types, out-of-range dims, data not matching dims."""
    import numpy as np
    from onnx import TensorProto, helper

    if not _known_type(t.data_type):
        raise ModelError(f"{where} has element type {t.data_type}", "not an ONNX tensor type", _FIX)
    elements = 1
    for d in t.dims:
        if not 0 <= d <= _INT32_MAX:
            raise ModelError(f"{where} has dimension {d}", f"dims must be 0..{_INT32_MAX}", _FIX)
        elements *= d
    if t.data_location == TensorProto.EXTERNAL or t.data_type == TensorProto.STRING:
        return 0 if t.data_type == TensorProto.STRING else elements
    try:
        itemsize = np.dtype(helper.tensor_dtype_to_np_dtype(t.data_type)).itemsize
    except (KeyError, TypeError, ValueError):
        return elements
    packed = t.data_type in (TensorProto.INT4, TensorProto.UINT4)  # two 4-bit values per byte / int32
    if t.HasField("raw_data"):
        have, need, unit = len(t.raw_data), ((elements + 1) // 2 if packed else elements * itemsize), "bytes"
    else:
        field = helper.tensor_dtype_to_field(t.data_type)
        per = 2 if t.data_type in (TensorProto.COMPLEX64, TensorProto.COMPLEX128) else 1
        have, need, unit = len(getattr(t, field)), ((elements + 1) // 2 if packed else elements * per), "values"
    if have != need:
        raise ModelError(f"{where} holds {have} {unit} of data", f"its dims {list(t.dims)} need {need}", _FIX)
    return elements * itemsize


def _check_node(n, name: str) -> None:
    if n.op_type not in _ATTR_OPS or n.domain not in ("", "ai.onnx"):
        return
    for a in n.attribute:
        low = _ATTR_MIN.get(a.name)
        values = list(a.ints) if a.ints else ([a.i] if a.type == a.INT else [])
        if low is not None and any(v < low or v > _INT32_MAX for v in values):
            raise ModelError(f"{name}: node {n.name or n.op_type!r} ({n.op_type}) has {a.name}={values}",
                             f"each must be {low}..{_INT32_MAX}", _FIX)


def _checker_reason(exc: Exception) -> str:
    text = _first_line(exc)
    for prefix in ("[ShapeInferenceError] Inference error(s): ", "[ShapeInferenceError] "):
        text = text.replace(prefix, "")
    return text[:300]


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__
