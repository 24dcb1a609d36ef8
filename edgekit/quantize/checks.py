"""Argument checks of every quantization, once: they run before any model is read, so a bad flag fails
in one line and fast, and nothing is written."""
from __future__ import annotations

import warnings
from pathlib import Path

from ..errors import EdgekitWarning, InputError
from .scheme import Scheme, SchemeError


def check_source(model) -> Path:
    src = Path(model)
    if not src.is_file():
        raise InputError(f"model {src} not found", "no such file", "check the path")
    if src.suffix.lower() != ".onnx":
        raise InputError(f"{src.name} is not an ONNX model", "edgekit quantizes the float .onnx model "
                         "(a .tflite output is converted from it in the same step)", "pass the .onnx model")
    return src


def check_output_path(src: Path, output, what: str = "-o OUT.onnx") -> Path:
    from .._io import check_output

    if output is None:
        raise InputError("no output path", f"{what} is required", f"pass {what}")
    out = Path(output)
    if out.resolve() == src.resolve():
        raise InputError("the output would overwrite the source model", f"both are {src}",
                         "write to another path (-o model.int8.onnx)")
    check_output(out)
    return out


def check_args(scheme: Scheme, *, calib=None, max_drop=None, eval_data=None, report=None, fallback="float") -> None:
    """The checks that depend on the scheme and the optional arguments, not on the model."""
    if max_drop is not None and (isinstance(max_drop, bool) or not isinstance(max_drop, (int, float))
                                 or max_drop < 0):
        raise InputError("--max-drop must be a number of top-1 points >= 0", f"got {max_drop!r}", "e.g. --max-drop 0.5")
    if max_drop is not None and eval_data is None:
        raise InputError("--max-drop needs --eval DATA", "the drop is measured on labeled (or reference) data",
                         "add --eval with a data folder or file, or drop --max-drop")
    if max_drop is not None and not scheme.needs_calibration:
        raise InputError(f"--max-drop works with a calibrated scheme (w8a8, w8a16), not {scheme.name}",
                         f"{scheme.name} has no calibrated layers to keep float", "drop one of the two")
    if fallback not in ("float", "int16"):
        raise InputError(f"unknown fallback {fallback!r}", "a kept layer runs in float or with int16 activations",
                         "pass float or int16")
    if report is not None and Path(report).suffix.lower() not in (".json", ".md"):
        raise InputError(f"report file {report} must end in .json or .md", "the extension picks the format",
                         "rename it")
    if scheme.needs_calibration and calib is None:
        raise InputError(f"scheme {scheme.name} needs calibration data",
                         "its activation ranges come from running real samples",
                         "pass --calib DATA (image folder, .npy/.npz), or use a scheme without calibration "
                         "(w8-dynamic, w4, fp16)")
    if report is not None and calib is None:
        raise InputError("--report needs --calib DATA", "the per-layer error is measured on samples",
                         "add --calib (any scheme takes it for the report), or drop --report")
    if calib is not None and not scheme.needs_calibration and report is None:
        warnings.warn(f"scheme {scheme.name} needs no calibration data: --calib is used only to measure the "
                      "result's error against float", EdgekitWarning, stacklevel=3)


def check_block_size(scheme: Scheme, block_size) -> Scheme:
    """``--block-size`` applies to blockwise schemes only; the Scheme checks the value."""
    if block_size is None:
        return scheme
    if not scheme.blockwise:
        raise SchemeError(f"--block-size applies to blockwise schemes (w4, w4a8), not {scheme.name}",
                         f"{scheme.name} has {scheme.weights.granularity.value} weights", "drop --block-size")
    return scheme.replace(block_size=int(block_size))
