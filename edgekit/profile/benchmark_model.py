"""Parse the text that TFLite's ``benchmark_model`` and onnxruntime's ``onnxruntime_perf_test`` print.

Android has no Python for edgekit's own runner, so on a phone edgekit runs these two native tools and
turns their output into the same profile record as ``edgekit/runtime/device.py`` produces. The line
formats come from the tools' sources (tensorflow/lite/tools/benchmark/benchmark_model.cc,
benchmark_tflite_model.cc; onnxruntime/test/perftest/performance_runner.cc):

    count=50 first=2990275 curr=2913402 min=2727568 max=3189954 avg=2.95034e+06 std=109798 [p5=.. median=.. p95=..]
    Inference timings in us: Init: 17187, First inference: 3512391, Warmup (avg): 3.51239e+06, Inference (avg): 2.95034e+06
    Memory footprint delta from the start of the tool (MB): init=4.21094 overall=46.0859
    Peak memory footprint (MB): init=4.92969 overall=138.809          (older builds)
    Overall peak memory footprint (MB) via periodic monitoring: 93.2383   (--report_peak_memory_footprint=true)

Lines may carry a log prefix (``INFO: ``, logcat's ``I tflite  : ``), so every pattern is searched, not
anchored. Times are microseconds; numbers may be printed in C++ ``%g`` style (``2.95034e+06``).
"""
from __future__ import annotations

import re

from ..errors import RemoteError

_NUM = r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
_COUNT = re.compile(r"\bcount=(\d+)((?:\s+\w+=" + _NUM[1:-1] + r")*)")
_PAIR = re.compile(r"(\w+)=" + _NUM)
_TIMINGS = re.compile(r"Inference timings in us: Init: " + _NUM + r", First inference: " + _NUM
                      + r", Warmup \(avg\): " + _NUM + r", Inference \(avg\): " + _NUM)
_DELTA = re.compile(r"(?:Memory footprint delta from the start of the tool|Peak memory footprint) \(MB\): "
                    r"init=" + _NUM + r" overall=" + _NUM)
_PEAK = re.compile(r"Overall peak memory footprint \(MB\) via periodic monitoring: " + _NUM)
_DELEGATED = re.compile(r"Replacing (\d+) out of (\d+) node\(s\) with delegate \((\w+)\)")

# What benchmark_model cannot tell us, said in the record instead of invented.
BENCHMARK_MODEL_NOTE = ("measured by TFLite benchmark_model on the device: it reports mean/std/min/max per run "
                        "(newer builds also p5/median/p95); p50 is its median when printed, else null; p90 and "
                        "p99 are not reported (null). Memory is the tool's process footprint: peak_rss = its "
                        "periodic peak, growth = its overall delta from tool start; baseline_rss is not reported")
PERF_TEST_NOTE = ("measured by onnxruntime_perf_test on the device: std is not reported (null); memory is the "
                  "process's peak working set (peak_rss); baseline_rss and growth are not reported")


def _f(text: str) -> float:
    return float(text)


def parse_benchmark_model(text: str) -> dict:
    """The figures of one benchmark_model run, in its own units (us, MB). Raises RemoteError if absent."""
    timings = _last(_TIMINGS, text)
    if timings is None:
        raise RemoteError("benchmark_model did not finish a benchmark", _tool_failure(text),
                          "run the printed command with adb shell to see the full log")
    init_us, first_us, warmup_us, avg_us = (_f(g) for g in timings.groups())
    out = {"init_us": init_us, "first_us": first_us, "warmup_avg_us": warmup_us, "inference_avg_us": avg_us,
           "runs": None, "stats_us": {}}
    counts = [m for m in _COUNT.finditer(text) if "avg=" in m.group(0)]
    if counts:  # the last count line is the timed runs (the one before is the warm-up)
        last = counts[-1]
        out["runs"] = int(last.group(1))
        out["stats_us"] = {k: _f(v) for k, v in _PAIR.findall(last.group(2))}
    delta = _last(_DELTA, text)
    out["memory_mb"] = {"init": _f(delta.group(1)) if delta else None,
                        "overall": _f(delta.group(2)) if delta else None,
                        "peak": _f(_last(_PEAK, text).group(1)) if _last(_PEAK, text) else None}
    deleg = _last(_DELEGATED, text)
    out["delegated"] = ({"nodes": int(deleg.group(1)), "of": int(deleg.group(2)), "delegate": deleg.group(3)}
                        if deleg else None)
    return out


