"""The measurement settings and edgekit's own runner (``edgekit/runtime/device.py``) on this host.

This module imports nothing else of ``edgekit.profile``: the transports (host, ssh, adb) build on it,
and ``edgekit.profile`` builds on them, so there is no import circle.
"""
from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import DependencyError, InputError, ModelError

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
