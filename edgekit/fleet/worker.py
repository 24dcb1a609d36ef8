"""One fleet device: its transport, its retries, its cool-down, its health.

The same class runs as a Ray actor (``engine.RayEngine``) or in a thread (``engine.ThreadEngine``), so
both paths measure with the same code, and that code is ``edgekit.profile.measure_with``, as for a single
``--remote``. A job whose device drops or times out is retried with back-off; after ``retries``
failures in a row the device is down and every job it gets from then on is "not run: device down"
with the last error. Any other error (a model the runtime refuses) fails that job only.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import EdgekitError, RemoteError
from ..profile.record import NotRun, ProfileRecord


@dataclass(frozen=True)
class Policy:
    """How a device is treated between and after runs. Bounded: see ``check``."""

    retries: int = 3             # failures in a row (timeouts, lost connections) before the device is down
    backoff_s: float = 2.0       # wait before retry k: backoff_s * 2**(k-1)
    timeout_s: float = 600.0     # one measurement, transfer included
    cooldown_s: float = 0.0      # pause between two runs on one device
    thermal_limit_c: float = 70.0  # before a run, wait while the device's hottest zone is at or above this
    thermal_wait_s: float = 120.0  # ... but at most this long (then measure; the record's warnings say so)

    def check(self) -> "Policy":
        from .config import FleetError

        bounds = {"retries": (1, 20), "backoff_s": (0, 600), "timeout_s": (1, 86400), "cooldown_s": (0, 3600),
                  "thermal_limit_c": (20, 150), "thermal_wait_s": (0, 3600)}
        for key, (lo, hi) in bounds.items():
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
                flag = "--" + key.rsplit("_", 1)[0].replace("_", "-") if key.endswith(("_s", "_c")) else f"--{key}"
                raise FleetError(f"{flag} must be from {lo} to {hi}", f"got {value!r}", f"pass {flag} in that range")
        return self


class DeviceWorker:
    def __init__(self, device, transport_spec, proto, policy: Policy):
        self.device, self.spec, self.proto, self.policy = device, transport_spec, proto, policy
        self.transport = None
        self.down_error: str | None = None
        self._runs = 0
        self._hot = False  # the last record showed a zone at or above the thermal limit
        self._cache = Path(tempfile.mkdtemp(prefix=f"ek-fleet-{device.name}-"))

    # -- the job ---------------------------------------------------------------------------------------
    def run(self, job, source) -> ProfileRecord | NotRun:
        """Measure ``job``; ``source`` is the model's path on this host or a list holding its bytes' ref."""
        if self.down_error is not None:
            return self._not_run(job, "device down", self.down_error)
        try:
            path = self._local_model(job, source)
        except EdgekitError as exc:
            return self._not_run(job, "failed", exc.line())
        last = ""
        for attempt in range(1, self.policy.retries + 1):
            try:
                self._between_runs()
                record = self._measure(path)
                self._after(record)
                return record.replace(model=job.model.path, device=self.device.name, job=job.key)
            except RemoteError as exc:  # the device dropped, timed out or refused: try again, then give up
                last = exc.line()
                self._reset()
                if attempt < self.policy.retries:
                    time.sleep(self.policy.backoff_s * 2 ** (attempt - 1))
            except EdgekitError as exc:  # this model on this device: the job fails, the device stays up
                return self._not_run(job, "failed", exc.line())
        self.down_error = f"{self.policy.retries} attempts failed; last: {last}"
        return self._not_run(job, "device down", self.down_error)

    def state(self) -> str:
        return "down" if self.down_error else "up"

    def close(self) -> None:
        self._reset()
        import shutil

        shutil.rmtree(self._cache, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------------------
    def _measure(self, path: Path) -> ProfileRecord:
        from ..profile import measure_with

        if self.transport is None:
            self.transport = self.spec.open()
        return measure_with(self.transport, path, self.device.target, self.proto)

    def _between_runs(self) -> None:
        if self._runs and self.policy.cooldown_s:
            time.sleep(self.policy.cooldown_s)
        if self._hot and self.transport is not None:  # the device said it was hot: let it cool first
            deadline = time.monotonic() + self.policy.thermal_wait_s
            while time.monotonic() < deadline:
                temps = self.transport.temperatures()
                if not temps or max(temps.values()) < self.policy.thermal_limit_c:
                    break
                time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        self._runs += 1

    def _after(self, record: ProfileRecord) -> None:
        hottest = record.temperature_c.hottest if record.temperature_c else None
        self._hot = hottest is not None and hottest >= self.policy.thermal_limit_c

    def _reset(self) -> None:
        if self.transport is not None:
            try:
                self.transport.close()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close; a new one is opened anyway
                pass
            self.transport = None

    def _local_model(self, job, source) -> Path:
        """The model on this worker's host: the driver's path, or its bytes from Ray's object store, cached."""
        if isinstance(source, (str, os.PathLike)):
            return Path(source)
        cached = self._cache / f"{job.model.sha256}.{job.model.fmt}"
        if not cached.is_file():
            import ray

            data = ray.get(source[0])
            if hashlib.sha256(data).hexdigest() != job.model.sha256:
                raise RemoteError(f"the model bytes of {job.label} arrived damaged", "sha256 mismatch", "re-run")
            tmp = cached.with_suffix(".part")
            tmp.write_bytes(data)
            tmp.replace(cached)
        return cached

    def _not_run(self, job, reason: str, error: str) -> NotRun:
        return NotRun(job.model.path, self.device.target.name, self.device.name, self.device.address, reason,
                      error, job.key)


@dataclass(frozen=True)
class TransportSpec:
    """What a worker needs to open the device's transport; resolved on the driver (so a transport that a
    test or benchmark registered, like the sleep:// stand-in, also works inside Ray's worker processes)."""

    kind: object
    address: object
    options: object

    def open(self):
        return self.kind.open(self.address, self.options)


def transport_spec(device, timeout_s: float) -> TransportSpec:
    from dataclasses import fields

    from ..profile.transport import build_options, parse_address

    kind, address = parse_address(device.address)
    given = dict(device.transport_options())
    if "measure_timeout" in {f.name for f in fields(kind.options)}:
        given["measure_timeout"] = timeout_s
    if kind.scheme == "host":
        given["on_host"] = True  # a fleet's host device measures with its target's settings; the record says so
    return TransportSpec(kind, address, build_options(kind, **given))