def benchmark_model_record(parsed: dict, threads: int, warmup: int, delegate: str | None) -> dict:
    """Map parse_benchmark_model's figures onto the profile record keys (ms, MB)."""
    s = parsed["stats_us"]
    ms = lambda key: s[key] / 1000.0 if key in s else None  # noqa: E731
    mean = parsed["inference_avg_us"] / 1000.0
    latency = {"mean": mean, "std": ms("std"), "min": ms("min"), "p50": ms("median"), "p90": None,
               "p99": None, "max": ms("max")}
    if "p95" in s:
        latency["p95"] = ms("p95")
    mem = parsed["memory_mb"]
    return {"format": "tflite", "threads": threads, "runs": parsed["runs"], "warmup": warmup,
            "runtime": {"name": "benchmark_model", "version": "unknown", "delegate": delegate},
            "load_ms": parsed["init_us"] / 1000.0, "first_run_ms": parsed["first_us"] / 1000.0,
            "warmup_avg_ms": parsed["warmup_avg_us"] / 1000.0, "latency_ms": latency,
            "throughput_per_s": 1000.0 / mean if mean > 0 else None,
            "memory_mb": {"baseline_rss": None, "peak_rss": mem["peak"], "growth": mem["overall"],
                          "init": mem["init"], "overall": mem["overall"], "peak": mem["peak"]},
            "delegated": parsed["delegated"], "dynamic_inputs": [], "note": BENCHMARK_MODEL_NOTE}


_PERF = {"session_s": r"Session creation time cost: " + _NUM + r" s",
         "first_ms": r"First inference time cost: " + _NUM + r" ms",
         "avg_ms": r"Average inference time cost(?: total)?: " + _NUM + r" ms",
         "requests": r"Total inference requests: " + _NUM,
         "peak_bytes": r"Peak working set size: " + _NUM + r" bytes",
         "min_s": r"Min Latency: " + _NUM + r" s", "max_s": r"Max Latency: " + _NUM + r" s",
         "p50_s": r"P50 Latency: " + _NUM + r" s", "p90_s": r"P90 Latency: " + _NUM + r" s",
         "p95_s": r"P95 Latency: " + _NUM + r" s", "p99_s": r"P99 Latency: " + _NUM + r" s"}


def parse_perf_test(text: str) -> dict:
    """The figures of one onnxruntime_perf_test run in its own units. Raises RemoteError if absent."""
    out = {}
    for key, pattern in _PERF.items():
        m = _last(re.compile(pattern), text)
        out[key] = _f(m.group(1)) if m else None
    if out["avg_ms"] is None:
        raise RemoteError("onnxruntime_perf_test did not finish a benchmark", _tool_failure(text),
                          "run the printed command with adb shell to see the full log")
    return out


def perf_test_record(p: dict, threads: int, warmup: int, provider: str) -> dict:
    s = lambda key: p[key] * 1000.0 if p[key] is not None else None  # noqa: E731  (seconds -> ms)
    latency = {"mean": p["avg_ms"], "std": None, "min": s("min_s"), "p50": s("p50_s"), "p90": s("p90_s"),
               "p99": s("p99_s"), "max": s("max_s")}
    peak = p["peak_bytes"] / 2**20 if p["peak_bytes"] is not None else None
    return {"format": "onnx", "threads": threads, "runs": int(p["requests"]) if p["requests"] else None,
            "warmup": warmup, "runtime": {"name": "onnxruntime_perf_test", "version": "unknown",
                                          "delegate": provider},
            "load_ms": s("session_s"), "first_run_ms": p["first_ms"], "latency_ms": latency,
            "throughput_per_s": 1000.0 / p["avg_ms"] if p["avg_ms"] else None,
            "memory_mb": {"baseline_rss": None, "peak_rss": peak, "growth": None},
            "dynamic_inputs": [], "note": PERF_TEST_NOTE}


def _last(pattern: re.Pattern, text: str):
    found = list(pattern.finditer(text))
    return found[-1] if found else None


def _tool_failure(text: str) -> str:
    """The tool's own error line, else its last line: what the user needs to see."""
    lines = [l.strip() for l in text.strip().splitlines() if l.strip()]
    errors = [l for l in lines if re.search(r"\b(ERROR|Error|error|Failed|failed|not found|No such)\b", l)]
    return (errors or lines or ["no output"])[-1][:300]
