"""The device runner: open a model with whichever backend is present and measure it.

This one file is all a device needs (stdlib, numpy, and one of ai_edge_litert, tflite_runtime,
tensorflow.lite or onnxruntime). ``edgekit.load`` uses its backends on the host; host profiling runs
it in a fresh child process; remote profiling copies it to the device and runs it there. So it must
never import anything from edgekit except, when available, the error classes.

    python3 device.py MODEL [--threads N] [--warmup N] [--runs N | --duration S] [--seed N]

prints one JSON record on stdout (or ``{"error": {...}}`` and exit status 3).
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import sys
import tempfile
import time

import numpy as np

try:  # on the host the errors join edgekit's family; on a device this file stands alone
    from edgekit.errors import DependencyError, InputError, ModelError
except ImportError:  # pragma: no cover - exercised on devices
    class _DeviceError(Exception):
        def __init__(self, what, why="", fix=""):
            self.what, self.why, self.fix = what, why, fix
            super().__init__(": ".join(p for p in (what, why, fix) if p))

    class ModelError(_DeviceError): pass
    class InputError(_DeviceError): pass
    class DependencyError(_DeviceError): pass

TFLITE_IDENTIFIER = b"TFL3"  # flatbuffer file identifier, bytes 4..8 (tensorflow/lite/schema/schema.fbs)
_ORT_DTYPES = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
               "tensor(int8)": "int8", "tensor(uint8)": "uint8", "tensor(int16)": "int16",
               "tensor(int32)": "int32", "tensor(int64)": "int64", "tensor(bool)": "bool",
               "tensor(uint16)": "uint16", "tensor(uint32)": "uint32", "tensor(uint64)": "uint64"}


class TensorInfo:
    """One model input or output. ``scale``/``zero_point`` are set for quantized tensors only.

    ``dynamic`` holds the indices of dims the model leaves open (empty when static). ``shape`` has 1
    there, the size edgekit measures with; ``Model.run`` accepts any size at those dims.
    """

    __slots__ = ("name", "shape", "dtype", "scale", "zero_point", "dynamic")

    def __init__(self, name, shape, dtype, scale=None, zero_point=None, dynamic=()):
        self.name, self.shape, self.dtype = name, tuple(int(d) for d in shape), np.dtype(dtype)
        self.scale, self.zero_point, self.dynamic = scale, zero_point, tuple(dynamic)

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype.name,
                "scale": self.scale, "zero_point": self.zero_point}

    def __repr__(self) -> str:
        q = f", scale={self.scale:g}, zero_point={self.zero_point}" if self.quantized else ""
        return f"TensorInfo({self.name!r}, {self.shape}, {self.dtype.name}{q})"


def usable_cores() -> int:
    """Cores this process may run on (its affinity mask), not all the machine has."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # macOS, Windows
        return os.cpu_count() or 1


def thread_limit(cores: int | None = None) -> int:
    """The most threads edgekit asks for: max(8, 4 x cores); ``cores`` defaults to this machine's usable ones.

    More threads than that only take turns, and an unbounded count (threads=1_000_000) exhausted the
    machine's thread limit and memory (issue 17). The one bound used by the API, CLI, targets and bundles.
    """
    return max(8, 4 * (cores if cores else usable_cores()))


def check_threads(value, where: str = "threads", cores: int | None = None):
    """``value`` if it is None or a whole number in 1..thread_limit(cores); else InputError naming ``where``."""
    if value is None:
        return None
    limit = thread_limit(cores)
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or not 1 <= value <= limit:
        raise InputError(f"{where} must be a whole number from 1 to {limit}", f"got {value!r}",
                         f"more threads than max(8, 4 x usable cores) only take turns; use {min(4, limit)} or fewer")
    return int(value)


