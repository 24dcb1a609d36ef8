#!/usr/bin/env python
"""Latency of TFLite models in whichever TFLite interpreter this Python has (no edgekit import).

Used to check the INT8/float ratio of the same files across runtimes, e.g. ai-edge-litert 2.3 in
/opt/ekvenv against ai-edge-litert 2.1 and TensorFlow 2.19's tf.lite in /opt/onnx2tf-venv:

    flock /tmp/ek-cpu.lock PY tools/tflite_pair_latency.py [--runtime litert|tf] NAME=MODEL.tflite ...

1 thread, default delegate (XNNPACK), zero input, models interleaved per round; prints the median
thread-CPU ms per model (one thread does all the work, so waiting for a shared core is not counted).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def warmed(it, invokes: int = 3):
    """``it`` with tensors allocated, zero inputs set and a few invokes done (first runs pick kernels)."""
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
    for _ in range(invokes):
        it.invoke()
    return it


def interpreter(runtime: str):
    if runtime == "tf":
        import tensorflow as tf

        return tf.lite.Interpreter, f"tensorflow {tf.__version__} tf.lite"
    from importlib.metadata import version

    from ai_edge_litert.interpreter import Interpreter

    return Interpreter, f"ai-edge-litert {version('ai-edge-litert')}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="+", metavar="NAME=MODEL.tflite")
    ap.add_argument("--runtime", choices=["litert", "tf"], default="litert")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    cls, name = interpreter(args.runtime)
    its = {}
    for spec in args.models:
        key, path = spec.split("=", 1)
        its[key] = warmed(cls(model_path=path, num_threads=1))
    per_round = {k: [] for k in its}
    for _ in range(args.rounds):
        for k, it in its.items():
            ts = []
            for _ in range(args.runs):
                t = time.thread_time()
                it.invoke()
                ts.append(time.thread_time() - t)
            per_round[k].append(statistics.median(ts) * 1e3)
    print(f"{name}: " + ", ".join(f"{k} {statistics.median(v):.2f} ms" for k, v in per_round.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
