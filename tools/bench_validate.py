#!/usr/bin/env python3
"""What validation and the child-process probe add to ``edgekit.load`` and to ``convert``.

    python tools/bench_validate.py [--reps 5] [--out DIR]

Each measurement runs in a fresh Python process (the probe's worker start is part of the cost), the
three modes interleaved rep by rep so drift and neighbours' load hit all alike:
  unchecked  edgekit.load(path, check=False)              (what load did before issue 17)
  cold       edgekit.load(path) with an empty verdict cache (structural check + worker + load + one run)
  warm       edgekit.load(path) again: the verdict is cached by the file's sha256
Reported: medians of wall time and of CPU time (this process plus the probe worker, read from /proc
before it exits), and the cold/unchecked and warm/unchecked ratios. For convert, the cost of running
the written file once (validate.check_written, cold) next to the whole conversion.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

CHILD = r"""
import json, os, sys, time, resource
t0, c0 = time.perf_counter(), time.process_time()
import edgekit
from edgekit.runtime import probe
path, mode = sys.argv[1], sys.argv[2]
m = edgekit.load(path, check=(mode != "unchecked"))
wall = time.perf_counter() - t0
cpu = time.process_time() - c0
worker = probe._WORKER.proc
if worker is not None:
    f = open(f"/proc/{worker.pid}/stat").read().rsplit(")", 1)[1].split()
    cpu += (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
print(json.dumps({"wall": wall, "cpu": cpu}))
"""


def one(path: Path, mode: str, cache: Path) -> dict:
    env = dict(os.environ, EDGEKIT_CACHE_DIR=str(cache))
    out = subprocess.run([sys.executable, "-c", CHILD, str(path), mode], capture_output=True, text=True, env=env,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_load(paths: dict, reps: int, work: Path) -> list[dict]:
    rows = []
    for (name, fmt), path in paths.items():
        got = {"unchecked": [], "cold": [], "warm": []}
        for r in range(reps):
            cache = work / f"cache-{name}-{fmt}-{r}"
            got["unchecked"].append(one(path, "unchecked", cache))
            got["cold"].append(one(path, "cold", cache))   # empty cache: structural check + probe
            got["warm"].append(one(path, "warm", cache))   # same cache: verdict found by hash
        med = {k: {m: statistics.median(x[m] for x in v) for m in ("wall", "cpu")} for k, v in got.items()}
        rows.append({"model": name, "format": fmt, "mb": path.stat().st_size / 1e6, **med})
    return rows


def bench_convert(onnx_path: Path, reps: int, work: Path) -> dict:
    import edgekit
    from edgekit import validate
    from edgekit.runtime import probe

    total, check = [], []
    for r in range(reps):
        os.environ["EDGEKIT_CACHE_DIR"] = str(work / f"conv-cache-{r}")
        probe._WORKER.stop()  # a cold worker each time: the cost a one-shot `edgekit convert` pays
        out = work / f"c{r}.tflite"
        t0 = time.perf_counter()
        edgekit.convert(onnx_path, out)
        total.append(time.perf_counter() - t0)
        os.environ["EDGEKIT_CACHE_DIR"] = str(work / f"conv-cache-check-{r}")
        probe._WORKER.stop()
        t0 = time.perf_counter()
        validate.check_written(out, "tflite")
        check.append(time.perf_counter() - t0)
    return {"model": onnx_path.stem, "convert_s": statistics.median(total), "check_written_s": statistics.median(check)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    from bench_runtime import build_models

    work = Path(args.out or tempfile.mkdtemp(prefix="bench-validate-"))
    work.mkdir(parents=True, exist_ok=True)
    paths = build_models(work)
    load = os.getloadavg()
    rows = bench_load(paths, args.reps, work)
    conv = bench_convert(paths[("mobilenet_v2", "onnx")], args.reps, work)
    print(f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}, {os.cpu_count()} cores, reps {args.reps}")
    print("| model | format | MB | unchecked wall s | cold wall s | warm wall s | cold/unchecked | warm/unchecked "
          "| unchecked CPU s | cold CPU s | warm CPU s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        u, c, w = r["unchecked"], r["cold"], r["warm"]
        print(f"| {r['model']} | {r['format']} | {r['mb']:.2f} | {u['wall']:.3f} | {c['wall']:.3f} | {w['wall']:.3f} | "
              f"{c['wall'] / u['wall']:.2f} | {w['wall'] / u['wall']:.2f} | {u['cpu']:.3f} | {c['cpu']:.3f} | "
              f"{w['cpu']:.3f} |")
    print(f"convert {conv['model']}: whole conversion {conv['convert_s']:.2f} s (median), of which running the "
          f"written file once in a cold child {conv['check_written_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
