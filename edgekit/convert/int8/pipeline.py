"""Float TFLite bytes -> INT8 TFLite bytes: checks, calibration, quantization, fallback, interface."""
from __future__ import annotations

import itertools
from pathlib import Path

from ...errors import InputError, TargetError
from ...targets import IOType, QType
from . import aeq, complete, interface
from .calibrate import calibrate, onnx_layout, open_calibration, signature_inputs
from .options import Int8Options, Int8Result

REPORT_SAMPLES = 16  # samples behind the per-tensor report (SQNR is stable well before that on small nets)



def require_quantizer() -> None:
    """Fail fast, with the install command, when the optional ai-edge-quantizer is missing."""
    try:
        import ai_edge_quantizer  # noqa: F401
    except ImportError:
        from ...errors import DependencyError

        raise DependencyError("INT8 TFLite needs ai-edge-quantizer", "it is not installed",
                              "pip install 'edgekit[tflite-int8]'") from None

def check(options: Int8Options, calib, eval_data, report) -> None:
    """Every argument problem, before any conversion work."""
    from ...targets import get_target

    if not options.dynamic and calib is None:
        raise InputError("--int8 needs calibration data", "static INT8 ranges come from running real samples",
                         "pass --calib DATA (image folder, .npy/.npz), or use --dynamic for weights-only int8")
    if options.max_drop is not None:
        if eval_data is None:
            raise InputError("--max-drop needs --eval DATA", "the drop is measured on labeled (or reference) data",
                             "add --eval with a data folder or file, or drop --max-drop")
        if options.max_drop < 0:
            raise InputError("--max-drop must be >= 0 top-1 points", f"got {options.max_drop}", "e.g. --max-drop 0.5")
        if options.dynamic:
            raise InputError("--max-drop works with static INT8", "--dynamic keeps activations float",
                             "drop one of the two")
    if options.dynamic and options.io is not IOType.FLOAT:
        raise InputError(f"--io {options.io.value} needs static INT8", "--dynamic keeps float inputs and outputs",
                         "drop --dynamic (and pass --calib) or use --io float")
    if report is not None and calib is None:
        raise InputError("--report needs --calib DATA", "the per-tensor error is measured on samples",
                         "add --calib (with --dynamic too), or drop --report")
    if report is not None and Path(report).suffix.lower() not in (".json", ".md"):
        raise InputError(f"report file {report} must end in .json or .md", "the extension picks the format",
                         "rename it")
    require_quantizer()
    tgt = get_target(options.target)
    q = tgt.tflite_int8
    if options.io not in q.io_types:
        kinds = "|".join(t.value for t in q.io_types)
        raise TargetError(f"--io {options.io.value} is not supported on target {tgt.name}",
                          f"its TFLite runtime has kernels for {kinds} model inputs/outputs only",
                          f"use --io {q.io_types[0].value}, or another --target")
    if q.activations is not QType.INT8 or q.weights is not QType.INT8:
        raise TargetError(f"target {tgt.name} asks for TFLite {q.activations.value} activations / "
                          f"{q.weights.value} weights",
                          "TFLite's integer kernels use int8 (uint8 is the legacy scheme)",
                          "set [int8.tflite] activations/weights = \"int8\" in the target file")


