"""``edgekit.quantize``: static INT8 (calibrated, QDQ), dynamic INT8 or FP16 for an ONNX model."""
from __future__ import annotations

import tempfile
from pathlib import Path

from .._io import check_output
from ..data.model import load_onnx, onnx_inputs
from ..errors import InputError, QuantizeError
from .config import Method, Mode, QuantizeResult, coerce

_QUANTIZED_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
                  "MatMulInteger", "DynamicQuantizeLinear"}
_FLOATS = {1, 10, 11, 16}  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


def quantize(model, calib=None, output=None, *, target=None, mode: Mode | str = Mode.STATIC,
             method: Method | str = Method.MINMAX, per_channel: bool = True, calib_size: int | None = None,
             exclude=(), max_drop: float | None = None, eval_data=None, report=None, spec=None, seed: int = 0,
             strict: bool = False) -> QuantizeResult:
    """Quantize ``model`` (.onnx) into ``output``; the source is never modified, the output written atomically.

    ``calib`` is any data source ``edgekit.data.open_source`` reads (static mode needs it). Activation and
    weight types, format and per-channel come from ``target`` (default: this host's). With ``max_drop``
    (top-1 points) and ``eval_data``, the most sensitive layers are kept in float until the drop holds.
    """
    mode, method = coerce(Mode, mode, "mode"), coerce(Method, method, "calibration method")
    src, out = _check_args(model, calib, output, mode, max_drop, eval_data, report)
    proto = load_onnx(src)
    _check_weights(proto, src)
    from .static import check_loads

    check_loads(src)  # every mode: an invalid graph is one line here, not a failure deep in onnxruntime
    from ..targets import get_target

    tgt = get_target(target)
    q = tgt.onnx_int8
    per_channel = bool(per_channel and q.per_channel)
    inputs = onnx_inputs(proto)
    spec = _resolve_spec(src, inputs, spec)
    base = dict(output=out, mode=mode, target=tgt.name, spec=spec)
    if mode is Mode.FP16:
        from .other import convert_fp16

        patterns = _node_names(proto, exclude)
        _finish(convert_fp16(proto, patterns), out, spec)
        return QuantizeResult(**base, float_layers=tuple(patterns))
    from .static import check_opset

    check_opset(proto, src, per_channel)
    del proto
    if mode is Mode.DYNAMIC:
        return _dynamic(src, out, q, per_channel, exclude, spec, base)
    from .pipeline import run_static

    return run_static(src, out, calib, base, q=q, method=method, per_channel=per_channel, calib_size=calib_size,
                      exclude=exclude, max_drop=max_drop, eval_data=eval_data, report=report, inputs=inputs,
                      seed=seed, strict=strict)


def _check_args(model, calib, output, mode, max_drop, eval_data, report):
    if max_drop is not None and eval_data is None:
        raise InputError("--max-drop needs --eval DATA", "the drop is measured on labeled (or reference) data",
                         "add --eval with a data folder or file, or drop --max-drop")
    if max_drop is not None and (not isinstance(max_drop, (int, float)) or max_drop < 0):
        raise InputError("--max-drop must be a number of top-1 points >= 0", f"got {max_drop!r}", "e.g. --max-drop 0.5")
    if max_drop is not None and mode is not Mode.STATIC:
        raise InputError("--max-drop works with --mode static", f"got --mode {mode.value}", "drop one of the two")
    if report is not None and Path(report).suffix.lower() not in (".json", ".md"):
        raise InputError(f"report file {report} must end in .json or .md", "the extension picks the format",
                         "rename it")
    if mode is Mode.STATIC and calib is None:
        raise InputError("static INT8 needs calibration data", "no --calib given",
                         "pass --calib DATA (image folder, .npy/.npz), or use --mode dynamic|fp16")
    if output is None:
        raise InputError("no output path", "-o OUT.onnx is required", "pass -o OUT.onnx")
    src, out = Path(model), Path(output)
    if not src.is_file():
        raise InputError(f"model {src} not found", "no such file", "check the path")
    if src.suffix.lower() != ".onnx":
        raise InputError(f"{src.name} is not an ONNX model", "edgekit quantize reads .onnx (TFLite: edgekit convert "
                         "quantizes during conversion)", "pass the .onnx student")
    if out.resolve() == src.resolve():
        raise InputError("the output would overwrite the source model", f"both are {src}",
                         "write to another path (-o model.int8.onnx)")
    check_output(out)
    if report is not None:
        check_output(report, "report file")
    return src, out


def _check_weights(proto, src: Path) -> None:
    quantized = sorted({n.op_type for n in proto.graph.node if n.op_type in _QUANTIZED_OPS})
    if quantized:
        raise QuantizeError(f"{src.name} is already quantized", f"it contains {', '.join(quantized)}",
                            "quantize the float model instead")
    tensors = list(proto.graph.initializer) + [a.t for n in proto.graph.node if n.op_type == "Constant"
                                                for a in n.attribute if a.name == "value"]
    if not any(t.data_type in _FLOATS and len(t.dims) >= 2 for t in tensors):
        raise QuantizeError(f"{src.name} has no float weights", "there is nothing to quantize",
                            "check that this is the trained float model")


def _resolve_spec(src: Path, inputs, spec):
    """Given spec (size from the model), else the one stored in the model, else input-shape defaults."""
    from ..data import read_spec, spec_for_input

    natural = spec_for_input(inputs[0].shape, inputs[0].dtype.name) if len(inputs) == 1 else None
    chosen = spec if spec is not None else read_spec(src)
    if chosen is None:
        return natural
    if natural is not None and natural.size is not None:
        chosen = chosen.replace(size=natural.size)
    return chosen


def _node_names(proto, patterns) -> list[str]:
    from .static import resolve_excludes

    return resolve_excludes(proto, patterns)


def _finish(proto, out: Path, spec) -> None:
    """Store the spec in the result and move it into place atomically."""
    import onnx

    from .._io import atomic_path
    from ..data import write_spec

    write_spec(proto, spec)
    with atomic_path(out) as tmp:
        onnx.save(proto, str(tmp))


def _dynamic(src, out, q, per_channel, exclude, spec, base) -> QuantizeResult:
    import onnx

    from .other import quantize_dynamic

    excl = _node_names(onnx.load(str(src), load_external_data=False), exclude)
    with tempfile.TemporaryDirectory(prefix="edgekit-q-") as tmp:
        dst = Path(tmp) / "dynamic.onnx"
        quantize_dynamic(src, dst, weights=q.weights.value, per_channel=per_channel, exclude=excl)
        _finish(onnx.load(str(dst)), out, spec)
    return QuantizeResult(**base, weights=q.weights.value, per_channel=per_channel, float_layers=tuple(excl))
