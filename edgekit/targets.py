"""Target profiles: where hardware knowledge lives (``targets/*.toml``).

A target names a device class: its arch, cores, default threads, RAM, preferred format and runtime,
the quantization scheme per format ([quantize]), delegates, budgets, and how it is reached. A user's own TOML path works
wherever a target name does.
"""
from __future__ import annotations

import dataclasses
import enum
import platform
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .errors import TargetError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib


class Format(str, enum.Enum):
    ONNX = "onnx"
    TFLITE = "tflite"


class Reach(str, enum.Enum):
    LOCAL = "local"
    SSH = "ssh"
    ADB = "adb"


class QType(str, enum.Enum):
    UINT8 = "uint8"
    INT8 = "int8"


class QFormat(str, enum.Enum):
    QDQ = "qdq"
    QOPERATOR = "qoperator"


class IOType(str, enum.Enum):
    FLOAT = "float"
    INT8 = "int8"
    UINT8 = "uint8"


@dataclass(frozen=True)
class RuntimeSpec:
    format: Format
    name: str
    delegates: tuple[str, ...] = ()


@dataclass(frozen=True)
class OnnxInt8:
    activations: QType = QType.INT8
    weights: QType = QType.INT8
    format: QFormat = QFormat.QDQ
    per_channel: bool = True


@dataclass(frozen=True)
class TfliteInt8:
    activations: QType = QType.INT8
    weights: QType = QType.INT8
    io_types: tuple[IOType, ...] = (IOType.FLOAT, IOType.INT8, IOType.UINT8)


@dataclass(frozen=True)
class Int8:
    """The ``[int8.onnx]`` / ``[int8.tflite]`` tables from before schemes: still read (see Quantize)."""
    onnx: OnnxInt8 = field(default_factory=OnnxInt8)
    tflite: TfliteInt8 = field(default_factory=TfliteInt8)


@dataclass(frozen=True)
class Quantize:
    """The ``[quantize]`` table: the scheme per format (edgekit.quantize.scheme.PRESETS) and what the
    target's kernels want of it. ``onnx_activations`` is the signedness of int8 activations in ONNX
    (x86: uint8, onnxruntime's VNNI kernels multiply u8 by s8); TFLite's integer kernels take int8 only."""
    onnx: str = "w8a8"
    tflite: str = "w8a8"
    onnx_activations: QType = QType.INT8
    onnx_weights: QType = QType.INT8
    onnx_format: QFormat = QFormat.QDQ
    per_channel: bool = True
    tflite_io: tuple[IOType, ...] = (IOType.FLOAT, IOType.INT8, IOType.UINT8)

    @classmethod
    def from_int8(cls, old: Int8) -> "Quantize":
        return cls(onnx_activations=old.onnx.activations, onnx_weights=old.onnx.weights, onnx_format=old.onnx.format,
                   per_channel=old.onnx.per_channel, tflite_io=old.tflite.io_types)


@dataclass(frozen=True)
class Budgets:
    latency_ms: float | None = None
    memory_mb: float | None = None
    model_mb: float | None = None


@dataclass(frozen=True)
class Target:
    name: str
    description: str
    arch: str
    cpu: str
    cores: int
    threads: int
    ram_mb: int
    reach: Reach
    runtime: RuntimeSpec
    quantize: Quantize | None = None  # None only while reading: get_target fills it from [int8.*] or defaults
    int8: Int8 | None = None          # the older tables, read for files written before [quantize]
    budgets: Budgets = field(default_factory=Budgets)
    source: str = ""

    @property
    def onnx_int8(self) -> OnnxInt8:
        q = self.quantize or Quantize()
        return OnnxInt8(q.onnx_activations, q.onnx_weights, q.onnx_format, q.per_channel)

    @property
    def tflite_int8(self) -> TfliteInt8:
        q = self.quantize or Quantize()
        return TfliteInt8(io_types=q.tflite_io)

    def scheme(self, fmt: str) -> str:
        """The preset name this target quantizes ``fmt`` ("onnx" | "tflite") with."""
        return getattr(self.quantize or Quantize(), fmt)

    def runs_on_host(self) -> bool:
        """True when this machine's CPU architecture is the target's."""
        return _norm_arch(platform.machine()) == _norm_arch(self.arch)

    def to_dict(self) -> dict:
        return _plain(dataclasses.asdict(self))


def _norm_arch(arch: str) -> str:
    arch = arch.lower()
    return {"amd64": "x86_64", "arm64": "aarch64", "armv8": "aarch64"}.get(arch, arch)


def _plain(value):
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def targets_dir() -> Path:
    from importlib.resources import files

    return Path(str(files("edgekit._targets")))


def list_targets() -> list[Target]:
    return [get_target(p) for p in sorted(targets_dir().glob("*.toml"))]


def host_target() -> Target:
    """The shipped target that matches this machine's architecture."""
    return get_target("linux-arm64" if _norm_arch(platform.machine()) == "aarch64" else "x86_64")


