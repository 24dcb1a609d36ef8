"""Static INT8 through onnxruntime.quantization: pre-process, calibrate once, write QDQ/QOperator.

Calibration ranges are computed once and cached (onnxruntime's ``calibration_cache_path``), so the
accuracy-aware fallback re-quantizes with other excluded nodes without re-running calibration.
"""
from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path

from ..errors import EdgekitError, EdgekitWarning, QuantizeError
from ..ui import progress
from .calib import calibrate
from .config import Method

# QuantizeLinear/DequantizeLinear exist from opset 10; the per-axis (per-channel) form from opset 13
# (onnx/docs/Changelog.md, QuantizeLinear-13 adds the `axis` attribute).
MIN_OPSET = 10
MIN_OPSET_PER_CHANNEL = 13


class DatasetReader:
    """onnxruntime CalibrationDataReader over an edgekit Dataset, ticking a progress bar per batch.

    ``chunk_left`` makes it end early (return None) after that many samples, so the calibrator can
    be fed the set chunk by chunk; ``has_more`` looks one sample ahead.
    """

    def __init__(self, dataset, desc: str = "calibrating"):
        self.dataset, self.desc = dataset, desc
        self.samples = 0
        self.chunk_left: int | None = None
        self.done = False
        self._it = None
        self._pending = None

    def has_more(self) -> bool:
        if self._it is None:
            self._it = iter(progress(self.dataset, total=self.dataset.count, desc=self.desc, unit="batch"))
        if self._pending is None and not self.done:
            try:
                self._pending = next(self._it)[0]
            except StopIteration:
                self.done = True
        return self._pending is not None

    def get_next(self):
        if (self.chunk_left is not None and self.chunk_left <= 0) or not self.has_more():
            return None
        item, self._pending = self._pending, None
        self.samples += 1
        if self.chunk_left is not None:
            self.chunk_left -= 1
        return item

    def __iter__(self):
        return self

    def __next__(self):
        item = self.get_next()
        if item is None:
            raise StopIteration
        return item

    def __len__(self):
        return self.dataset.count or 0


def opset_of(model) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 0


def check_opset(model, path, per_channel: bool) -> None:
    opset = opset_of(model)
    fix = "re-export at opset >= 13, or upgrade it: onnx.version_converter.convert_version(model, 13)"
    if opset < MIN_OPSET:
        raise QuantizeError(f"{Path(path).name} uses opset {opset}",
                            f"onnxruntime.quantization needs QuantizeLinear, which exists from opset {MIN_OPSET}", fix)
    if per_channel and opset < MIN_OPSET_PER_CHANNEL:
        raise QuantizeError(f"{Path(path).name} uses opset {opset}",
                            f"per-channel weights need per-axis QuantizeLinear (opset {MIN_OPSET_PER_CHANNEL})",
                            fix + ", or pass --per-tensor")


