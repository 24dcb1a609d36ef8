"""The preprocessing spec: how an image becomes a model input, frozen and stored in the model.

A spec travels with the model (ONNX ``metadata_props`` under ``METADATA_KEY``) so that quantize,
eval, profile and bundle all feed the network what it was trained on unless told otherwise.
"""
from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..limits import MAX_SIDE

METADATA_KEY = "edgekit.preprocess"


class Color(str, enum.Enum):
    RGB = "rgb"
    GRAY = "gray"


class Layout(str, enum.Enum):
    NCHW = "nchw"
    NHWC = "nhwc"


_DTYPES = ("float32", "float16", "float64", "uint8", "int8")


@dataclass(frozen=True)
class PreprocessSpec:
    """Image -> tensor. ``size`` is (height, width); None means "the model's input size".

    With ``resize_shorter`` the shorter side is resized to that many pixels and, if ``center_crop``,
    the centre ``size`` is cut out; without it the image is resized straight to ``size``. ``mean``
    and ``std`` are on the 0..1 scale when ``scale`` is set; one value applies to every channel.
    """

    color: Color = Color.RGB
    size: tuple[int, int] | None = None
    resize_shorter: int | None = None
    center_crop: bool = True
    scale: bool = True
    mean: tuple[float, ...] = (0.0,)
    std: tuple[float, ...] = (1.0,)
    layout: Layout = Layout.NCHW
    dtype: str = "float32"

    def __post_init__(self):
        _check(self)

    @property
    def channels(self) -> int:
        return 3 if self.color is Color.RGB else 1

    def input_shape(self) -> tuple[int, ...]:
        """The tensor shape ``preprocess_image`` returns (batch dim 1)."""
        if self.size is None:
            raise InputError("the preprocessing spec has no size", "the model input size is dynamic",
                             "give a --preprocess file with \"size\": [H, W]")
        h, w = self.size
        return (1, self.channels, h, w) if self.layout is Layout.NCHW else (1, h, w, self.channels)

    def replace(self, **changes) -> "PreprocessSpec":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {"color": self.color.value, "size": list(self.size) if self.size else None,
                "resize": self.resize_shorter, "center_crop": self.center_crop, "scale": self.scale,
                "mean": list(self.mean), "std": list(self.std), "layout": self.layout.value, "dtype": self.dtype}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict, origin: str = "spec") -> "PreprocessSpec":
        return cls(**_fields(data, origin))

    @classmethod
    def from_json(cls, text: str, origin: str = "spec") -> "PreprocessSpec":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{origin} is not valid JSON", str(exc), "fix the syntax") from exc
        return cls.from_dict(data, origin)


def _check(spec: PreprocessSpec) -> None:
    bad = None
    if spec.size is not None and (len(spec.size) != 2 or not 0 < min(spec.size) <= max(spec.size) <= MAX_SIDE):
        bad = f"size must be two numbers (height, width) from 1 to {MAX_SIDE}, got {spec.size}"
    elif spec.resize_shorter is not None and not 0 < spec.resize_shorter <= MAX_SIDE:
        bad = f"resize must be 1 to {MAX_SIDE} pixels, got {spec.resize_shorter}"
    elif any(s == 0 for s in spec.std):
        bad = f"std must not contain 0, got {spec.std}"
    elif len(spec.mean) not in (1, spec.channels) or len(spec.std) not in (1, spec.channels):
        bad = f"mean/std need 1 or {spec.channels} values for {spec.color.value}, got {spec.mean}/{spec.std}"
    elif spec.dtype not in _DTYPES:
        bad = f"dtype must be one of {', '.join(_DTYPES)}, got {spec.dtype!r}"
    if bad:
        raise InputError("invalid preprocessing spec", bad, "fix the flag or the --preprocess file")


def _fields(data: dict, origin: str) -> dict:
    """Keys of a JSON/TOML spec (the CLI flag names) -> PreprocessSpec field values; only keys present."""
    if not isinstance(data, dict):
        raise InputError(f"{origin} must be a table/object of preprocessing keys", f"got {type(data).__name__}",
                         "see docs/quantization.md")
    known = {"color", "size", "resize", "resize_shorter", "center_crop", "scale", "mean", "std", "layout", "dtype"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{origin}: unknown preprocessing key {unknown[0]!r}", f"known keys: {', '.join(sorted(known))}",
                         "remove or rename it")
    out = {}
    try:
        for key, value in data.items():
            if key == "color":
                out["color"] = Color(str(value).lower())
            elif key == "layout":
                out["layout"] = Layout(str(value).lower())
            elif key == "size":
                out["size"] = None if value is None else _size(value)
            elif key in ("resize", "resize_shorter"):
                out["resize_shorter"] = None if value is None else int(value)
            elif key in ("mean", "std"):
                out[key] = tuple(float(v) for v in (value if isinstance(value, (list, tuple)) else [value]))
            elif key in ("center_crop", "scale"):
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
                out[key] = value
            else:
                out["dtype"] = str(value)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{origin}: bad value for {key!r}", f"{value!r} ({exc})", "see docs/quantization.md") from None
    return out


def _size(value) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    h, w = (int(v) for v in value)
    return (h, w)


# ImageNet statistics on the 0..1 scale (torchvision.transforms reference recipe): resize the shorter
# side to 256, centre-crop 224.
imagenet = PreprocessSpec(color=Color.RGB, size=(224, 224), resize_shorter=256, center_crop=True, scale=True,
                          mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225), layout=Layout.NCHW)
PRESETS = {"imagenet": imagenet}