def get_target(name_or_path: str | Path | Target | None) -> Target:
    """A target by shipped name (``raspberry-pi-4``) or by path to a TOML file; None means the host's."""
    if name_or_path is None:
        return host_target()
    if isinstance(name_or_path, Target):
        return name_or_path
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith(".toml") or path.is_file()):
        path = targets_dir() / f"{text}.toml"
        if not path.is_file():
            names = ", ".join(sorted(p.stem for p in targets_dir().glob("*.toml")))
            raise TargetError(f"unknown target '{text}'", f"shipped targets are: {names}",
                              "give one of those names or a path to your own .toml")
    if not path.is_file():
        raise TargetError(f"target file {path} not found", "no such file", "check the path")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:  # 5,000-deep arrays recurse
        raise TargetError(f"target file {path} is not valid TOML", str(exc), "fix the syntax") from exc
    target = _build(Target, {**data, "source": str(path)}, path, "")
    target = _quantize_table(target, path)
    _check_ranges(target, path)
    return target


def _quantize_table(target: Target, path: Path) -> Target:
    """[quantize] is the table; an older [int8.*] table is read into it (both at once: one must go)."""
    if target.int8 is not None and target.quantize is not None:
        raise TargetError(f"target file {path} has both [quantize] and [int8.*] tables",
                          "[int8.onnx]/[int8.tflite] are the older form of [quantize]",
                          "remove [int8.*]; [quantize] takes onnx_activations, onnx_weights, onnx_format, "
                          "per_channel and tflite_io (see targets/x86_64.toml)")
    q = target.quantize or (Quantize.from_int8(target.int8) if target.int8 is not None else Quantize())
    from .quantize.scheme import PRESETS

    for fmt in ("onnx", "tflite"):
        if getattr(q, fmt) not in PRESETS:
            raise TargetError(f"target file {path}: [quantize] {fmt} = {getattr(q, fmt)!r} is not a scheme",
                              f"the schemes are {', '.join(PRESETS)}", "use one of them")
    if not q.tflite_io:
        raise TargetError(f"target file {path}: [quantize] tflite_io is empty", "a model needs an I/O type",
                          'list at least one of "float", "int8", "uint8"')
    return dataclasses.replace(target, quantize=q)


MAX_CORES = 4096  # far above any device edgekit targets; a typo like 40000 is caught


def _check_ranges(target: Target, path: Path) -> None:
    """Resource figures a device can have: threads 1..max(8, 4 x cores), RAM and budgets > 0."""
    from .runtime.device import thread_limit

    def bad(key, got, want):
        raise TargetError(f"target file {path}: key '{key}' must be {want}", f"got {got!r}", "fix the value")

    if not 1 <= target.cores <= MAX_CORES:
        bad("cores", target.cores, f"a whole number from 1 to {MAX_CORES}")
    if not 1 <= target.threads <= thread_limit(target.cores):
        bad("threads", target.threads, f"a whole number from 1 to {thread_limit(target.cores)} (max(8, 4 x cores))")
    if target.ram_mb <= 0:
        bad("ram_mb", target.ram_mb, "a whole number of MB > 0")
    for name in ("latency_ms", "memory_mb", "model_mb"):
        value = getattr(target.budgets, name)
        if value is not None and not 0 < value < float("inf"):  # also NaN: every comparison with it is False
            bad(f"budgets.{name}", value, "a finite number > 0")


def _build(cls, data, path: Path, prefix: str):
    """Build a frozen dataclass from TOML, naming file, key and expected type on any mismatch."""
    if not isinstance(data, dict):
        raise TargetError(f"target file {path}: key '{prefix.rstrip('.')}' must be a table",
                          f"got {type(data).__name__}", "see targets/x86_64.toml for the layout")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(known)
    if unknown:
        raise TargetError(f"target file {path}: unknown key '{prefix}{sorted(unknown)[0]}'",
                          # "source" is filled in by edgekit (the file's path), not written by users
                          f"known keys here: {', '.join(k for k in known if k != 'source')}", "remove or rename it")
    values = {}
    for name, f in known.items():
        key = f"{prefix}{name}"
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise TargetError(f"target file {path}: missing key '{key}'",
                                  f"expected {_type_name(hints[name])}", "add it")
            continue
        values[name] = _convert(hints[name], data[name], path, key)
    return cls(**values)


def _type_name(tp) -> str:
    if typing.get_origin(tp) is tuple:  # TOML has arrays, not tuples: name what the user writes
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of " + "|".join(m.value for m in tp)
    if dataclasses.is_dataclass(tp):
        return "a table"
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _convert(tp, value, path: Path, key: str):
    def bad():
        return TargetError(f"target file {path}: key '{key}' must be {_type_name(tp)}",
                           f"got {value!r}", "fix the value")

    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, path, key + ".")
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None:
            return None
        return _convert([a for a in args if a is not type(None)][0], value, path, key)
    if origin is tuple:
        if not isinstance(value, list):
            raise bad()
        return tuple(_convert(args[0], v, path, key) for v in value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            raise bad() from None
    if tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value or value in (float("inf"), float("-inf")):  # TOML allows nan and inf
            raise bad()
        return float(value)
    if tp in (int, str, bool) and type(value) is tp:
        return value
    raise bad()
