"""A STAND-IN device for tests and tools/bench_fleet.py: ``sleep://NAME[/MS]`` "measures" by sleeping.

No lab of 64 boards exists here, so the scheduling benchmark needs devices whose inference takes a
known, fixed time. This transport is registered only by calling ``register_standin()`` (the benchmark
and the tests do); users' addresses never parse as ``sleep://``. Its records say ``runtime.name =
"stand-in (sleep)"`` so they cannot pass for measurements.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from ..profile.transport import Kind, register

_ADDRESS = re.compile(r"sleep://([A-Za-z0-9_.-]{1,64})(?:/(\d{1,6}))?")


@dataclass(frozen=True)
class SleepAddress:
    name: str
    ms: int = 50  # one "measurement" sleeps this long

    @property
    def shown(self) -> str:
        return f"sleep://{self.name}/{self.ms}"


@dataclass(frozen=True)
class SleepOptions:
    pass


def parse(text: str) -> SleepAddress:
    m = _ADDRESS.fullmatch(text.strip())
    if not m:
        raise InputError(f"stand-in address {text!r} is not valid", "expected sleep://NAME[/MS]",
                         "use e.g. sleep://dev1/50; nothing was run")
    return SleepAddress(m.group(1), int(m.group(2)) if m.group(2) else 50)


class SleepTransport:
    remote = False

    def __init__(self, address: SleepAddress, opts: SleepOptions):
        self.address, self.opts = address, opts

    def measure(self, path: Path, target, proto, threads: int) -> dict:
        t0 = time.perf_counter()
        time.sleep(self.address.ms / 1000.0)
        ms = (time.perf_counter() - t0) * 1e3
        lat = {k: ms for k in ("mean", "min", "p50", "p90", "p99", "max")}
        return {"format": Path(path).suffix.lstrip(".") or "onnx", "threads": threads, "runs": 1, "warmup": 0,
                "runtime": {"name": "stand-in (sleep)", "version": "0"}, "host": {},
                "latency_ms": {**lat, "std": 0.0}, "memory_mb": {"baseline_rss": None, "peak_rss": None,
                                                                "growth": None},
                "model_bytes": Path(path).stat().st_size, "throughput_per_s": 1000.0 / ms,
                "note": "stand-in device: slept instead of running the model"}

    def temperatures(self) -> dict[str, float]:
        return {}

    def close(self) -> None:
        pass


KIND = Kind("sleep", parse, SleepOptions, SleepTransport, remote=False, help="sleep://NAME[/MS] (stand-in)")


def register_standin() -> Kind:
    return register(KIND)