def quantize_bytes(float_bytes: bytes, options: Int8Options, calib=None, spec=None, eval_data=None,
                   report: bool = False, output: Path = Path("model.tflite"), spec_json: str | None = None,
                   nhwc: bool = False) -> tuple[bytes, Int8Result]:
    """Quantize the converter's float model; nothing is written here (the caller writes atomically).

    ``spec`` is in the ONNX model's layout: data is read as for the ONNX model and transposed when
    the TFLite input is NHWC (``nhwc``)."""
    extra: dict = {}
    if options.dynamic:
        qbytes = aeq.quantize(aeq.make_quantizer(float_bytes, dynamic=True))
        if report and calib is not None:
            extra["tensors"] = tuple(_report(float_bytes, qbytes, calib, spec, options, nhwc))
    else:
        from ai_edge_quantizer import recipe, recipe_manager

        inputs = signature_inputs(float_bytes)
        ds = open_calibration(calib, inputs, spec, options, nhwc)
        manager = recipe_manager.RecipeManager()
        manager.load_quantization_recipe(recipe.static_wi8_ai8())
        extra_names = complete.float_activation_ranges(interface.read(float_bytes))
        qsvs, ranges, n, secs = calibrate(float_bytes, manager, ds, options.ranges, extra_names)
        extra.update(calib_samples=n, calib_seconds=round(secs, 3), skipped=ds.skipped)
        qbytes = quantize_static(float_bytes, qsvs, ranges)
        if options.max_drop is not None:
            from . import fallback

            eval_ds = open_calibration(eval_data, inputs, spec, Int8Options(seed=options.seed), nhwc)
            fb = fallback.run(float_bytes, qbytes, lambda kept: quantize_static(float_bytes, qsvs, ranges, kept,
                                                                               options.fallback), eval_ds, options)
            qbytes = fb.pop("bytes")
            extra.update(fb, fallback=options.fallback.value if fb["kept"] else None)
        elif report:
            extra["tensors"] = tuple(_report(float_bytes, qbytes, calib, spec, options, nhwc))
    model = interface.read(qbytes)
    if not options.dynamic:
        interface.set_interface(model, options.io)
    meta = {"mode": "dynamic" if options.dynamic else "static", "io": options.io.value,
            "weights": "int8 per-channel", "activations": "float" if options.dynamic else "int8",
            "kept": list(extra.get("kept", ())), "fallback": extra.get("fallback")}
    interface.set_metadata(model, "edgekit.quantization", meta)
    if spec_json is not None:  # the spec calibration used, in the TFLite input's layout
        interface.set_metadata(model, "edgekit.preprocess", spec_json)
    result = Int8Result(output=Path(output), mode=meta["mode"], io=options.io.value if not options.dynamic else "float",
                        ops=interface.op_counts(model), float_ops=tuple(interface.float_ops(model)), **extra)
    return interface.write(model), result


def quantize_static(float_bytes: bytes, qsvs: dict, ranges: dict, kept=(), fallback=None) -> bytes:
    """ai-edge-quantizer's static int8 model, with the activations it leaves float made integer."""
    qbytes = aeq.quantize(aeq.make_quantizer(float_bytes, kept=kept, **({"fallback": fallback} if fallback else {})),
                          qsvs)
    model = interface.read(qbytes)
    return interface.write(model) if complete.integerize(model, ranges) else qbytes


def _report(float_bytes, qbytes, calib, spec, options, nhwc):
    from .report import tensor_errors

    ds = open_calibration(calib, signature_inputs(float_bytes), spec, options, nhwc)
    return tensor_errors(float_bytes, qbytes, (f for f, _ in itertools.islice(ds, REPORT_SAMPLES)))


def convert_int8(model, output, convert_options, options: Int8Options, calib=None, spec=None, eval_data=None,
                 report=None, progress: bool = False) -> Int8Result:
    """ONNX model -> INT8 TFLite at ``output`` (atomic; nothing is written before everything succeeded)."""
    from ..._io import write_bytes
    from .. import lower_model
    from ..writer import serialize
    from .calibrate import resolve_spec

    from ..._io import check_output

    check(options, calib, eval_data, report)
    check_output(output)
    if report is not None:
        check_output(report, "report file")
    float_bytes = bytes(serialize(lower_model(model, convert_options, progress=progress)))
    stored = None
    if spec is None and isinstance(model, (str, Path)):
        from ...data import read_spec

        stored = read_spec(model)
    nhwc = convert_options.input_layout.value == "nhwc"
    tfl_inputs = signature_inputs(float_bytes)
    read_spec_ = resolve_spec(onnx_layout(tfl_inputs, nhwc)[0], spec, stored)  # how the data is read
    model_spec = resolve_spec(tfl_inputs, read_spec_)                          # what the TFLite input takes
    data, result = quantize_bytes(float_bytes, options, calib, read_spec_, eval_data, report is not None,
                                  Path(output), spec_json=model_spec.to_json() if model_spec else None, nhwc=nhwc)
    write_bytes(output, data)
    if report is not None:
        from .report import write_report

        write_report(result, report)
    return result
