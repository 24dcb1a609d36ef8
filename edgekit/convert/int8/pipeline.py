"""ONNX -> quantized TFLite for every TFLite scheme: lower, calibrate, quantize, fallback, interface.

The float TFLite is lowered in memory (edgekit's converter), quantized by ai-edge-quantizer with the
scheme's recipe (aeq.py), and written once, atomically, at the end: a failure leaves no file.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from ...errors import TargetError
from ...quantize.result import QuantizeResult
from ...quantize.scheme import AType, WType
from . import aeq, complete, interface
from .calibrate import calibrate, onnx_layout, open_calibration, signature_inputs

REPORT_SAMPLES = 16  # samples behind the per-tensor report (SQNR is stable well before that on small nets)


def require_quantizer() -> None:
    """Fail fast, with the install command, when the optional ai-edge-quantizer is missing."""
    try:
        import ai_edge_quantizer  # noqa: F401
    except ImportError:
        from ...errors import DependencyError

        raise DependencyError("quantized TFLite needs ai-edge-quantizer", "it is not installed",
                              "pip install 'edgekit[tflite-int8]'") from None


def check_target(scheme, tgt) -> None:
    """The target's TFLite runtime must take the scheme's model I/O and integer types."""
    from ...targets import QType

    q = tgt.tflite_int8
    if scheme.io not in q.io_types:
        kinds = "|".join(t.value for t in q.io_types)
        raise TargetError(f"--io {scheme.io.value} is not supported on target {tgt.name}",
                          f"its TFLite runtime has kernels for {kinds} model inputs/outputs only",
                          f"use --io {q.io_types[0].value}, or another --target")
    if q.activations is not QType.INT8 or q.weights is not QType.INT8:
        raise TargetError(f"target {tgt.name} asks for TFLite {q.activations.value} activations / "
                          f"{q.weights.value} weights",
                          "TFLite's integer kernels use int8 (uint8 is the legacy scheme)",
                          "set [int8.tflite] activations/weights = \"int8\" in the target file")


def run(job) -> QuantizeResult:
    from ..._io import write_bytes
    from ...data import read_spec, spec_for_input
    from ...data.spec import choose_spec, resolve_spec
    from .. import lower_model
    from ..writer import serialize

    s = job.scheme
    if s.weights.dtype is WType.INT4:
        import onnx

        from ...quantize.nbits import check_int4

        check_int4(onnx.load(str(job.src), load_external_data=False), s, job.src)
    if s.weights.dtype is not WType.FP16:
        require_quantizer()
        check_target(s, job.target)
    opts = job.convert_options
    float_bytes = bytes(serialize(lower_model(job.src, opts, progress=job.progress)))
    nhwc = opts.input_layout.value == "nhwc"
    tfl_inputs = signature_inputs(float_bytes)

    def natural(inputs):
        return spec_for_input(inputs[0].shape, inputs[0].dtype.name) if len(inputs) == 1 else None

    # the data is read as for the ONNX model (and transposed for an NHWC input); the TFLite file stores
    # the spec of its own input
    spec, origin = resolve_spec(natural(onnx_layout(tfl_inputs, nhwc)[0]), job.spec,
                                read_spec(job.src) if job.spec is None else None)
    model_spec = choose_spec(natural(tfl_inputs), spec)
    base = dict(output=job.output, format="tflite", scheme=s, target=job.target.name, spec=spec, spec_origin=origin,
                io=s.io.value)
    from ... import metadata

    if s.weights.dtype is WType.FP16:
        import json
        from dataclasses import replace

        meta = ((metadata.QUANTIZATION, json.dumps(s.to_dict(), sort_keys=True)),)
        if model_spec is not None:
            meta += ((metadata.PREPROCESS, model_spec.to_json()),)
        tmodel = lower_model(job.src, replace(opts, fp16=True, metadata=meta + opts.metadata))
        write_bytes(job.output, serialize(tmodel), check=_run_once)
        return QuantizeResult(**base, ops=tmodel.op_counts(), size=job.output.stat().st_size)
    from ..._tmp import temp_dir  # an owner file lets a later run clean it up after a kill

    with temp_dir("edgekit-tfq-") as tmp:
        qbytes, extra = _quantize(job, float_bytes, tfl_inputs, spec, nhwc, Path(tmp))
    model = interface.read(qbytes)
    if s.activations in (AType.INT8, AType.INT16):
        interface.set_interface(model, s.io)
    metadata.tflite_set(model, metadata.QUANTIZATION, {**s.to_dict(), "kept": list(extra.get("fallback_layers", ())),
                                                       "fallback": extra.get("fallback")})
    if model_spec is not None:
        metadata.tflite_set(model, metadata.PREPROCESS, model_spec.to_json())
    write_bytes(job.output, interface.write(model), check=_run_once)
    # float ops inside an integer graph are worth naming; in a dynamic-range model every op is one
    inside = tuple(interface.float_ops(model)) if s.needs_calibration else ()
    return QuantizeResult(**base, ops=interface.op_counts(model), size=job.output.stat().st_size, float_ops=inside,
                          **extra)


def _quantize(job, float_bytes: bytes, inputs, spec, nhwc: bool, tmp: Path) -> tuple[bytes, dict]:
    """(quantized bytes, QuantizeResult fields) for the scheme; nothing written outside ``tmp``."""
    s = job.scheme
    extra: dict = {}
    if s.weights.dtype is WType.INT4:  # embedding tables as EMBEDDING_LOOKUP, which the int4 rule covers
        from .embedding import gathers_to_lookups

        model = interface.read(float_bytes)
        if gathers_to_lookups(model):
            float_bytes = interface.write(model)
    if not s.needs_calibration:
        qbytes = aeq.quantize(aeq.make_quantizer(float_bytes, s))
        if job.report is not None:
            extra["layers"] = tuple(_layers(float_bytes, qbytes, job, inputs, spec, nhwc))
        return qbytes, extra
    from ai_edge_quantizer import recipe_manager

    ds = open_calibration(job.calib, inputs, spec, job, nhwc)
    manager = recipe_manager.RecipeManager()
    manager.load_quantization_recipe(aeq.recipe(s))
    # edgekit makes integer the int8 ops the quantizer leaves float (complete.py); int16 has no such pass
    extra_names = complete.float_activation_ranges(interface.read(float_bytes)) if s.activations is AType.INT8 else []
    qsvs, ranges, n, secs = calibrate(float_bytes, manager, ds, extra_names)
    extra.update(calib_samples=n, calib_seconds=round(secs, 3), skipped=ds.skipped)
    qbytes = quantize_static(float_bytes, s, qsvs, ranges)
    if job.max_drop is not None:
        from ...quantize import fallback
        from .report import FALLBACK_OPS, tensor_errors

        def write(name, data):
            (tmp / name).write_bytes(data)
            return tmp / name

        def requantize(kept):
            return write(f"keep{len(kept)}.tflite", quantize_static(float_bytes, s, qsvs, ranges, kept, job.fallback))

        eval_ds = open_calibration(job.eval_data, inputs, spec, job, nhwc, sample=False)
        out = fallback.run(write("float.tflite", float_bytes), write("q.tflite", qbytes), requantize,
                           lambda path, samples: tensor_errors(float_bytes, path.read_bytes(), samples),
                           eval_ds, job.max_drop, FALLBACK_OPS, kept_as=job.fallback)
        qbytes = out.path.read_bytes()
        extra.update(out.fields(), float_layers=out.kept, fallback=job.fallback if out.kept else None)
    elif job.report is not None:
        extra["layers"] = tuple(_layers(float_bytes, qbytes, job, inputs, spec, nhwc))
    return qbytes, extra


def quantize_static(float_bytes: bytes, scheme, qsvs: dict, ranges: dict, kept=(), fallback: str = "float") -> bytes:
    """ai-edge-quantizer's static model, with the int8 activations it leaves float made integer."""
    qbytes = aeq.quantize(aeq.make_quantizer(float_bytes, scheme, kept=kept, fallback=fallback), qsvs)
    if scheme.activations is not AType.INT8:
        return qbytes
    model = interface.read(qbytes)
    return interface.write(model) if complete.integerize(model, ranges) else qbytes


def _layers(float_bytes, qbytes, job, inputs, spec, nhwc):
    from ...quantize.ranking import rank
    from .report import tensor_errors

    ds = open_calibration(job.calib, inputs, spec, job, nhwc)
    return rank(tensor_errors(float_bytes, qbytes, (f for f, _ in itertools.islice(ds, REPORT_SAMPLES))))


def _run_once(tmp) -> None:
    """The written file is loaded and run once in a child process before it replaces the output (issue 19)."""
    from ...validate import check_written

    check_written(tmp, "tflite")