def _is_dim(d) -> bool:
    return isinstance(d, int) and d > 0


def spec_for_input(shape, dtype: str = "float32") -> PreprocessSpec | None:
    """Default spec from a model input shape, or None when the input does not look like an image.

    ``1x3xHxW`` -> RGB NCHW, ``1xHxWx3`` -> RGB NHWC, one channel -> grayscale; a leading batch dim may
    be missing (``3xHxW`` / ``HxWx3``). Dynamic H/W leave ``size`` None.
    """
    dims = [int(d) if isinstance(d, int) or (hasattr(d, "__index__") and not isinstance(d, bool)) else None
            for d in shape]
    dims = [d if d is not None and d > 0 else None for d in dims]
    if len(dims) == 3:
        dims = [1, *dims]
    if len(dims) != 4:
        return None
    kind = "float32" if str(dtype) not in _DTYPES else str(dtype)
    if dims[1] in (1, 3):
        layout, c, hw = Layout.NCHW, dims[1], dims[2:]
    elif dims[3] in (1, 3):
        layout, c, hw = Layout.NHWC, dims[3], dims[1:3]
    else:
        return None
    size = tuple(hw) if all(_is_dim(d) for d in hw) else None
    return PreprocessSpec(color=Color.RGB if c == 3 else Color.GRAY, size=size, layout=layout, dtype=kind,
                          scale=kind.startswith("float"))


def load_spec_file(value: str) -> dict:
    """``--preprocess FILE|PRESET`` -> the keys it sets (a preset sets every key)."""
    if value in PRESETS:
        d = PRESETS[value].to_dict()
        d.pop("size")  # the model's input size wins over the preset's 224
        return _fields(d, value)
    path = Path(value)
    if not path.is_file():
        raise InputError(f"preprocessing file {value} not found",
                         f"it is neither a file nor a preset ({', '.join(PRESETS)})", "check the path")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".toml":
        try:
            import tomllib
        except ModuleNotFoundError:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"preprocessing file {value} is not valid TOML", str(exc), "fix the syntax") from exc
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"preprocessing file {value} is not valid JSON", str(exc),
                             "fix the syntax (or name it .toml)") from exc
    return _fields(data, f"preprocessing file {value}")


def write_spec(model_proto, spec: PreprocessSpec | None):
    """Store ``spec`` in the model's ``metadata_props`` (replacing an older one). Returns the proto."""
    if spec is not None:
        from ..metadata import onnx_set

        onnx_set(model_proto, METADATA_KEY, spec.to_json())
    return model_proto


def read_spec(model_path) -> PreprocessSpec | None:
    """The spec stored in an ONNX or TFLite model, or None (no spec, or another kind of file)."""
    from ..metadata import read_spec as _read

    return _read(model_path)


GIVEN, STORED, DEFAULTS = "given", "stored in the model", "defaults"


def resolve_spec(natural: PreprocessSpec | None, given: PreprocessSpec | None = None,
                 stored: PreprocessSpec | None = None) -> tuple[PreprocessSpec | None, str]:
    """The preprocessing rule every command follows: given > stored in the model > the input's defaults.

    ``natural`` is ``spec_for_input`` of the model input the data feeds; its layout and fixed size
    always win (any other could only fail at run time, and a TFLite conversion of an NCHW model may
    take NHWC). Returns the spec and where it came from (GIVEN, STORED or DEFAULTS).
    """
    base, origin = (given, GIVEN) if given is not None else (stored, STORED)
    if base is None:
        return natural, DEFAULTS
    if natural is not None:
        if base.layout is not natural.layout:
            base = base.replace(layout=natural.layout)
        if natural.size is not None:
            base = base.replace(size=natural.size)
    return base, origin


def choose_spec(natural, given=None, stored=None) -> PreprocessSpec | None:
    """``resolve_spec`` without the origin."""
    return resolve_spec(natural, given, stored)[0]


def describe(spec: PreprocessSpec | None) -> str:
    """One line for a result table: what is done to an image before the model sees it."""
    if spec is None:
        return "none (not an image input)"
    size = "x".join(map(str, spec.size)) if spec.size else "model size"
    parts = [f"{spec.color.value} {size} {spec.layout.value}"]
    if spec.resize_shorter:
        parts.append(f"resize {spec.resize_shorter}" + (" + centre crop" if spec.center_crop else ""))
    parts.append("0..1" if spec.scale else "raw pixels")
    if spec.mean != (0.0,) or spec.std != (1.0,):
        parts.append("mean " + ",".join(f"{m:g}" for m in spec.mean) + " std " + ",".join(f"{s:g}" for s in spec.std))
    return ", ".join(parts)


IMAGENET_CLASS_MIN = 96  # a 3-channel input at least this wide is the size of ImageNet-style classifiers


def defaults_warning(spec: PreprocessSpec | None, origin: str, model_name: str) -> str | None:
    """A warning when an RGB model of ImageNet-classifier size gets the input-shape defaults: such a model
    was most likely trained with ImageNet mean/std, and 0..1 pixels quietly wreck its accuracy (issue 19:
    ResNet-18 calibrated on 0..1 pixels kept 2.8 dB SQNR against 34.9 dB with --preprocess imagenet)."""
    if origin != DEFAULTS or spec is None or spec.channels != 3 or not spec.size:
        return None
    if min(spec.size) < IMAGENET_CLASS_MIN:
        return None
    return (f"{model_name} stores no preprocessing and none was given: its images are scaled to 0..1 without "
            "mean/std; if it was trained on ImageNet-style inputs, pass --preprocess imagenet (or --mean/--std)")