def preprocess(src: Path, dst: Path) -> None:
    """onnxruntime's quant_pre_process (shape inference + basic fusions such as Conv+BatchNorm)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    # quant_pre_process logs a full traceback at ERROR level when its optimizer step fails and then
    # carries on; api.quantize checked that the model loads, so such a failure is not the user's to read.
    ort_log = logging.getLogger("onnxruntime.quantization.shape_inference")
    level = ort_log.level
    ort_log.setLevel(logging.CRITICAL)
    try:
        quant_pre_process(str(src), str(dst))
    except Exception as exc:  # symbolic shape inference gives up on some graphs: retry without it
        logging.getLogger("edgekit").debug("quant_pre_process failed (%s); retrying without symbolic shapes", exc)
        try:
            quant_pre_process(str(src), str(dst), skip_symbolic_shape=True)
        except Exception as exc2:
            raise QuantizeError(f"cannot prepare {src.name} for quantization", str(exc2).splitlines()[0],
                                "check the model with onnx.checker.check_model") from exc2
    finally:
        ort_log.setLevel(level)
    import onnx

    model = onnx.load(str(dst))
    # The quantizer excludes nodes by name; give unnamed nodes stable names so every layer is addressable.
    seen = set()
    for i, node in enumerate(model.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{i}"
        seen.add(node.name)
    # Weights go to a side file (onnx external data) so the calibration graph, the same graph plus
    # probes, can be written and loaded without copying them (calib._augment).
    onnx.save(model, str(dst), save_as_external_data=True, all_tensors_to_one_file=True,
              location=dst.name + ".data", size_threshold=1024)


def check_loads(src: Path) -> None:
    """An invalid graph (wrong input types, unknown ops) fails here, in one line, before any calibration."""
    import onnxruntime as ort

    from ..errors import ModelError

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # a load check, nothing more
    opts.log_severity_level = 3
    try:
        ort.InferenceSession(str(src), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelError(f"onnxruntime cannot load {src.name}", why.split(" : ")[-1],
                         "check that the file is a complete, valid ONNX model") from exc


def resolve_excludes(model, patterns) -> list[str]:
    """Node names matching each pattern (a node name or an op type); warn for patterns matching nothing."""
    names = []
    for pat in patterns:
        hits = [n.name for n in model.graph.node if n.name == pat or n.op_type == pat]
        if not hits:
            warnings.warn(f"--exclude {pat!r} matches no node name or op type in the model; nothing excluded for it"
                          f" ({_valid_names(model, pat)})", EdgekitWarning, stacklevel=3)
        names += [h for h in hits if h not in names]
    return names


def _valid_names(model, pat: str) -> str:
    """What --exclude could have said: the closest node names and the model's op types."""
    import difflib

    types = sorted({n.op_type for n in model.graph.node})
    close = difflib.get_close_matches(pat, [n.name for n in model.graph.node if n.name] + types, n=3, cutoff=0.5)
    return (f"closest: {', '.join(close)}; " if close else "") + f"op types here: {', '.join(types)}"


def _qtype(name: str):
    from onnxruntime.quantization import QuantType

    return {"uint8": QuantType.QUInt8, "int16": QuantType.QInt16}.get(str(name), QuantType.QInt8)


def _calib_method(method: Method):
    from onnxruntime.quantization import CalibrationMethod

    return {Method.MINMAX: CalibrationMethod.MinMax, Method.ENTROPY: CalibrationMethod.Entropy,
            Method.PERCENTILE: CalibrationMethod.Percentile}[method]


def quantize_static(pre: Path, out: Path, reader, cache: Path, *, activations: str, weights: str, fmt: str,
                    per_channel: bool, method: Method, exclude=()) -> float:
    """Write the INT8 model; returns calibration seconds (0 when the cached ranges were reused).

    Ranges are computed once into ``cache`` (onnxruntime's calibration cache format); later calls
    with other ``exclude`` sets reuse them.
    """
    from onnxruntime.quantization import QuantFormat, quantize_static as ort_quantize_static

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # onnxruntime logs "please pre-process" warnings through the root logger
    try:
        secs = 0.0
        if not cache.is_file():
            t0 = time.perf_counter()
            calibrate(pre, reader, cache, method, cache.parent)
            secs = time.perf_counter() - t0
        ort_quantize_static(
            str(pre), str(out), None,
            quant_format=QuantFormat.QOperator if str(fmt).endswith("qoperator") else QuantFormat.QDQ,
            per_channel=per_channel, activation_type=_qtype(activations), weight_type=_qtype(weights),
            nodes_to_exclude=list(exclude), calibrate_method=_calib_method(method),
            calibration_cache_path=str(cache),
            # int16 QuantizeLinear exists from opset 21; before that onnxruntime's com.microsoft
            # Q/DQ ops carry it (onnxruntime.quantization docs, "16-bit QDQ").
            extra_options={"UseQDQContribOps": True} if activations == "int16" else {})
    except (EdgekitError, KeyboardInterrupt):  # data/argument errors already say what to do
        raise
    except Exception as exc:
        if isinstance(exc.__cause__, EdgekitError):
            raise exc.__cause__ from None
        raise QuantizeError("onnxruntime.quantization failed", str(exc).splitlines()[0] if str(exc) else
                            type(exc).__name__, "rerun with --debug; try --exclude on the node it names") from exc
    finally:
        root.setLevel(level)
    return secs

