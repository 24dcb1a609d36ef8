"""What every quantization returns, whatever the backend: frozen dataclasses, no dicts of options."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from .scheme import Scheme


@dataclass(frozen=True)
class LayerError:
    """How much quantizing one layer hurts: SQNR of its float output vs the quantized model's, in dB.

    ``delta_db`` is the SQNR lost across the layer (worst input SQNR minus output SQNR): the error it
    adds on top of what reached it, which the accuracy-aware fallback ranks by. ``node`` is what the
    backend keeps float by name (an ONNX node; a TFLite op, named by its output tensor).
    """
    node: str
    op_type: str
    tensor: str
    sqnr_db: float
    delta_db: float
    kept_float: bool = False
    group: tuple[str, ...] = ()   # nodes quantized as one step (ONNX Conv+Relu): kept float together
    dtype: str = ""               # storage type in the quantized model (TFLite: int8, int16, float32)
    max_abs_error: float | None = None
    kept_as: str = ""             # how the fallback kept it: "float" or "int16"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class QuantizeResult:
    """The written model and how it got there (``edgekit.quantize`` and ``edgekit.convert`` alike)."""
    output: Path
    format: str                              # "onnx" | "tflite"
    scheme: Scheme | None = None             # None: a float conversion (edgekit.convert without a scheme)
    target: str = ""
    size: int = 0                            # bytes of the written file
    ops: dict = field(default_factory=dict)  # op type -> count in the written model
    method: str | None = None                # calibration method (ONNX: minmax|entropy|percentile)
    qformat: str | None = None               # ONNX QDQ or QOperator
    io: str = "float"
    float_layers: tuple[str, ...] = ()       # kept in float by --exclude or the fallback
    fallback_layers: tuple[str, ...] = ()    # the ones the accuracy-aware fallback chose
    fallback: str | None = None              # how they were kept: "float" or "int16"
    float_ops: tuple[str, ...] = ()          # TFLite: ops computing in float inside the graph (not the I/O edges)
    drop: float | None = None                # top-1 points lost vs float (or 100 - agreement % if unlabeled)
    drop_metric: str | None = None           # "top1" or "agreement"
    float_top1: float | None = None
    quant_top1: float | None = None
    budget_met: bool | None = None
    layers: tuple[LayerError, ...] = ()
    calib_samples: int = 0
    skipped: int = 0
    calib_seconds: float = 0.0
    spec: object = None                      # the PreprocessSpec the data was read with (stored in the file)
    spec_origin: str | None = None           # "given", "stored in the model" or "defaults"
    sqnr_db: float | None = None             # the first output against float on a few samples
    warnings: tuple[str, ...] = ()
    input_layout: str | None = None          # TFLite: nchw or nhwc model input

    # A result stands for its output file, so code written when edgekit.convert returned a Path keeps
    # working: edgekit.load(result), open(result), str(result), result.stat(), result.read_bytes().
    def __fspath__(self) -> str:
        return str(self.output)

    def __str__(self) -> str:
        return str(self.output)

    def __getattr__(self, name: str):
        if name.startswith("_") or name == "output":
            raise AttributeError(name)
        return getattr(self.output, name)

    # names the two stacks used before they were merged (issue 12), kept for callers
    @property
    def mode(self) -> str:
        if self.scheme is None:
            return "float"
        return {"w8a8": "static", "w8-dynamic": "dynamic"}.get(self.scheme.name, self.scheme.name)

    @property
    def kept(self) -> tuple[str, ...]:
        return self.fallback_layers

    @property
    def tensors(self) -> tuple[LayerError, ...]:
        return self.layers

    @property
    def activations(self) -> str | None:
        return self.scheme.activations.value if self.scheme else None

    @property
    def weights(self) -> str | None:
        return self.scheme.weights.dtype.value if self.scheme else None

    @property
    def per_channel(self) -> bool | None:
        return self.scheme.per_channel if self.scheme else None

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["output"] = str(self.output)
        d["scheme"] = self.scheme.to_dict() if self.scheme else None
        for k in ("float_layers", "fallback_layers", "float_ops", "warnings"):
            d[k] = list(d[k])
        d["layers"] = [layer.to_dict() for layer in self.layers]
        d["spec"] = self.spec.to_dict() if self.spec is not None else None
        return d
