"""Quantization schemes as data: what the weights and activations become, independent of the format.

A ``Scheme`` is a frozen dataclass checked on construction; the named presets (``PRESETS``) are what
``edgekit quantize --scheme NAME`` and the target profiles' ``[quantize]`` table name. Backends
(backend.py) declare which schemes they implement for their format; docs/quantization.md has the table.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from ..errors import InputError
from ..targets import IOType  # the quantized model's input/output tensors


class SchemeError(InputError):
    """A scheme that does not exist, does not fit the format, or does not fit the model: nothing is written."""

    exit_code = 1


class WType(str, enum.Enum):
    """How weights are stored."""
    INT8 = "int8"
    INT4 = "int4"
    FP16 = "fp16"
    FLOAT = "float"


class AType(str, enum.Enum):
    """How activations are computed between ops."""
    INT8 = "int8"        # static, calibrated ranges
    UINT8 = "uint8"      # static, calibrated (x86 U8S8 kernels)
    INT16 = "int16"      # static, calibrated; INT8 weights (a16w8)
    DYNAMIC = "dynamic"  # quantized to int8 at run time from each input's own range (no calibration)
    FP16 = "fp16"
    FLOAT = "float"


class Granularity(str, enum.Enum):
    PER_TENSOR = "per-tensor"
    PER_CHANNEL = "per-channel"
    BLOCKWISE = "blockwise"  # one scale per ``block_size`` weights along the input dimension


STATIC = (AType.INT8, AType.UINT8, AType.INT16)
INTEGER_WEIGHTS = (WType.INT8, WType.INT4)
DEFAULT_BLOCK = 32
# onnxruntime's MatMulNBits takes powers of two from 16 (MatMulNBitsQuantizer), ai-edge-quantizer 32..256
# (qtyping.QuantGranularity BLOCKWISE_32..256): the sizes both backends take.
BLOCK_SIZES = (32, 64, 128, 256)


@dataclass(frozen=True)
class Weights:
    dtype: WType = WType.INT8
    granularity: Granularity = Granularity.PER_CHANNEL
    block_size: int | None = None
    symmetric: bool = True


@dataclass(frozen=True)
class Scheme:
    """One quantization scheme; ``name`` is the preset it came from (or a custom label)."""
    name: str
    weights: Weights
    activations: AType
    io: IOType = IOType.FLOAT

    def __post_init__(self):
        bad = _problem(self)
        if bad:
            raise SchemeError(f"impossible quantization scheme {self.name!r}", bad,
                             f"use one of the presets: {', '.join(PRESETS) if PRESETS else 'w8a8'}")

    @property
    def needs_calibration(self) -> bool:
        return self.activations in STATIC

    @property
    def blockwise(self) -> bool:
        return self.weights.granularity is Granularity.BLOCKWISE

    @property
    def per_channel(self) -> bool:
        return self.weights.granularity is not Granularity.PER_TENSOR

    def replace(self, **changes) -> "Scheme":
        """A copy with fields changed; ``block_size``/``per_channel``/``weights_symmetric`` reach into weights."""
        w = self.weights
        if "block_size" in changes:
            w = dataclasses.replace(w, block_size=changes.pop("block_size"))
        if "per_channel" in changes and not self.blockwise:
            w = dataclasses.replace(w, granularity=Granularity.PER_CHANNEL if changes.pop("per_channel")
                                    else Granularity.PER_TENSOR)
        changes.pop("per_channel", None)
        return dataclasses.replace(self, weights=w, **changes)

    def describe(self) -> str:
        w = self.weights
        gran = f"blockwise {w.block_size}" if self.blockwise else w.granularity.value
        weights = f"{w.dtype.value} {gran}" if w.dtype in INTEGER_WEIGHTS else w.dtype.value
        return f"{self.name}: weights {weights}, activations {self.activations.value}, io {self.io.value}"

    def to_dict(self) -> dict:
        w = self.weights
        return {"name": self.name, "weights": w.dtype.value, "granularity": w.granularity.value,
                "block_size": w.block_size, "symmetric": w.symmetric, "activations": self.activations.value,
                "io": self.io.value}


def _problem(s: Scheme) -> str | None:
    w, a = s.weights, s.activations
    if w.granularity is Granularity.BLOCKWISE:
        if w.block_size not in BLOCK_SIZES:
            return f"block size must be one of {', '.join(map(str, BLOCK_SIZES))}, got {w.block_size}"
    elif w.block_size is not None:
        return "a block size needs blockwise weights"
    if w.dtype is WType.INT4 and w.granularity is not Granularity.BLOCKWISE:
        return "int4 weights are blockwise (one scale per block of input weights)"
    if w.dtype not in INTEGER_WEIGHTS and w.granularity is not Granularity.PER_CHANNEL:
        return f"{w.dtype.value} weights have no quantization granularity"
    if a is AType.INT16 and w.dtype is not WType.INT8:
        return "int16 activations go with int8 weights (a16w8)"
    if a in (AType.INT8, AType.UINT8) and w.dtype is WType.INT4 and s.io is not IOType.FLOAT:
        return "int4 weights keep a float model interface"
    if a in STATIC + (AType.DYNAMIC,) and w.dtype not in INTEGER_WEIGHTS:
        return f"{a.value} activations need integer weights, got {w.dtype.value}"
    if (a is AType.FP16) != (w.dtype is WType.FP16):
        return "fp16 weights and fp16 compute go together"
    if w.dtype is WType.FLOAT and a is not AType.FLOAT:
        return "float weights with quantized activations is not a scheme"
    if s.io is not IOType.FLOAT and a not in (AType.INT8, AType.UINT8):
        return f"--io {s.io.value} needs static int8 activations, the scheme has {a.value}"
    return None


_W8 = Weights(WType.INT8, Granularity.PER_CHANNEL)
_W4 = Weights(WType.INT4, Granularity.BLOCKWISE, DEFAULT_BLOCK)
PRESETS: dict[str, Scheme] = {}
PRESETS.update({
    "w8a8": Scheme("w8a8", _W8, AType.INT8),
    "w8a16": Scheme("w8a16", _W8, AType.INT16),
    "w8-dynamic": Scheme("w8-dynamic", _W8, AType.DYNAMIC),
    "w4": Scheme("w4", _W4, AType.FLOAT),
    "w4a8": Scheme("w4a8", _W4, AType.DYNAMIC),
    "fp16": Scheme("fp16", Weights(WType.FP16), AType.FP16),
})
# the flags that existed before schemes: --mode static|dynamic|fp16, convert --int8/--dynamic/--fp16
ALIASES = {"static": "w8a8", "int8": "w8a8", "dynamic": "w8-dynamic"}


def get_scheme(value: "Scheme | str | None", default: str = "w8a8") -> Scheme:
    """A preset by name (or alias), or the Scheme itself; one line naming the presets otherwise."""
    if isinstance(value, Scheme):
        return value
    name = str(value if value is not None else default).strip().lower()
    name = ALIASES.get(name, name)
    if name not in PRESETS:
        raise SchemeError(f"unknown quantization scheme {value!r}", f"the schemes are {', '.join(PRESETS)}",
                         "pass --scheme with one of them (docs/quantization.md has the table)")
    return PRESETS[name]
