"""DeviceWorker's rules with STAND-IN transports (the retry, down and thermal rules need a device that
fails or heats on cue; the real-device paths are in test_fleet.py)."""
from __future__ import annotations

import pytest

from edgekit.errors import ModelError, RemoteError
from edgekit.fleet import Policy, load_fleet
from edgekit.fleet.jobs import plan, prepare_model
from edgekit.fleet.worker import DeviceWorker
from edgekit.profile import Protocol
from edgekit.profile.record import NotRun, ProfileRecord
from fleet_helpers import HOST
from helpers import onnx_builder


class StandInTransport:
    """Fails, then measures; reports temperatures from a script."""

    remote = False

    def __init__(self, outcomes, temps=()):
        self.outcomes, self.temps, self.closed = list(outcomes), list(temps), 0
        self.address = type("A", (), {"shown": "standin://x"})()

    def measure(self, path, target, proto, threads):
        what = self.outcomes.pop(0)
        if isinstance(what, Exception):
            raise what
        lat = {k: 1.0 for k in ("mean", "std", "min", "p50", "p90", "p99", "max")}
        return {"format": "onnx", "runtime": {"name": "stand-in"}, "latency_ms": lat, "memory_mb": {},
                "model_bytes": 1, "temperature_c": {"before": {}, "after": {"cpu": what}}}

    def temperatures(self):
        return {"cpu": self.temps.pop(0)}

    def close(self):
        self.closed += 1


class Spec:
    def __init__(self, transport):
        self.transport = transport

    def open(self):
        return self.transport


@pytest.fixture
def setup(tmp_path, monkeypatch):
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(f'[[devices]]\nname = "d"\ntarget = "{HOST}"\naddress = "host"\n')
    device = load_fleet(fleet).devices[0]
    models = [prepare_model(onnx_builder.add_relu_model(tmp_path / f"m{n}.onnx", n=n)) for n in (2, 3, 4)]
    jobs = plan(models, [device], Protocol())
    sleeps = []
    monkeypatch.setattr("edgekit.fleet.worker.time.sleep", sleeps.append)  # record waits; never wait
    return device, jobs, sleeps


def test_retry_with_backoff_then_down_for_the_rest(setup):
    device, jobs, sleeps = setup
    lost = RemoteError("ssh to x failed", "Connection refused", "check")
    t = StandInTransport([lost, 40.0, lost, lost, lost])
    w = DeviceWorker(device, Spec(t), Protocol(), Policy(retries=3, backoff_s=0.5))
    first = w.run(jobs[0], jobs[0].model.path)
    assert isinstance(first, ProfileRecord) and first.device == "d" and first.job == jobs[0].key
    second = w.run(jobs[1], jobs[1].model.path)
    assert isinstance(second, NotRun) and second.reason == "device down" and "Connection refused" in second.error
    assert sleeps == [0.5, 0.5, 1.0]  # back-off before the 2nd try of job 1, and the 2nd and 3rd of job 2
    third = w.run(jobs[2], jobs[2].model.path)  # down: not tried at all
    assert isinstance(third, NotRun) and third.error == second.error and t.outcomes == []
    assert t.closed == 4  # each failure dropped the session


def test_a_model_error_fails_the_job_and_the_device_stays_up(setup):
    device, jobs, _ = setup
    t = StandInTransport([ModelError("onnxruntime cannot load m", "bad", "fix"), 40.0])
    w = DeviceWorker(device, Spec(t), Protocol(), Policy())
    bad = w.run(jobs[0], jobs[0].model.path)
    assert isinstance(bad, NotRun) and bad.reason == "failed" and "cannot load" in bad.error
    assert isinstance(w.run(jobs[1], jobs[1].model.path), ProfileRecord) and w.state() == "up"


def test_cooldown_and_thermal_wait_between_runs(setup):
    device, jobs, sleeps = setup
    t = StandInTransport([75.0, 50.0, 50.0], temps=[74.0, 71.0, 65.0])
    w = DeviceWorker(device, Spec(t), Protocol(), Policy(cooldown_s=3, thermal_limit_c=70, thermal_wait_s=60))
    w.run(jobs[0], jobs[0].model.path)  # first run: no cool-down; it ends at 75 degC
    assert sleeps == []
    w.run(jobs[1], jobs[1].model.path)  # cool-down, then waits while 74, 71 >= 70, goes at 65
    assert sleeps[0] == 3 and len(sleeps) == 3 and t.temps == []
    w.run(jobs[2], jobs[2].model.path)  # 50 degC last time: only the cool-down
    assert sleeps[3:] == [3]
