"""``edgekit.quantize``: one entry for every scheme and both formats (the output's suffix picks the format)."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError
from .backend import SUFFIXES, Job, backend_for, check_supported, format_of
from .checks import check_args, check_block_size, check_output_path, check_source
from .config import MODE_SCHEMES, Method, Mode, coerce
from .result import QuantizeResult
from .scheme import AType, Scheme, get_scheme


def quantize(model, output=None, calib=None, *, scheme: Scheme | str | None = None, mode: Mode | str | None = None,
             target=None, method: Method | str = Method.MINMAX, per_channel: bool = True, block_size: int | None = None,
             io: str = "float", fallback: str = "float", calib_size: int | None = None, exclude=(),
             max_drop: float | None = None, eval_data=None, report=None, spec=None, seed: int = 0,
             strict: bool = False, input_layout: str | None = None, metadata=None,
             progress: bool = False) -> QuantizeResult:
    """Quantize ``model`` (.onnx) into ``output`` (.onnx, or .tflite: converted and quantized in one step).

    ``scheme`` is a preset name (w8a8, w8a16, w8-dynamic, w4, w4a8, fp16; docs/quantization.md) or a
    Scheme; default: the target's scheme for the format. ``calib`` is any ``edgekit.data`` source
    (calibrated schemes need it). With ``max_drop`` (top-1 points) and ``eval_data``, the most
    sensitive layers are kept in float until the drop holds. ``input_layout`` and ``metadata`` are the
    TFLite conversion's (edgekit.convert). The source is never modified and the output is written
    atomically. The older order ``quantize(model, calib, output)`` still works.
    """
    output, calib = _legacy_order(output, calib)
    fmt = format_of(output) if output is not None else "onnx"
    tgt, s = plan(fmt, scheme, mode, target, per_channel, block_size, io)
    method = coerce(Method, method, "calibration method")
    src = check_source(model)
    check_args(s, calib=calib, max_drop=max_drop, eval_data=eval_data, report=report, fallback=fallback)
    _check_format_args(fmt, method, exclude, input_layout, fallback, metadata)
    out = check_output_path(src, output, f"-o OUT.{fmt}")
    if report is not None:
        from .._io import check_output

        check_output(report, "report file")
    convert_options = None
    if fmt == "tflite":
        from ..convert import ConvertOptions

        convert_options = ConvertOptions.make(input_layout=input_layout, metadata=metadata)
    job = Job(src, out, s, tgt, calib=calib, calib_size=calib_size, method=method, exclude=tuple(exclude),
              max_drop=max_drop, eval_data=eval_data, report=Path(report) if report is not None else None,
              spec=spec, seed=seed, strict=strict, fallback=fallback, convert_options=convert_options,
              progress=progress)
    return run(job)


SQNR_SAMPLES = 8     # calibration samples the result is compared with float on
SQNR_WARN_DB = 10.0  # below this the output is mostly noise: int8 classifiers keep 20-35 dB (docs/benchmarks.md)


def run(job: Job) -> QuantizeResult:
    """Hand a checked job to its format's backend, measure the result against float, write the report."""
    result = backend_for(format_of(job.output)).quantize(job)
    if job.calib is not None or job.eval_data is not None:
        result = _preprocessing_note(result, job.src)
    result = measure(result, job.src, job.calib)
    if job.report is not None:
        from .report import write_report

        write_report(result, job.report)
    return result


def plan(fmt: str, scheme, mode, target, per_channel: bool = True, block_size=None, io="float"):
    """(target, scheme) for ``fmt``: the scheme named (or --mode's, or the target's), adapted to the target.

    Every check here is on arguments only, so a wrong flag fails before any model is read.
    """
    from ..targets import IOType, QType, get_target

    tgt = get_target(target)
    if mode is not None:
        m = coerce(Mode, mode, "mode")
        named = MODE_SCHEMES[m]
        if scheme is not None and get_scheme(scheme).name != named:
            raise InputError(f"--mode {m.value} and --scheme {get_scheme(scheme).name} disagree",
                             "--mode is the older name of a scheme", "pass --scheme alone")
        scheme = named
    s = get_scheme(scheme if scheme is not None else tgt.scheme(fmt))
    s = check_block_size(s, block_size)
    if not per_channel or (fmt == "onnx" and not tgt.onnx_int8.per_channel):
        s = s.replace(per_channel=False)
    if fmt == "onnx" and s.activations is AType.INT8 and tgt.onnx_int8.activations is QType.UINT8:
        # the target's kernels want unsigned activations (x86 VNNI multiplies u8 by s8: targets/x86_64.toml)
        s = s.replace(activations=AType.UINT8)
    io = coerce(IOType, io, "--io type")
    if io is not IOType.FLOAT:
        if fmt != "tflite":
            raise InputError(f"--io {io.value} applies to TFLite outputs", "an ONNX model keeps float inputs/outputs",
                             "drop --io, or write OUT.tflite")
        s = s.replace(io=io)
    check_supported(fmt, s)
    return tgt, s


