"""Load and run a model once in a child process, so a runtime that aborts takes down the child, not us.

LiteRT can SIGABRT inside ``allocate_tensors`` on a file it accepted (issue 19), and onnxruntime can
crash on hostile graphs; Python cannot catch either. ``probe(path)`` opens the file with the same
backend ``edgekit.load`` uses, runs it once on sample inputs, and turns the child's fate into a
verdict: ``ok``, ``error`` (a clean EdgekitError from the runtime), ``crash`` (a signal) or ``hang``.

Cost: one worker process per edgekit process, started on the first probe and reused (it imports the
backend once; a probe then costs the model's load and one run). A worker that died is replaced; a
crash is confirmed in a fresh worker before the file is blamed. Verdicts ``ok`` are cached on disk by
the file's sha256 and the runtime's version (``$EDGEKIT_CACHE_DIR``, else ``~/.cache/edgekit``), so a
file is probed once per machine. See docs/validation.md.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError

PROBE_TIMEOUT_S = float(os.environ.get("EDGEKIT_PROBE_TIMEOUT", "300"))


@dataclass(frozen=True)
class Verdict:
    status: str           # ok | error | crash | hang
    what: str = ""
    why: str = ""
    fix: str = ""
    kind: str = "ModelError"

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def raise_for(self, path) -> None:
        if self.ok:
            return
        name = Path(path).name
        if self.status == "error":
            from .. import errors

            cls = getattr(errors, self.kind, ModelError)
            raise (cls if isinstance(cls, type) and issubclass(cls, errors.EdgekitError) else ModelError)(
                self.what, self.why, self.fix)
        raise ModelError(f"{name} {self.what}", self.why, "the file is unusable with this runtime; "
                         "re-export or re-convert it (edgekit refuses to open it in-process)")


def file_digest(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _cache_dir() -> Path:
    base = os.environ.get("EDGEKIT_CACHE_DIR")
    return Path(base) if base else Path.home() / ".cache" / "edgekit"


def _cache_file(digest: str, fmt: str) -> Path:
    return _cache_dir() / "probed" / f"{digest}.{fmt}.{_runtime_tag(fmt)}"


def _runtime_tag(fmt: str) -> str:
    """The backend and its version: a verdict for LiteRT 2.0 says nothing about LiteRT 2.1."""
    from importlib.metadata import PackageNotFoundError, version

    names = ("ai-edge-litert", "tflite-runtime", "tensorflow") if fmt == "tflite" else ("onnxruntime",)
    for name in names:
        try:
            return f"{name}-{version(name)}"
        except PackageNotFoundError:
            continue
    return "none"


def cached_ok(digest: str, fmt: str) -> bool:
    try:
        return _cache_file(digest, fmt).is_file()
    except OSError:
        return False


def remember_ok(digest: str, fmt: str) -> None:
    """Record an ok verdict; a cache that cannot be written only costs a probe next time."""
    try:
        f = _cache_file(digest, fmt)
        f.parent.mkdir(parents=True, exist_ok=True)
        f.touch()
    except OSError:
        pass


def probe(path, fmt: str | None = None, digest: str | None = None, use_cache: bool = True) -> Verdict:
    """The verdict for the model file ``path`` (``fmt`` onnx|tflite when its name does not tell)."""
    from .device import detect_format

    fmt = fmt or detect_format(str(path))
    if use_cache:
        digest = digest or file_digest(path)
        if cached_ok(digest, fmt):
            return Verdict("ok")
    with _LOCK:  # one worker, one request at a time (fleet runs profiles in threads)
        verdict = _WORKER.ask(str(path), fmt)
        if verdict.status == "crash":  # a worker hurt by an earlier model must not blame this one: a fresh one
            _WORKER.stop()
            verdict = _WORKER.ask(str(path), fmt)
    if verdict.ok and use_cache and digest:
        remember_ok(digest, fmt)
    return verdict


def check(path, fmt: str | None = None) -> None:
    """``probe`` that raises the verdict as a one-line ModelError."""
    probe(path, fmt).raise_for(path)


class _Worker:
    """One long-lived child that answers {"path", "format"} lines with verdict lines."""

    def __init__(self, argv: list[str] | None = None):
        self.proc: subprocess.Popen | None = None
        self.argv = argv or [sys.executable, "-c", "from edgekit.runtime.probe import serve; serve()"]

    def _start(self) -> subprocess.Popen:
        root = str(Path(__file__).resolve().parents[2])  # the directory holding the edgekit package
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(self.argv,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, start_new_session=True)  # Ctrl-C goes to us; we stop it
        return self.proc

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc is not None:
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass

    def ask(self, path: str, fmt: str) -> Verdict:
        proc = self.proc if self.proc is not None and self.proc.poll() is None else self._start()
        try:
            proc.stdin.write((json.dumps({"path": path, "format": fmt}) + "\n").encode())
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return self._died()
        deadline = time.monotonic() + PROBE_TIMEOUT_S
        while True:
            try:
                ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            except BaseException:  # Ctrl-C while waiting: the worker may be mid-model; do not reuse it
                self.stop()
                raise
            if not ready:
                self.stop()
                return Verdict("hang", f"did not finish loading and one run in {PROBE_TIMEOUT_S:.0f} s",
                               "the runtime hangs on it or it is far too large for this machine")
            line = proc.stdout.readline()
            if not line:
                return self._died()
            try:
                return Verdict(**json.loads(line))
            except (ValueError, TypeError):
                continue  # a stray line some library printed to fd 1: not ours

    def _died(self) -> Verdict:
        proc = self.proc
        code = proc.wait() if proc is not None else None
        self.stop()
        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return Verdict("crash", f"crashed the runtime ({name} while loading or running it)",
                           "the interpreter aborted on this file")
        return Verdict("crash", f"stopped the runtime (exit {code} while loading or running it)",
                       "the interpreter exited on this file")


_WORKER = _Worker()
_LOCK = threading.Lock()
atexit.register(_WORKER.stop)


def serve() -> None:  # pragma: no cover - runs in the worker process (covered through probe())
    """The worker loop: answer each request line with one verdict line on the original stdout."""
    out = os.fdopen(os.dup(1), "w")
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # runtimes print (XNNPACK's INFO line); keep fd 1 for verdicts
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for line in sys.stdin:
        try:
            req = json.loads(line)
            verdict = _probe_here(req["path"], req["format"])
        except Exception as exc:  # noqa: BLE001 - every failure is reported as data
            verdict = {"status": "error", "kind": "ModelError", "what": "the probe failed",
                       "why": f"{type(exc).__name__}: {str(exc)[:200]}", "fix": "run with --debug"}
        out.write(json.dumps(verdict) + "\n")
        out.flush()


def _check_input_sizes(inputs) -> None:
    """Sample inputs are allocated: a declared 1x3x10^9x8 input must be refused, not tried (179 GiB)."""
    import numpy as np

    from ..validate import memory_budget

    total = sum(int(np.prod(i.shape, dtype=np.float64)) * i.dtype.itemsize for i in inputs)
    if total > memory_budget() // 2:
        shapes = ", ".join(f"{i.name} {list(i.shape)}" for i in inputs)
        raise ModelError(f"the model's inputs take {total / 2**30:.1f} GiB ({shapes})",
                         f"more than half of this machine's {memory_budget() / 2**30:.1f} GiB",
                         "check the model's declared input shape")


def _is_data(info) -> bool:
    """An integer or bool input that is not a quantized tensor: ids, indices, divisors."""
    return info.dtype.kind in "iub" and not info.quantized


def _probe_here(path: str, fmt: str) -> dict:
    from ..errors import EdgekitError
    from .device import open_backend, sample_inputs

    try:
        if fmt == "onnx":  # the structural checks of validate.py, here so the caller need not import onnx
            from ..validate import check_onnx_file

            check_onnx_file(path)
        backend, _ = open_backend(path, 1, fmt=fmt)
        _check_input_sizes(backend.inputs)
        try:
            backend.run(sample_inputs(backend.inputs))
        except EdgekitError:
            # Open dims run at the stand-in size 1, which a 3x3 convolution cannot take, and integer inputs
            # are data (a divisor of 0, an index out of range) that random values cannot respect: there only
            # a crash counts against the file. Static float inputs make the sample a valid input.
            if not any(i.dynamic or _is_data(i) for i in backend.inputs):
                raise
    except EdgekitError as exc:
        return {"status": "error", "kind": type(exc).__name__, "what": exc.what, "why": exc.why, "fix": exc.fix}
    finally:
        backend = None  # noqa: F841 - release the model before the next request
    return {"status": "ok"}
