"""Options and results of ``edgekit.quantize``: enums and frozen dataclasses, no option dicts."""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError


class Mode(str, enum.Enum):
    STATIC = "static"    # INT8 weights and activations, calibrated (QDQ)
    DYNAMIC = "dynamic"  # INT8 weights, activations quantized at run time
    FP16 = "fp16"        # float16 weights and compute


class Method(str, enum.Enum):
    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


def coerce(enum_cls, value, what: str):
    """Accept the enum or its string value; a clear InputError otherwise."""
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(str(value).lower())
    except ValueError:
        choices = "|".join(m.value for m in enum_cls)
        raise InputError(f"unknown {what} {value!r}", f"choose {choices}", f"pass one of {choices}") from None


@dataclass(frozen=True)
class LayerError:
    """How much quantizing one node hurts: SQNR of its float output vs the INT8 model's, in dB.

    ``delta_db`` is the SQNR lost across the node (worst input SQNR minus output SQNR): the error this
    node adds on top of what reached it, which is what the fallback ranks by.
    """
    node: str
    op_type: str
    tensor: str
    sqnr_db: float
    delta_db: float
    kept_float: bool = False
    group: tuple[str, ...] = ()  # nodes quantized as one step (Conv+Relu): kept float together

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class QuantizeResult:
    output: Path
    mode: Mode
    target: str
    method: Method | None = None
    activations: str | None = None
    weights: str | None = None
    format: str | None = None
    per_channel: bool | None = None
    float_layers: tuple[str, ...] = ()   # every node kept in float by --exclude or the fallback
    fallback_layers: tuple[str, ...] = ()  # the ones the accuracy-aware fallback chose
    drop: float | None = None            # top-1 points lost vs float (or 100 - agreement % if unlabeled)
    drop_metric: str | None = None       # "top1" or "agreement"
    float_top1: float | None = None
    quant_top1: float | None = None
    budget_met: bool | None = None
    layers: tuple[LayerError, ...] = ()
    calib_samples: int = 0
    skipped: int = 0
    calib_seconds: float = 0.0
    spec: object = None

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["output"] = str(self.output)
        d["mode"] = self.mode.value
        d["method"] = self.method.value if self.method else None
        d["float_layers"], d["fallback_layers"] = list(self.float_layers), list(self.fallback_layers)
        d["layers"] = [layer.to_dict() for layer in self.layers]
        d["spec"] = self.spec.to_dict() if self.spec is not None else None
        return d