def _check_format_args(fmt: str, method: Method, exclude, input_layout, fallback, metadata) -> None:
    if fmt == "tflite":
        if method is not Method.MINMAX:
            raise InputError(f"--method {method.value} applies to ONNX outputs", "TFLite calibration keeps min/max",
                             "drop --method, or write OUT.onnx")
        if exclude:
            raise InputError("--exclude applies to ONNX outputs", "TFLite keeps layers float with --max-drop",
                             "drop --exclude, or write OUT.onnx")
    else:
        if input_layout is not None:
            raise InputError("--input-layout applies to TFLite outputs", "an ONNX model keeps its layout",
                             "drop --input-layout, or write OUT.tflite")
        if metadata:
            raise InputError("metadata entries apply to TFLite conversions", "quantize writes its own ONNX metadata",
                             "drop them, or write OUT.tflite")
        if fallback != "float":
            raise InputError(f"--fallback {fallback} applies to TFLite outputs", "ONNX keeps sensitive layers float",
                             "drop --fallback, or write OUT.tflite")


def _legacy_order(output, calib):
    """``quantize(model, calib, output)`` (before issue 12) -> (output, calib)."""
    def is_path(x):
        return isinstance(x, (str, os.PathLike))

    def is_model_path(x):
        return is_path(x) and Path(x).suffix.lower() in SUFFIXES

    if is_path(calib) and (not is_path(output) or (is_model_path(calib) and not is_model_path(output))):
        return calib, output
    return output, calib


def measure(result: QuantizeResult, src: Path, data) -> QuantizeResult:
    """The result's SQNR against the float model on a few samples of ``data``; a warning when it is low.

    A quantized file whose outputs are all zero is otherwise reported as a success (issue 19).
    """
    import dataclasses
    import warnings

    from ..errors import EdgekitError, EdgekitWarning

    if data is None:
        return result
    from ..evaluate import evaluate

    try:
        r = evaluate([result.output], data, reference=src, spec=result.spec, limit=SQNR_SAMPLES)[0]
    except EdgekitError as exc:  # e.g. arrays in the ONNX layout and an NHWC TFLite input
        warnings.warn(f"the result's error against float was not measured: {exc}", EdgekitWarning, stacklevel=3)
        return result
    notes = list(result.warnings)
    if r.sqnr_db is not None and r.sqnr_db < SQNR_WARN_DB:
        notes.append(f"output SQNR against float is {r.sqnr_db:.1f} dB on {r.samples} calibration samples (below "
                     f"{SQNR_WARN_DB:.0f} dB): the quantized model's outputs are mostly error; check the "
                     "preprocessing (--preprocess), try w8a16, or keep layers float with --max-drop")
        warnings.warn(notes[-1], EdgekitWarning, stacklevel=3)
    return dataclasses.replace(result, sqnr_db=r.sqnr_db, warnings=tuple(notes))


def _preprocessing_note(result: QuantizeResult, src: Path) -> QuantizeResult:
    """Warn when an ImageNet-size RGB model is fed data with the input-shape defaults (issue 19)."""
    import dataclasses
    import warnings

    from ..data.spec import defaults_warning
    from ..errors import EdgekitWarning

    note = defaults_warning(result.spec, result.spec_origin, src.name)
    if note is None:
        return result
    warnings.warn(note, EdgekitWarning, stacklevel=3)
    return dataclasses.replace(result, warnings=result.warnings + (note,))
