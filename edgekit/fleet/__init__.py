"""A device fleet: every model on every device of ``fleet.toml``, on Ray or in-process. See docs/fleet.md.

    from edgekit.fleet import run_fleet
    result = run_fleet(["a.onnx", "b.tflite"], "fleet.toml", ray="auto")
    result.results  # one ProfileRecord or NotRun per model x device, model-major

Finished jobs go to the result store as they finish; a re-run (after a crash, or with more models)
measures only what is not stored yet, unless ``force``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..profile.record import NotRun, ProfileRecord
from ..profile.runner import Protocol
from .config import Device, Fleet, FleetError, load_fleet  # noqa: F401
from .worker import Policy  # noqa: F401


@dataclass(frozen=True)
class FleetResult:
    results: tuple  # ProfileRecord | NotRun per model x device, model-major
    measured: int   # measured in this run
    reused: int     # taken from the result store
    engine: str
    store: Path

    @property
    def not_run(self) -> list[NotRun]:
        return [r for r in self.results if isinstance(r, NotRun)]

    @property
    def complete(self) -> bool:
        return not self.not_run


def run_fleet(models, fleet, *, devices: list[str] | None = None, tags: list[str] | None = None,
              ray: str | None = "auto", force: bool = False, store=None, proto: Protocol = Protocol(),
              policy: Policy = Policy(), show_progress: bool = True) -> FleetResult:
    from ..profile import resolve_model
    from .engine import make_engine
    from .jobs import plan
    from .store import ResultStore, default_store

    fl = (fleet if isinstance(fleet, Fleet) else load_fleet(fleet)).select(devices, tags)
    proto, policy = proto.check(), policy.check()
    for m in models:  # a missing file is found before any engine starts
        resolve_model(m)
    engine = make_engine(fl, proto, policy, ray)
    try:
        files = _unique(engine.prepare([str(m) for m in models]))
        jobs = plan(files, fl.devices, proto)
        with ResultStore(store or default_store()) as st:
            stored = {} if force else st.load()
            results = {j.key: _reuse(stored[j.key], j) for j in jobs if j.key in stored}
            todo = [j for j in jobs if j.key not in results]
            bar = FleetProgress(fl, jobs, results, show_progress)
            try:
                for outcome in engine.run(todo, {f.sha256: f.path for f in files}):
                    if isinstance(outcome, ProfileRecord):
                        st.append(outcome.job, outcome.to_dict())  # stored before it counts as done
                    results[outcome.job] = outcome
                    bar.update(outcome)
            finally:
                bar.close()
    finally:
        engine.close()
    measured = sum(isinstance(results[j.key], ProfileRecord) for j in todo)
    return FleetResult(tuple(results[j.key] for j in jobs), measured, len(jobs) - len(todo), engine.name, st.path)


def _unique(files):
    """One job per model content: the same bytes given twice are measured once."""
    seen, out = set(), []
    for f in files:
        if f.sha256 not in seen:
            seen.add(f.sha256)
            out.append(f)
    return out


def _reuse(data: dict, job) -> ProfileRecord:
    return ProfileRecord.from_dict(data, "the result store").replace(model=job.model.path)


class FleetProgress:
    """A bar over the whole matrix, with each device's state: done/total, or down."""

    def __init__(self, fleet: Fleet, jobs, results: dict, show: bool):
        from ..ui import progress

        self.total = {d.name: 0 for d in fleet.devices}
        self.done = dict.fromkeys(self.total, 0)
        self.down: set[str] = set()
        for j in jobs:
            self.total[j.device] += 1
            self.done[j.device] += j.key in results
        self.bar = progress(None, total=len(jobs), desc="fleet", unit="job") if show else None
        if self.bar is not None:
            self.bar.update(len(results))
            self._show()

    def update(self, outcome) -> None:
        self.done[outcome.device] += 1
        if isinstance(outcome, NotRun) and outcome.reason == "device down":
            self.down.add(outcome.device)
        if self.bar is not None:
            self.bar.update(1)
            self._show()

    def states(self) -> dict[str, str]:
        return {n: "down" if n in self.down else f"{self.done[n]}/{self.total[n]}" for n in self.total}

    def _show(self) -> None:
        self.bar.set_postfix_str(" ".join(f"{n}:{s}" for n, s in self.states().items()), refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


TABLE_HEADERS = ["model", "device", "target", "runtime", "thr", "load ms", "p50 ms", "p99 ms", "per s", "peak MB",
                 "size MB", "status"]


def table_row(r) -> list:
    if isinstance(r, NotRun):
        return [Path(r.model).name, r.device, r.target, None, None, None, None, None, None, None, None,
                f"not run: {r.reason}"]
    fails = [k for k, v in r.budget.items() if v.passed is False]
    verdict = ("over: " + ",".join(fails)) if fails else ("ok" if r.budget else "measured")
    return [r.name, r.device, r.target, r.runtime.name if r.runtime else None, r.threads, r.load_ms,
            r.latency_ms.p50, r.latency_ms.p99, r.throughput_per_s, r.memory_mb.peak_rss, r.model_bytes / 1e6,
            verdict]
