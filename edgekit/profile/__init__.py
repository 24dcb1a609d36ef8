"""``edgekit profile``: latency and memory of a model, measured in a fresh process.

The measurement itself is ``edgekit/runtime/device.py`` — the same file runs on the host (in a child
process, so the memory figures belong to the model and not to this process) and on devices.
"""
from __future__ import annotations

import json
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..errors import DependencyError, EdgekitWarning, InputError, ModelError, TargetError
from ..targets import Target, get_target

RUNNER = Path(__file__).resolve().parent.parent / "runtime" / "device.py"
_ERRORS = {"ModelError": ModelError, "InputError": InputError, "DependencyError": DependencyError}


@dataclass(frozen=True)
class Protocol:
    """How to measure: threads (None = the target's), warm-up runs, then ``runs`` or ``duration`` seconds."""

    threads: int | None = None
    warmup: int = 10
    runs: int = 100
    duration: float | None = None
    seed: int = 0

    def check(self) -> "Protocol":
        # whole numbers only: the runner's argparse would reject "1.5" with a usage dump, not our message
        if self.threads is not None and (not _whole(self.threads) or self.threads <= 0):
            raise InputError("threads must be >= 1", f"got {self.threads}", "pass --threads 1 or more")
        if not _whole(self.runs) or self.runs <= 0:
            raise InputError("runs must be >= 1", f"got {self.runs}", "pass --runs 1 or more")
        if not _whole(self.warmup) or self.warmup < 0:
            raise InputError("warmup must be >= 0", f"got {self.warmup}", "pass --warmup 0 or more")
        if self.duration is not None and self.duration <= 0:
            raise InputError("duration must be > 0 seconds", f"got {self.duration}", "pass e.g. --duration 5")
        return self

    def runner_args(self, threads: int) -> list[str]:
        args = ["--threads", str(threads), "--warmup", str(self.warmup), "--runs", str(self.runs),
                "--seed", str(self.seed)]
        return args + (["--duration", str(self.duration)] if self.duration else [])


def _whole(n) -> bool:
    return isinstance(n, int) and not isinstance(n, bool)


def profile(model, target=None, *, threads: int | None = None, warmup: int = 10, runs: int = 100,
            duration: float | None = None, on_host: bool = False, remote: str | None = None,
            **remote_options) -> dict:
    """Measure ``model`` for ``target`` and return the profile record (see docs/profile.md).

    ``remote="ssh://[user@]host[:port]"`` or ``"adb://[SERIAL]"`` measures on that device; ``remote_options``
    are identity, ssh_config, remote_python, benchmark_binary, perf_test_binary, delegate (docs/remote.md).
    """
    path = Path(model)
    if path.is_dir():  # a bundle: the model edgekit.load(DIR, target=...) would run, hash-checked
        path = bundle_model(path, target)
    if not path.is_file():
        raise InputError(f"model {path} not found", "no such file", "check the path")
    tgt = get_target(target)
    proto = Protocol(threads, warmup, runs, duration).check()
    nthreads = proto.threads or tgt.threads
    if remote:
        from .remote import measure_remote  # issue 7: ssh:// and adb://

        raw = measure_remote(path, tgt, proto, nthreads, remote, **remote_options)
    else:
        _check_host(tgt, on_host)
        _check_cores(nthreads)
        raw = measure_local(path, proto, nthreads)
        raw["measured_on"] = "host"
        if not tgt.runs_on_host():
            raw["note"] = (f"measured on this {raw['host']['arch']} host with {tgt.name}'s settings; "
                           "not a device measurement")
    for name in raw.get("dynamic_inputs", []):
        warnings.warn(f"input {name!r} has a dynamic dimension; it was measured with 1", EdgekitWarning)
    return finish_record(raw, path, tgt)


def _check_cores(threads: int) -> None:
    import os

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if threads > cores:
        warnings.warn(f"{threads} threads on {cores} usable cores: threads take turns, so the latency is not "
                      f"what a {threads}-core device shows; pass --threads {cores} or profile on the device",
                      EdgekitWarning)


