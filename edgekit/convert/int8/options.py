"""Options and result of TFLite INT8 quantization: enums and frozen dataclasses, no option dicts."""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from pathlib import Path

from ...targets import IOType


class Fallback(str, enum.Enum):
    """What the accuracy-aware mode does with a sensitive op."""
    FLOAT = "float"   # run it in float32 between DEQUANTIZE/QUANTIZE (XNNPACK runs it fast)
    INT16 = "int16"   # int16 activations, int8 weights (a16w8; LiteRT reference kernels, no XNNPACK)


class RangeUpdate(str, enum.Enum):
    """How per-sample activation ranges are merged during calibration."""
    MINMAX = "minmax"            # global min/max, as onnxruntime's MinMax calibrator (same ranges for both formats)
    MOVING_AVERAGE = "moving_average"  # ai-edge-quantizer's default


@dataclass(frozen=True)
class Int8Options:
    io: IOType = IOType.FLOAT
    target: str | None = None
    calib_size: int | None = None
    max_drop: float | None = None      # top-1 points (or 100 - agreement % on unlabeled data)
    dynamic: bool = False              # weights-only int8, float activations quantized at run time
    fallback: Fallback = Fallback.FLOAT
    ranges: RangeUpdate = RangeUpdate.MINMAX
    seed: int = 0
    strict: bool = False

    @classmethod
    def make(cls, io="float", target=None, calib_size=None, max_drop=None, dynamic=False,
             fallback="float", ranges="minmax", seed=0, strict=False) -> "Int8Options":
        from ...quantize.config import coerce

        return cls(coerce(IOType, io, "--io type"), None if target is None else str(target), calib_size,
                   None if max_drop is None else float(max_drop), bool(dynamic),
                   coerce(Fallback, fallback, "fallback"), coerce(RangeUpdate, ranges, "range update"), seed, strict)


@dataclass(frozen=True)
class TensorError:
    """Float vs quantized value of one activation tensor, over the report samples."""
    tensor: str
    op: str
    dtype: str                 # storage type in the quantized model (int8, int16, float32)
    sqnr_db: float
    max_abs_error: float
    delta_db: float = 0.0      # SQNR lost across the producing op (its worst input's SQNR minus its own)
    kept: str = ""             # "float" / "int16" when the accuracy-aware mode kept the producing op

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Int8Result:
    output: Path
    mode: str                                  # "static" or "dynamic"
    io: str
    ops: dict = field(default_factory=dict)    # op type -> count in the written model
    float_ops: tuple[str, ...] = ()            # ops computing in float inside the graph (not the I/O edges)
    kept: tuple[str, ...] = ()                 # output tensors of ops the accuracy-aware mode kept
    fallback: str | None = None
    drop: float | None = None
    drop_metric: str | None = None
    float_top1: float | None = None
    quant_top1: float | None = None
    budget_met: bool | None = None
    calib_samples: int = 0
    calib_seconds: float = 0.0
    skipped: int = 0                           # unreadable calibration files skipped (without --strict)
    tensors: tuple[TensorError, ...] = ()

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["output"] = str(self.output)
        d["float_ops"], d["kept"] = list(self.float_ops), list(self.kept)
        d["tensors"] = [t.to_dict() for t in self.tensors]
        return d
