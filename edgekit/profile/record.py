"""The profile record: typed, frozen, parsed once on the host.

Three producers make the raw JSON (edgekit's runner on the host or over ssh, TFLite's benchmark_model and
onnxruntime_perf_test over adb); ``ProfileRecord.from_dict`` turns it into one typed value, and every
consumer (the CLI table, ``edgekit report``, ``edgekit bundle``, the fleet's result store) reads the
fields instead of string keys. ``to_dict`` gives back the JSON shape ``edgekit profile --json`` writes,
so files written before this type existed still parse.

Extending the record (e.g. LM figures): add a field with a default of ``None`` and ``metadata=OPTIONAL``
(left out of the JSON while unset), or a nested frozen dataclass of the same kind. Nothing else has to
change: parsing and writing go by the dataclass fields. Keys the record does not know (from a newer
edgekit) are kept in ``extra`` and written back unchanged.
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import MISSING, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from ..errors import ModelError

OPTIONAL = MappingProxyType({"omit_if_none": True})  # field metadata: absent from the JSON while None


def _opt(**kw):
    return field(default=None, metadata=OPTIONAL, **kw)


@dataclass(frozen=True)
class Latency:
    """Per-run latency in ms. A tool that does not report a figure leaves it None (never invented)."""

    mean: float | None = None
    std: float | None = None
    min: float | None = None
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None
    p95: float | None = _opt()

    @property
    def typical(self) -> tuple[str, float | None]:
        """(statistic, value) that budgets and tables use: p50, else the mean (benchmark_model may lack p50)."""
        return ("p50", self.p50) if self.p50 is not None else ("mean (no p50 reported)", self.mean)


@dataclass(frozen=True)
class Memory:
    """Process memory in MB: ``peak_rss`` is what the device must have free. adb tools add their own figures."""

    baseline_rss: float | None = None
    peak_rss: float | None = None
    growth: float | None = None
    init: float | None = _opt()
    overall: float | None = _opt()
    peak: float | None = _opt()


@dataclass(frozen=True)
class Runtime:
    name: str
    version: str | None = None
    delegate: str | None = _opt()


@dataclass(frozen=True)
class Verdict:
    """One budget of the target against the measured value; ``passed`` None when the value is not reported."""

    limit: float
    measured: float | None
    statistic: str
    passed: bool | None = field(default=None, metadata={"key": "pass"})


@dataclass(frozen=True)
class Temperatures:
    """Thermal zones (degC) read before and after the timed runs, where the device exposes them."""

    before: dict[str, float] = field(default_factory=dict)
    after: dict[str, float] = field(default_factory=dict)

    @property
    def hottest(self) -> float | None:
        return max(self.after.values(), default=None)


@dataclass(frozen=True)
class LMFigures:
    """Token-level figures of a KV-cache LM (edgekit/runtime/lm_bench.py): greedy generations of
    ``new_tokens`` after a ``prompt_tokens`` prompt. ``decode_ms`` is per token over every timed step;
    tokens/s is 1000 / decode_ms at its p50 and at its p90 (the slow end)."""

    prompt_tokens: int
    new_tokens: int
    runs: int
    prefill_ms: Latency
    ttft_ms: Latency
    peak_rss_mb: float | None = None
    cache: str | None = None
    decode_ms: Latency | None = _opt()
    tokens_per_s_p50: float | None = _opt()
    tokens_per_s_p90: float | None = _opt()
    decode_cpu_ms: Latency | None = _opt()  # process CPU time per decode step (all threads)


@dataclass(frozen=True)
class ProfileRecord:
    model: str
    format: str
    target: str
    measured_on: str
    latency_ms: Latency
    memory_mb: Memory
    model_bytes: int
    runtime: Runtime | None = None  # every producer sets it; a hand-written results file may not
    threads: int | None = None
    runs: int | None = None
    warmup: int | None = None
    load_ms: float | None = None
    first_run_ms: float | None = None
    throughput_per_s: float | None = None
    host: dict = field(default_factory=dict)  # the device's facts as its tool reports them (arch, cores, ...)
    temperature_c: Temperatures | None = _opt()
    dynamic_inputs: tuple[str, ...] = ()
    budget: dict[str, Verdict] = field(default_factory=dict)
    warnings: tuple[str, ...] | None = _opt()
    note: str | None = _opt()
    edgekit_version: str | None = _opt()
    device: str | None = _opt()  # the fleet device's name (fleet.toml), when measured by a fleet
    warmup_avg_ms: float | None = _opt()
    delegated: dict | None = _opt()
    command: str | None = _opt()  # the command that measured on the device (adb), to re-run it by hand
    pid: int | None = _opt()  # the runner's process id: shows it ran in its own process
    job: str | None = _opt()  # the fleet job's content address
    lm: LMFigures | None = _opt()  # a KV-cache language model's token-level figures
    extra: dict = field(default_factory=dict, metadata={"flatten": True})

    @property
    def name(self) -> str:
        return Path(self.model).name

    def to_dict(self) -> dict:
        return _dump(self)

    @classmethod
    def from_dict(cls, data: dict, where: str = "the runner") -> "ProfileRecord":
        """Parse a raw record; a missing required key or a wrong type is a ModelError naming ``where``."""
        return _build(cls, data, where)

    def replace(self, **changes) -> "ProfileRecord":
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class NotRun:
    """A model x device job that was not measured, and why: ``reason`` is "device down" or "failed"."""

    model: str
    target: str
    device: str
    measured_on: str
    reason: str
    error: str
    job: str | None = _opt()

    def to_dict(self) -> dict:
        return {"model": self.model, "target": self.target, "device": self.device, "measured_on": self.measured_on,
                "not_run": self.reason, "error": self.error, **({"job": self.job} if self.job else {})}

    @classmethod
    def from_dict(cls, data: dict) -> "NotRun":
        return cls(data["model"], data["target"], data["device"], data["measured_on"], data["not_run"],
                   data.get("error", ""), data.get("job"))


def parse_result(data: dict) -> ProfileRecord | NotRun:
    """A fleet/matrix JSON entry: a measured record or a not-run one."""
    return NotRun.from_dict(data) if "not_run" in data else ProfileRecord.from_dict(data, "the results file")


# -- generic (de)serialisation by dataclass fields ---------------------------------------------------

@lru_cache(maxsize=None)
def _hints(cls) -> dict:
    return typing.get_type_hints(cls)


def _key(f) -> str:
    return f.metadata.get("key", f.name)


def _dump(obj):
    if dataclasses.is_dataclass(obj):
        out = {}
        for f in fields(obj):
            value = getattr(obj, f.name)
            if f.metadata.get("flatten"):
                out.update({k: v for k, v in value.items() if k not in out})
            elif not (value is None and f.metadata.get("omit_if_none")):
                out[_key(f)] = _dump(value)
        return out
    if isinstance(obj, dict):
        return {k: _dump(v) for k, v in obj.items()}
    if isinstance(obj, tuple):
        return [_dump(v) for v in obj]
    return obj


def _build(cls, data, where: str):
    if not isinstance(data, dict):
        raise ModelError(f"the record from {where} is not an object", f"got {type(data).__name__}",
                         "run with --debug, or re-run the profile")
    hints, kwargs, known = _hints(cls), {}, set()
    for f in fields(cls):
        key = _key(f)
        known.add(key)
        if f.metadata.get("flatten"):
            continue
        if key not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise ModelError(f"the record from {where} has no {key!r}", f"keys: {', '.join(sorted(data))}",
                                 "check that the device runs the same edgekit version's runner")
            continue
        kwargs[f.name] = _value(hints[f.name], data[key], f"{key}", where)
    flat = [f for f in fields(cls) if f.metadata.get("flatten")]
    if flat:
        kwargs[flat[0].name] = {k: v for k, v in data.items() if k not in known}
    return cls(**kwargs)


def _value(tp, value, key: str, where: str):
    if value is None:
        return None
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _value(inner[0], value, key, where) if len(inner) == 1 else value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise _wrong(key, "a list", value, where)
        return tuple(value)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise _wrong(key, "an object", value, where)
        if args and dataclasses.is_dataclass(args[1]):
            return {k: _build(args[1], v, where) for k, v in value.items()}
        return dict(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _wrong(key, "a number", value, where)
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                (isinstance(value, float) and not (math.isfinite(value) and value.is_integer())):
            raise _wrong(key, "a whole number", value, where)
        return int(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise _wrong(key, "true/false", value, where)
        return value
    if tp is str:
        return str(value)
    return value


def _wrong(key: str, expected: str, value, where: str) -> ModelError:
    return ModelError(f"the record from {where} has a bad {key!r}", f"expected {expected}, got {value!r}"[:200],
                      "check that the device runs the same edgekit version's runner")