def _check_host(tgt: Target, on_host: bool) -> None:
    import platform

    if tgt.runs_on_host() or on_host:
        return
    raise TargetError(f"target {tgt.name} is {tgt.arch} but this host is {platform.machine()}",
                      "a host measurement is not the device's",
                      "profile on the device with --remote ssh://user@host (or adb://SERIAL), "
                      "or pass --on-host to measure this host with the target's settings")


def measure_local(path: Path, proto: Protocol, threads: int) -> dict:
    """Run the device runner in a fresh child process on this host."""
    cmd = [sys.executable, str(RUNNER), str(path), *proto.runner_args(threads)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return parse_runner_output(proc.stdout, proc.stderr, proc.returncode, where="host")


def parse_runner_output(stdout: str, stderr: str, returncode: int, where: str) -> dict:
    """Turn the runner's JSON line (a record or an error) into a dict or an EdgekitError."""
    line = next((l for l in reversed(stdout.strip().splitlines()) if l.startswith("{")), "")
    try:
        data = json.loads(line) if line else None
    except json.JSONDecodeError:
        data = None
    if data is None:
        tail = (stderr.strip().splitlines() or ["no output"])[-1][:300]
        raise ModelError(f"the runner on the {where} failed (exit {returncode})", tail,
                         "run with --debug, or try the model with edgekit.load on that machine")
    if "error" in data:
        err = data["error"]
        raise _ERRORS.get(err.get("kind"), ModelError)(err.get("what", "runner failed"), err.get("why", ""),
                                                       err.get("fix", ""))
    return data


def finish_record(raw: dict, path: Path, tgt: Target) -> dict:
    """Add model, target and budget verdicts to a runner record."""
    from .. import __version__

    record = {"model": str(path), "format": raw["format"], "target": tgt.name, **raw}
    record["budget"] = check_budgets(record, tgt)
    record["edgekit_version"] = __version__
    return record


def check_budgets(record: dict, tgt: Target) -> dict:
    """Each budget of the target with the measured value and pass/fail.

    Latency is judged on p50 (a median is stable on a shared machine; p99 is in the record), memory on
    the process's peak RSS (what the device must have free), size on the model file.
    """
    lat = record["latency_ms"]
    # Tools on a device (benchmark_model) may not report a median: then the mean, and the verdict says so.
    latency = ("p50", lat["p50"]) if lat.get("p50") is not None else ("mean (no p50 reported)", lat["mean"])
    measured = {"latency_ms": latency,
                "memory_mb": ("peak_rss", record["memory_mb"]["peak_rss"]),
                "model_mb": ("file size", record["model_bytes"] / 1e6)}
    out = {}
    for key, (stat, value) in measured.items():
        limit = getattr(tgt.budgets, key)
        if limit is not None and value is None:
            out[key] = {"limit": limit, "measured": None, "statistic": f"{stat}: not reported", "pass": None}
        elif limit is not None:
            out[key] = {"limit": limit, "measured": round(value, 4), "statistic": stat, "pass": value <= limit}
    return out


TABLE_HEADERS = ["model", "target", "measured on", "runtime", "thr", "load ms", "first ms", "p50 ms",
                 "p99 ms", "per s", "peak MB", "size MB", "budget"]


def table_row(r: dict) -> list:
    fails = [k for k, v in r["budget"].items() if v["pass"] is False]
    verdict = ("over: " + ",".join(fails)) if fails else ("ok" if r["budget"] else "-")
    return [Path(r["model"]).name, r["target"], r["measured_on"], r["runtime"]["name"], r["threads"],
            r["load_ms"], r["first_run_ms"], r["latency_ms"]["p50"], r["latency_ms"]["p99"],
            r["throughput_per_s"], r["memory_mb"]["peak_rss"], r["model_bytes"] / 1e6, verdict]


def bundle_model(root: Path, target) -> Path:
    """The model file of bundle directory ``root`` for ``target`` (its format), verified against edgekit.json."""
    from ..runtime.bundle import MANIFEST, choose, read_manifest, verify

    if not (root / MANIFEST).is_file():  # "not found" would send the user looking for a path that exists
        raise InputError(f"model {root} is a directory", f"profile measures one .onnx or .tflite file, or a "
                         f"bundle directory with {MANIFEST}", "give the model file or a directory made by `edgekit bundle`")
    return verify(root, choose(read_manifest(root), target))