def detect_format(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise InputError(f"cannot read model {path}", exc.strerror or str(exc), "check the path") from exc
    if head[4:8] == TFLITE_IDENTIFIER:
        return "tflite"
    if path.lower().endswith(".onnx"):  # onnxruntime itself ignores the extension; be as lenient
        return "onnx"
    raise ModelError(f"{path} is not a model edgekit can run", "it is neither a TFLite flatbuffer nor an .onnx file",
                     "give a .onnx or .tflite file")


def _dims(shape) -> tuple[list[int], tuple[int, ...]]:
    """Fix dynamic dims (None, -1, symbolic) to 1 — a device runs one sample at a time — and say which."""
    fixed = [isinstance(d, (int, np.integer)) and d > 0 for d in shape]
    return [d if ok else 1 for d, ok in zip(shape, fixed)], tuple(i for i, ok in enumerate(fixed) if not ok)


class OrtBackend:
    name = "onnxruntime"

    @staticmethod
    def import_module():
        try:
            import onnxruntime
        except ImportError as exc:
            raise _import_error("onnxruntime", "onnxruntime", exc) from exc
        # onnxruntime logs warnings in colour on stderr before edgekit's own line (issue 17, item 11);
        # its errors still reach us as exceptions.
        onnxruntime.set_default_logger_severity(3)
        return onnxruntime

    def __init__(self, path: str, threads: int | None):
        ort = self.import_module()
        opts = session_options(ort, threads)
        try:
            self.session = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph/... types
            raise ModelError(f"onnxruntime cannot load {path}", _ort_reason(str(exc)),
                             "check that the file is a complete, valid ONNX model") from exc
        self.version = ort.__version__
        self.inputs = [self._info(a) for a in self.session.get_inputs()]
        self.outputs = [self._info(a) for a in self.session.get_outputs()]

    @staticmethod
    def _info(arg) -> TensorInfo:
        dims, dynamic = _dims(arg.shape)
        return TensorInfo(arg.name, dims, _ORT_DTYPES.get(arg.type, "float32"), dynamic=dynamic)

    def run(self, feeds: dict) -> list:
        try:
            return self.session.run(None, feeds)
        except Exception as exc:  # onnxruntime's Fail/InvalidArgument/RuntimeException... (C++ types)
            raise run_error("onnxruntime", str(exc)) from exc


def session_options(ort, threads: int | None):
    """onnxruntime options edgekit uses everywhere: ``threads`` intra-op threads whose pool sleeps when idle.

    A spinning pool (onnxruntime's default) burns its waiting threads' CPU: on a busy 2-core host
    (load ~10) 300 runs of the shapes teacher took 8.7 s spinning and 2.6 s without (see
    docs/benchmarks.md, "CPU contention"). On an idle device spinning saves a thread wake-up per op.
    """
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or 0
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return opts


def _ort_reason(message: str) -> str:
    """The human part of an onnxruntime error, without its status prefix and C++ source location."""
    line = message.strip().splitlines()[0] if message.strip() else "unknown error"
    line = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", line)
    line = re.sub(r"^Load model from \S+ failed:", "", line)
    if "onnxruntime_src" in line or "::" in line:  # "/onnxruntime_src/x.cc:256 onnxruntime::F(...) reason"
        line = line.rsplit(") ", 1)[-1]
    return line.strip()[:300]


def _import_error(module: str, package: str, exc: ImportError) -> Exception:
    """Not installed, or installed but broken: only the first is fixed by pip install."""
    import importlib.util

    try:
        installed = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        installed = False
    if installed:
        return DependencyError(f"{module} is installed but failed to import", str(exc).splitlines()[0][:300]
                               if str(exc) else type(exc).__name__, f"reinstall it: pip install --force-reinstall {package}")
    return DependencyError(f"{module} is not installed", str(exc), f"pip install {package}")


def run_error(runtime: str, message: str) -> Exception:
    """A runtime's inference error as one line naming the node (issue 17: no C++ text, no traceback)."""
    text = message.strip()
    node = re.search(r"running (\w+) node\. Name:'([^']*)'", text)  # onnxruntime
    if node:
        where = f"node {node.group(2)!r} ({node.group(1)})" if node.group(2) else f"a {node.group(1)} node"
        why = re.sub(r".*Status Message: ", "", text, flags=re.S).strip()
    else:
        node = re.search(r"Node number (\d+) \((\w+)\)", text)  # LiteRT: "Node number 3 (CONV_2D) failed to ..."
        where = f"operator {node.group(1)} ({node.group(2)})" if node else "the model"
        why = text
    why = _ort_reason(why) if runtime == "onnxruntime" else (why.splitlines() or ["unknown error"])[0][:300]
    return ModelError(f"{runtime} failed running {where}", why,
                      "check the input values and shapes; the model file itself may be malformed")


def import_tflite():
    """(module name, version, Interpreter class): ai_edge_litert, then tflite_runtime, then TensorFlow."""
    for name in ("ai_edge_litert", "tflite_runtime", "tensorflow"):
        try:
            if name == "ai_edge_litert":
                from ai_edge_litert.interpreter import Interpreter
            elif name == "tflite_runtime":
                from tflite_runtime.interpreter import Interpreter
            else:
                from tensorflow.lite import Interpreter
        except ImportError:
            continue
        return name, _version(name), Interpreter
    raise DependencyError("no TFLite interpreter is installed", "none of ai_edge_litert, tflite_runtime, tensorflow",
                          "pip install ai-edge-litert")


def _version(module: str) -> str:
    try:
        from importlib.metadata import version
        return version({"ai_edge_litert": "ai-edge-litert", "tflite_runtime": "tflite-runtime"}.get(module, module))
    except Exception:
        return "unknown"


# What LiteRT prints to fd 2 on every interpreter it makes: noise in edgekit's output (its C++ logger
# writes to the file descriptor, so contextlib.redirect_stderr cannot catch it).
KNOWN_NOISE = ("INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",)


@contextlib.contextmanager
def quiet_stderr(noise=KNOWN_NOISE):
    """Capture file descriptor 2 while a runtime loads, then re-emit everything but the ``noise`` lines.

    A real error the runtime prints stays visible (after the block); only the known INFO lines go.
    Without a real fd 2 (stderr replaced, e.g. captured in a test) the block runs as is.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    try:
        with tempfile.TemporaryFile() as tmp:
            os.dup2(tmp.fileno(), 2)
            try:
                yield
            finally:
                try:
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
                os.dup2(saved, 2)
                tmp.seek(0)
                kept = [l for l in tmp.read().decode("utf-8", "replace").splitlines(keepends=True)
                        if l.strip() not in noise]
                if kept:
                    os.write(2, "".join(kept).encode("utf-8"))
    finally:
        os.close(saved)


class TfliteBackend:
    def __init__(self, path: str, threads: int | None):
        self.name, self.version, interpreter_cls = import_tflite()
        try:  # XNNPACK is LiteRT's default CPU delegate; num_threads also sizes its thread pool
            with quiet_stderr():
                self.interpreter = interpreter_cls(model_path=path, num_threads=threads or None)
                self._resize_dynamic()
                self.interpreter.allocate_tensors()
        except Exception as exc:  # ValueError, RuntimeError, and whatever a binding raises on a hostile file
            raise ModelError(f"the TFLite interpreter cannot load {path}", _first_line(exc),
                             "check that the file is a complete, valid .tflite model") from exc
        names = self._signature_names()
        self.inputs = [self._info(d, names) for d in self.interpreter.get_input_details()]
        self.outputs = [self._info(d, names) for d in self.interpreter.get_output_details()]
        self._in_idx = [d["index"] for d in self.interpreter.get_input_details()]
        self._open = {idx: info.shape for info, idx in zip(self.inputs, self._in_idx) if info.dynamic}
        self._out_idx = [d["index"] for d in self.interpreter.get_output_details()]

    def _resize_dynamic(self):
        for d in self.interpreter.get_input_details():
            dims, dynamic = _dims(d.get("shape_signature", d["shape"]))
            if dynamic:
                self.interpreter.resize_tensor_input(d["index"], dims)

    def _signature_names(self) -> dict:
        """Tensor index -> signature name, so models converted elsewhere still run by their I/O names."""
        try:
            sigs = self.interpreter._get_full_signature_list()  # no public API maps names to indices
        except Exception:
            return {}
        sig = sigs.get("serving_default") or (next(iter(sigs.values())) if len(sigs) == 1 else None)
        if not sig:
            return {}
        return {idx: name for part in ("inputs", "outputs") for name, idx in sig.get(part, {}).items()}

    @staticmethod
    def _info(d: dict, names: dict) -> TensorInfo:
        scale, zp = d.get("quantization", (0.0, 0))
        quantized = scale != 0.0 and np.dtype(d["dtype"]).kind in "iu"
        _, dynamic = _dims(d.get("shape_signature", d["shape"]))
        return TensorInfo(names.get(d["index"], d["name"]), d["shape"], d["dtype"],
                          float(scale) if quantized else None, int(zp) if quantized else None, dynamic)

    def run(self, feeds: dict) -> list:
        interp = self.interpreter
        if self._open:  # inputs with open dims: a new size needs the tensors resized and reallocated first
            self._fit(feeds)
        try:
            for info, idx in zip(self.inputs, self._in_idx):
                interp.set_tensor(idx, feeds[info.name])
            interp.invoke()
            return [interp.get_tensor(i) for i in self._out_idx]
        except (ValueError, RuntimeError) as exc:
            raise run_error(self.name, str(exc)) from exc

    def _fit(self, feeds: dict) -> None:
        changed = False
        for info, idx in zip(self.inputs, self._in_idx):
            shape = feeds[info.name].shape
            if info.dynamic and shape != self._open.get(idx):
                self.interpreter.resize_tensor_input(idx, list(shape))
                self._open[idx], changed = shape, True
        if changed:
            try:
                self.interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as exc:
                raise run_error(self.name, str(exc)) from exc


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def open_backend(path: str, threads: int | None = None, fmt: str | None = None):
    """The backend for ``path``; ``fmt`` (onnx|tflite) when the file name does not tell (a temporary file)."""
    threads = check_threads(threads)  # every route to a backend passes here: API, bundle, runner
    fmt = fmt or detect_format(str(path))
    return (TfliteBackend if fmt == "tflite" else OrtBackend)(str(path), threads), fmt


# ----------------------------------------------------------------------------- measurement protocol
def _rss_mb() -> tuple[float, float]:
    """(current RSS, peak RSS) in MB from /proc (Linux, Android); ru_maxrss elsewhere."""
    try:
        fields = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024
    except (OSError, KeyError, ValueError):
        import resource
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux
        return peak, peak


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def _cpu_model() -> str:
    text = _read("/proc/cpuinfo") or ""
    for key in ("model name", "Model", "Hardware", "cpu model"):
        for line in text.splitlines():
            if line.startswith(key) and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def temperatures_c() -> dict:
    """SoC temperatures (deg C) per thermal zone, where /sys/class/thermal exists."""
    temps, base = {}, "/sys/class/thermal"
    for zone in sorted(os.listdir(base)) if os.path.isdir(base) else []:
        raw = _read(f"{base}/{zone}/temp")
        if raw and raw.lstrip("-").isdigit():
            temps[_read(f"{base}/{zone}/type") or zone] = int(raw) / 1000.0  # millidegrees
    return temps


def host_facts() -> dict:
    meminfo = _read("/proc/meminfo") or ""
    ram = next((int(l.split()[1]) // 1024 for l in meminfo.splitlines() if l.startswith("MemTotal")), None)
    return {"arch": platform.machine(), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "os": platform.platform(), "python": platform.python_version(), "ram_mb": ram,
            "governor": _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"), "load_avg": _load_avg()}


def _load_avg() -> list | None:
    """1, 5 and 15-minute load averages: a loaded host stretches p99 (the report flags it)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):  # not on every platform
        return None


