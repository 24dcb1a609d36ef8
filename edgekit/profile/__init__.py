"""``edgekit profile``: latency and memory of a model, measured in a fresh process.

The measurement itself is ``edgekit/runtime/device.py`` — the same file runs on the host (in a child
process, so the memory figures belong to the model and not to this process) and on devices.
Where it runs is a transport (``transport.py``: host, ssh://, adb://); what comes back is a typed
``ProfileRecord`` (``record.py``), parsed once here on the host.
"""
from __future__ import annotations

import warnings
from pathlib import Path

from ..errors import EdgekitWarning, InputError
from ..runtime.device import check_threads
from ..targets import Target, get_target
from .record import Latency, Memory, NotRun, ProfileRecord, Runtime, Temperatures, Verdict, parse_result  # noqa: F401
from .runner import RUNNER, Protocol, measure_local, parse_runner_output  # noqa: F401
from .transport import Transport, open_transport  # noqa: F401


def profile(model, target=None, *, threads: int | None = None, warmup: int = 10, runs: int = 100,
            duration: float | None = None, on_host: bool = False, remote: str | None = None,
            trusted_keys=None, **remote_options) -> ProfileRecord:
    """Measure ``model`` for ``target`` and return its ProfileRecord (see docs/profile.md).

    ``remote="ssh://[user@]host[:port]"`` or ``"adb://[SERIAL]"`` measures on that device; ``remote_options``
    are the transport's options: identity, ssh_config, remote_python (ssh); benchmark_binary,
    perf_test_binary, delegate (adb). See docs/remote.md. ``trusted_keys``: a bundle must be signed by one.
    """
    path = resolve_model(model, target, trusted_keys)
    from ..validate import check_file

    check_file(path, probe=not remote)  # a device may run another runtime: check the structure only there
    tgt = get_target(target)
    proto = Protocol(threads, warmup, runs, duration).check()
    # the one bound (runtime.device.thread_limit): the device's cores when measured there or when the
    # count is the target's own (already bounded by its cores), else this host's
    check_threads(proto.threads or tgt.threads, "--threads",
                  cores=tgt.cores if remote or proto.threads is None else None)
    options = remote_options if remote else {"on_host": on_host}
    transport = open_transport(remote or "host", **options)
    try:
        return measure_with(transport, path, tgt, proto)
    finally:
        transport.close()


def resolve_model(model, target=None, trusted_keys=None) -> Path:
    """The model file to measure: ``model`` itself, or a bundle directory's file for ``target``."""
    path = Path(model)
    if path.is_dir():  # a bundle: the model edgekit.load(DIR, target=...) would run, hash-checked
        path = bundle_model(path, target, trusted_keys)
    elif trusted_keys is not None:
        raise InputError(f"{path.name} is a bare model file", "trusted keys check a signed bundle's signature",
                         "profile the bundle directory, or drop --trusted-key")
    if not path.is_file():
        raise InputError(f"model {path} not found", "no such file", "check the path")
    return path


def measure_with(transport: Transport, path: Path, tgt: Target, proto: Protocol, **fields) -> ProfileRecord:
    """One measurement through an open transport (a single --remote or a fleet device: the same code)."""
    from .remote import device_warnings

    raw = transport.measure(path, tgt, proto, proto.threads or tgt.threads)
    raw.setdefault("measured_on", transport.address.shown)  # adb:// resolves to the attached device's serial
    from .lm import add_lm_figures

    add_lm_figures(raw, transport, path, proto, proto.threads or tgt.threads)
    if transport.remote:
        raw["warnings"] = device_warnings(raw, tgt)
        for text in raw["warnings"]:
            warnings.warn(f"{transport.address.shown}: {text}", EdgekitWarning)
    for name in raw.get("dynamic_inputs", []):
        warnings.warn(f"input {name!r} has a dynamic dimension; it was measured with 1", EdgekitWarning)
    return finish_record(raw, path, tgt).replace(**fields)


def finish_record(raw: dict, path: Path, tgt: Target) -> ProfileRecord:
    """Parse a raw record (once, here on the host) and add model, target and budget verdicts."""
    from .. import __version__

    record = ProfileRecord.from_dict({"model": str(path), "target": tgt.name, **raw},
                                     where=str(raw.get("measured_on", "the device")))
    return record.replace(budget=check_budgets(record, tgt), edgekit_version=__version__)


def check_budgets(record: ProfileRecord, tgt: Target) -> dict[str, Verdict]:
    """Each budget of the target with the measured value and pass/fail.

    Latency is judged on p50 (a median is stable on a shared machine; p99 is in the record), memory on
    the process's peak RSS (what the device must have free), size on the model file.
    """
    measured = {"latency_ms": record.latency_ms.typical,  # benchmark_model may not report a median
                "memory_mb": ("peak_rss", record.memory_mb.peak_rss),
                "model_mb": ("file size", record.model_bytes / 1e6)}
    out = {}
    for key, (stat, value) in measured.items():
        limit = getattr(tgt.budgets, key)
        if limit is not None and value is None:
            out[key] = Verdict(limit, None, f"{stat}: not reported", None)
        elif limit is not None:
            out[key] = Verdict(limit, round(value, 4), stat, value <= limit)
    return out


TABLE_HEADERS = ["model", "target", "measured on", "runtime", "thr", "load ms", "first ms", "p50 ms",
                 "p99 ms", "per s", "peak MB", "size MB", "budget"]


def table_row(r: ProfileRecord) -> list:
    fails = [k for k, v in r.budget.items() if v.passed is False]
    verdict = ("over: " + ",".join(fails)) if fails else ("ok" if r.budget else "-")
    where = f"{r.device} ({r.measured_on})" if r.device else r.measured_on
    return [r.name, r.target, where, r.runtime.name, r.threads, r.load_ms, r.first_run_ms, r.latency_ms.p50,
            r.latency_ms.p99, r.throughput_per_s, r.memory_mb.peak_rss, r.model_bytes / 1e6, verdict]


def bundle_model(root: Path, target, trusted_keys=None) -> Path:
    """The model file of bundle directory ``root`` for ``target`` (its format), verified against edgekit.json."""
    from ..runtime.bundle import MANIFEST, choose, open_bundle, verify

    if not (root / MANIFEST).is_file():  # "not found" would send the user looking for a path that exists
        raise InputError(f"model {root} is a directory", f"profile measures one .onnx or .tflite file, or a "
                         f"bundle directory with {MANIFEST}", "give the model file or a directory made by `edgekit bundle`")
    from ..validate import bundle_errors

    with bundle_errors(root):
        return verify(root, choose(open_bundle(root, trusted_keys), target))
