"""Result records shaped like `edgekit profile --json` and `edgekit eval --json` output."""
from __future__ import annotations

import pytest


def profile(model, target, p50, size=100_000, fmt=None):
    lat = {"mean": p50 * 1.1, "std": p50 * 0.1, "min": p50 * 0.8, "p50": p50, "p90": p50 * 1.2,
           "p99": p50 * 1.7, "max": p50 * 2.5}
    return {"model": model, "format": fmt or model.rsplit(".", 1)[-1], "target": target, "measured_on": "host",
            "latency_ms": lat, "memory_mb": {"baseline_rss": 30.0, "peak_rss": 42.0, "growth": 12.0},
            "model_bytes": size, "runtime": {"name": "onnxruntime", "version": "1"}, "threads": 2}


def evaluation(model, top1, agreement=None):
    return {"model": model, "samples": 200, "top1": top1, "top5": 100.0, "agreement": agreement,
            "sqnr_db": "inf" if agreement is None else 30.5, "max_abs_error": 0.0, "per_output": {}}


# On x86_64: teacher (slow, best), student (fast), int8 (fastest, a bit worse), fp32 tflite (dominated by
# the student: slower and less accurate). Pareto front there: int8 -> student -> teacher.
MODELS = {"out/teacher.onnx": (98.0, 5.0, 2_000_000), "out/student.onnx": (96.0, 1.0, 200_000),
          "out/student_int8.tflite": (95.0, 0.4, 60_000), "out/student.tflite": (95.5, 1.5, 190_000)}


@pytest.fixture
def demo_records():
    """Merged objects, as the demo writes them: two targets, four models."""
    out = []
    for target, slow in (("x86_64", 1.0), ("raspberry-pi-4", 7.0)):
        for model, (top1, p50, size) in MODELS.items():
            out.append({**profile(model, target, p50 * slow, size), **evaluation(model, top1)})
    return out


# Unlabelled data checked against the float teacher (edgekit eval --reference): agreement and SQNR, no top-1.
# The teacher against itself is identical: 100 % agreement, infinite SQNR (written "inf").
FIDELITY = {"out/teacher.onnx": (100.0, "inf"), "out/student.onnx": (96.5, 18.2),
            "out/student_int8.tflite": (95.0, 14.1), "out/student.tflite": (96.0, 17.0)}


@pytest.fixture
def unlabelled_records():
    """Profile records of a loaded host (p99 24x p50, load 7.9 on 2 CPUs) merged with fidelity-only evals."""
    out = []
    for model, (_, p50, size) in MODELS.items():
        rec = profile(model, "x86_64", p50, size)
        rec["latency_ms"]["p99"] = p50 * 24
        rec["host"] = {"load_avg": [7.9, 6.0, 3.0], "cores": 2}
        rec["budget"] = {"latency_ms": {"limit": 20.0, "measured": p50, "statistic": "p50", "pass": True},
                         "model_mb": {"limit": 50.0, "measured": size / 1e6, "statistic": "file size", "pass": True}}
        agreement, sqnr = FIDELITY[model]
        out.append({**rec, "samples": 100, "agreement": agreement, "sqnr_db": sqnr, "max_abs_error": 0.1})
    return out