def sample_inputs(inputs, seed: int = 0) -> dict:
    """Deterministic random inputs matching each input's shape and dtype."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for info in inputs:
        if info.dtype.kind == "f":
            feeds[info.name] = rng.standard_normal(info.shape).astype(info.dtype)
        elif info.dtype.kind in "iu":
            lim = np.iinfo(info.dtype)
            hi = int(lim.max) + 1 if info.quantized else 2  # token ids / masks: small values are always valid
            feeds[info.name] = rng.integers(max(int(lim.min), 0 if not info.quantized else int(lim.min)), hi,
                                            info.shape).astype(info.dtype)
        else:
            feeds[info.name] = np.zeros(info.shape, info.dtype)
    return feeds


SAMPLES = 1 << 16  # per-run latencies kept for the percentiles: 512 KB, allocated before the baseline RSS


class Timings:
    """Per-run latencies (ms) in bounded memory, so the record's RSS is the model's and not edgekit's.

    A Python list costs ~32 bytes a run: a 30 s ``--duration`` run of a microsecond model kept ~5 million
    and its peak RSS grew by ~220 MB. Here mean, std, min and max are exact running figures over every
    run; the percentiles come from every run up to ``cap``, beyond that from a uniform random sample of
    ``cap`` runs (reservoir sampling, Vitter's algorithm R; with 65536 samples the p99 is off by about
    0.04 percentile points, one standard error).
    """

    def __init__(self, cap: int, seed: int = 0):
        import random

        self.buf = np.full(max(1, cap), np.nan)  # written now, so its pages are resident before the baseline
        self.cap, self.n, self._rng = max(1, cap), 0, random.Random(seed)
        self._shift = self._sum = self._sumsq = 0.0  # sums of (x - first x): no cancellation in the variance
        self.min, self.max = float("inf"), float("-inf")

    def add(self, ms: float) -> None:
        if self.n == 0:
            self._shift = ms
        self.n += 1
        d = ms - self._shift
        self._sum += d
        self._sumsq += d * d
        self.min, self.max = min(self.min, ms), max(self.max, ms)
        if self.n <= self.cap:
            self.buf[self.n - 1] = ms
        else:
            j = self._rng.randrange(self.n)
            if j < self.cap:
                self.buf[j] = ms

    def stats(self) -> dict:
        kept = self.buf[:min(self.n, self.cap)]
        p50, p90, p99 = np.percentile(kept, [50, 90, 99])
        mean_d = self._sum / self.n
        std = float(np.sqrt(max(0.0, self._sumsq / self.n - mean_d * mean_d)))  # population std, as np.std
        return {"mean": self._shift + mean_d, "std": std, "min": self.min, "p50": float(p50), "p90": float(p90),
                "p99": float(p99), "max": self.max}


def measure(path: str, threads: int | None = None, warmup: int = 10, runs: int | None = 100,
            duration: float | None = None, seed: int = 0) -> dict:
    """The measurement protocol: load, first run, warm-up, then timed runs; RSS from /proc."""
    if detect_format(str(path)) == "tflite":  # import the backend first: the baseline includes it
        import_tflite()
    else:
        OrtBackend.import_module()
    timings = Timings(min(runs, SAMPLES) if runs else SAMPLES, seed)  # before the baseline: not the model's
    baseline, _ = _rss_mb()
    temps_before = temperatures_c()
    t0 = time.perf_counter()
    backend, fmt = open_backend(path, threads)
    load_ms = (time.perf_counter() - t0) * 1e3
    feeds = sample_inputs(backend.inputs, seed)
    t0 = time.perf_counter()
    backend.run(feeds)
    first_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(warmup):
        backend.run(feeds)
    deadline = (time.perf_counter() + duration) if duration else None
    while (timings.n < runs) if runs else (time.perf_counter() < deadline):
        t0 = time.perf_counter_ns()
        backend.run(feeds)
        timings.add((time.perf_counter_ns() - t0) / 1e6)
    _, peak = _rss_mb()
    stats = timings.stats()
    return {"format": fmt, "threads": threads, "runs": timings.n, "warmup": warmup,
            "runtime": {"name": backend.name, "version": backend.version},
            "host": host_facts(), "load_ms": load_ms, "first_run_ms": first_ms, "latency_ms": stats,
            "throughput_per_s": 1000.0 / stats["mean"],
            "memory_mb": {"baseline_rss": baseline, "peak_rss": peak, "growth": peak - baseline},
            "model_bytes": os.path.getsize(path), "pid": os.getpid(),  # shows it ran in its own process
            "dynamic_inputs": [i.name for i in backend.inputs if i.dynamic],
            "temperature_c": {"before": temps_before, "after": temperatures_c()}}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="edgekit device runner")
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--duration", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        check_threads(args.threads, "--threads")
        record = measure(args.model, args.threads, args.warmup, None if args.duration else args.runs,
                         args.duration, args.seed)
    except Exception as exc:  # report every failure as data; the host turns it into an EdgekitError
        return report_error(exc)
    print(json.dumps(record))
    return 0


def report_error(exc: Exception) -> int:
    """Print a failure as the JSON line the host turns back into an EdgekitError; the exit status 3."""
    err = {"kind": type(exc).__name__, "what": getattr(exc, "what", str(exc)),
           "why": getattr(exc, "why", ""), "fix": getattr(exc, "fix", "")}
    print(json.dumps({"error": err}))
    return 3


if __name__ == "__main__":
    sys.exit(main())
