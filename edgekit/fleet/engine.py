"""Two engines with one interface: Ray (``edgekit[ray]``) and, without it, one thread per device slot.

``engine.run(jobs, sources)`` yields each job's outcome (a ProfileRecord or a NotRun) as it finishes,
so the driver stores it at once. Both engines build the same ``DeviceWorker`` per device slot.
"""
from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Iterator

from .config import FleetError
from .worker import DeviceWorker, transport_spec


class ThreadEngine:
    """In-process: one worker thread per device slot; a slot takes the device's next job when free."""

    name = "in-process threads"

    def __init__(self, fleet, proto, policy):
        self.fleet, self.proto, self.policy = fleet, proto, policy

    def prepare(self, paths: list[str]):
        from .jobs import prepare_model

        return [prepare_model(p) for p in paths]

    def run(self, jobs, sources: dict) -> Iterator:
        done: queue.Queue = queue.Queue()
        per_device = {d.name: queue.Queue() for d in self.fleet.devices}
        for job in jobs:
            per_device[job.device].put(job)
        workers, threads = [], []
        for d in self.fleet.devices:
            if per_device[d.name].empty():
                continue
            spec = transport_spec(d, self.policy.timeout_s)
            for _ in range(d.slots):
                w = DeviceWorker(d, spec, self.proto, self.policy)
                workers.append(w)
                t = threading.Thread(target=self._drain, args=(w, per_device[d.name], sources, done), daemon=True,
                                     name=f"edgekit-fleet-{d.name}")
                t.start()
                threads.append(t)
        try:
            for _ in range(len(jobs)):
                item = done.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
            for t in threads:
                t.join()
        finally:  # after an error the daemon threads may still be measuring: they end with the process
            for w in workers:
                w.close()

    @staticmethod
    def _drain(worker, jobs: queue.Queue, sources, done: queue.Queue) -> None:
        while True:
            try:
                job = jobs.get_nowait()
            except queue.Empty:
                return
            try:
                done.put(worker.run(job, sources[job.model.sha256]))
            except BaseException as exc:  # noqa: BLE001 - a bug must reach the driver, not kill a thread silently
                done.put(exc)
                return

    def close(self) -> None:
        pass


class RayEngine:
    """Each device slot is a Ray actor holding 1 unit of the device's custom resource (``slots`` units
    exist), so Ray never places two benchmarks on one board; host-side work runs as Ray tasks."""

    name = "Ray"

    def __init__(self, fleet, proto, policy, address: str):
        import ray

        self.ray, self.fleet, self.proto, self.policy = ray, fleet, proto, policy
        self.started = False
        wanted = {d.resource: float(d.slots) for d in fleet.devices}
        if address != "auto":
            _probe(address)  # a wrong address fails in seconds here; Ray itself would retry for a minute
        if ray.is_initialized():  # e.g. a notebook or a test session that started Ray: use it
            if address != "auto" and _gcs(address) != _gcs(ray.get_runtime_context().gcs_address):
                raise FleetError(f"Ray is already running in this process, not connected to {address}",
                                 f"it is connected to {ray.get_runtime_context().gcs_address}",
                                 "call ray.shutdown() first, or pass --ray auto")
        else:
            try:
                if address == "auto":  # a local Ray just for this run, offering this fleet's devices
                    ray.init(resources=wanted, include_dashboard=False, log_to_driver=False,
                             configure_logging=False)
                else:
                    ray.init(address=address, log_to_driver=False, configure_logging=False)
            except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ValueError...
                raise FleetError(f"cannot reach Ray at {address}", str(exc).splitlines()[0][:200] if str(exc) else
                                 type(exc).__name__, "check the address (ray status on the head node), or "
                                 "use --ray auto for a local Ray") from None
            self.started = True
        have = ray.cluster_resources()
        missing = [d for d in fleet.devices if have.get(d.resource, 0) < d.slots]
        if missing:
            self.close()
            d = missing[0]
            raise FleetError(f"no Ray node offers {d.slots} of resource {d.resource!r} for device {d.name}",
                             "each board is reserved through its resource on the node it is wired to",
                             f"start that node with ray start --address=HEAD --resources='{{\"{d.resource}\": "
                             f"{d.slots}}}' (docs/fleet.md)")

    def prepare(self, paths: list[str]):
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        from .jobs import prepare_model

        here = NodeAffinitySchedulingStrategy(self.ray.get_runtime_context().get_node_id(), soft=False)
        task = self.ray.remote(prepare_model).options(num_cpus=1, scheduling_strategy=here, max_retries=0)
        return self._get([task.remote(p) for p in paths])

    def _get(self, refs):
        from ..errors import EdgekitError

        try:
            return self.ray.get(refs)
        except self.ray.exceptions.RayTaskError as exc:  # an EdgekitError inside a task: raise it as itself
            cause = getattr(exc, "cause", None)
            if isinstance(cause, EdgekitError):
                raise cause from None
            raise

    def run(self, jobs, sources: dict) -> Iterator:
        ray = self.ray
        actor_cls = ray.remote(DeviceWorker)
        refs = {sha: [ray.put(Path(path).read_bytes())] for sha, path in sources.items()}  # one copy per model
        actors, pending = [], {}
        by_device: dict[str, list] = {}
        for job in jobs:
            by_device.setdefault(job.device, []).append(job)
        for d in self.fleet.devices:
            if d.name not in by_device:
                continue
            spec = transport_spec(d, self.policy.timeout_s)
            slots = [actor_cls.options(num_cpus=0, resources={d.resource: 1}, max_concurrency=1,
                                       name=None).remote(d, spec, self.proto, self.policy) for _ in range(d.slots)]
            actors += slots
            for i, job in enumerate(by_device[d.name]):  # an actor runs its calls one after another
                pending[slots[i % len(slots)].run.remote(job, refs[job.model.sha256])] = job
        try:
            while pending:
                ready, _ = ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    pending.pop(ref)
                    yield self._get(ref)
        finally:
            for a in actors:
                try:
                    ray.get(a.close.remote(), timeout=30)
                except Exception:  # noqa: BLE001 - the actor may be gone; Ray reclaims it with the driver
                    pass
                ray.kill(a)

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False


NO_RAY = ("off", "none", "no")


def ray_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def _gcs(address: str) -> str:
    host, _, port = address.removeprefix("ray://").rpartition(":")
    return f"{'127.0.0.1' if host in ('localhost', '') else host}:{port}"


def _probe(address: str) -> None:
    """A TCP connect to the GCS port of ``host:port`` (Ray's head listens there; default 6379)."""
    import socket

    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise FleetError(f"--ray {address!r} is not auto, off or HOST:PORT", "expected the head node's address",
                         "use e.g. --ray 10.0.0.2:6379 (ray status prints it on the head node)")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=5).close()
    except OSError as exc:
        raise FleetError(f"cannot reach Ray at {address}", exc.strerror or str(exc),
                         "start the head node (ray start --head) or fix the address; nothing was run") from None


def make_engine(fleet, proto, policy, ray_address: str | None = "auto"):
    """Ray for ``auto`` (when installed) or an address; threads for ``off``, or ``auto`` without Ray."""
    if ray_address is None or ray_address.lower() in NO_RAY or (ray_address == "auto" and not ray_installed()):
        return ThreadEngine(fleet, proto, policy)
    if not ray_installed():
        from ..errors import DependencyError

        raise DependencyError(f"--ray {ray_address} needs Ray", "it is not installed",
                              "pip install 'edgekit[ray]', or pass --ray off to run in-process") from None
    return RayEngine(fleet, proto, policy, ray_address)
