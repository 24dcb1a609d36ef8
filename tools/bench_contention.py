"""Issue 17 item 10: how much slower edgekit gets when other jobs compete for the cores.

Creates the load itself (N busy-loop processes) and times, quiet and loaded, in one interleaved run:

- ``distill``: one distillation epoch at the demo's recipe (edgekit.distill.train.fit, tiny-mobilenet
  width 0.6, batch 32, 32x32 images, 2 torch threads) on --images synthetic images;
- ``ort``: --runs single-image runs of the shipped shapes teacher in onnxruntime, 2 intra-op threads
  (the pattern of eval, calibration and the teacher-logit cache);
- ``demo``: ``edgekit demo --epochs E`` end to end (every step; fewer epochs than the default).

``distill`` and ``ort`` run twice: as edgekit does now (OpenMP threads wait passively, onnxruntime's
pool does not spin) and as it did before (libgomp's default wait, onnxruntime's default spinning).
Each measurement runs in a fresh process; wall and CPU time (user + system of that process) are
reported as medians over --reps. The machine may be shared: the "quiet" runs see whatever else is
running, so the ratios (loaded / quiet, measured side by side) are the figures to read.

    python tools/bench_contention.py [--load 4] [--reps 3] [--epochs 5] [--write-docs]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


# ----------------------------------------------------------------------------- child processes
def child_distill(fixed: bool, images: int) -> None:
    from edgekit.limits import calm_thread_pools

    os.environ.pop("OMP_WAIT_POLICY", None)  # unfixed: libgomp's default wait (spin, then sleep)
    if fixed:
        calm_thread_pools()  # what importing edgekit.distill or edgekit.zoo does
    import torch  # libgomp reads OMP_WAIT_POLICY once, when torch loads it

    import numpy as np

    from edgekit.demo.recipe import RECIPE
    from edgekit.distill import DistillConfig
    from edgekit.distill.train import deterministic, fit
    from edgekit.zoo import build

    rng = np.random.default_rng(0)
    x = rng.standard_normal((images, 3, 32, 32)).astype(np.float32)
    logits = rng.standard_normal((images, 10)).astype(np.float32)
    labels = rng.integers(0, 10, images).astype(np.int64)
    cfg = DistillConfig(epochs=1, batch_size=RECIPE.batch_size, lr=RECIPE.lr)
    with deterministic(0, 2):
        module = build("tiny-mobilenet", in_channels=3, num_classes=10, input_size=32, width=0.6, seed=0)
        with _section():  # the epoch only: imports and set-up are not what contention slows down
            fit(module, [x], [logits], labels, None, cfg, 0)
    assert torch.get_num_threads() >= 1


@contextlib.contextmanager
def _section():
    """Print wall and CPU seconds (all threads of this process) of the block as JSON on stdout."""
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    yield
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(json.dumps({"wall": time.perf_counter() - start, "cpu": cpu}), flush=True)


def child_ort(fixed: bool, runs: int) -> None:
    import numpy as np
    import onnxruntime as ort

    from edgekit.runtime.device import session_options

    opts = session_options(ort, 2)
    if not fixed:  # onnxruntime's defaults: waiting pool threads spin
        opts.add_session_config_entry("session.intra_op.allow_spinning", "1")
        opts.add_session_config_entry("session.inter_op.allow_spinning", "1")
    sess = ort.InferenceSession(str(ROOT / "models" / "shapes-teacher.onnx"), opts,
                                providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32)
    name = sess.get_inputs()[0].name
    sess.run(None, {name: x})
    with _section():
        for _ in range(runs):
            sess.run(None, {name: x})


# ----------------------------------------------------------------------------- parent
def timed(argv: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one fresh process: its measured section if it prints one, else all of it
    (user + system, its children included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    for line in reversed(out.splitlines()):
        if line.startswith("{\"wall\""):
            section = json.loads(line)
            return section["wall"], section["cpu"]
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def busy_loops(n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.kill()
        p.wait()


def cases(args) -> dict[str, list[str]]:
    me = [sys.executable, str(Path(__file__).resolve()), "--child"]
    out = {}
    for mode in ("fixed", "unfixed"):
        out[f"distill epoch ({mode})"] = [*me, "distill", mode, str(args.images)]
        out[f"onnxruntime runs ({mode})"] = [*me, "ort", mode, str(args.runs)]
    if args.epochs:
        out["demo"] = [sys.executable, "-m", "edgekit", "demo", "--out", "{tmp}", "--epochs", str(args.epochs)]
    return out


def loadavg() -> str:
    return " ".join(f"{v:.1f}" for v in os.getloadavg())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--load", type=int, default=4, help="busy-loop processes for the loaded runs (default 4)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=5, help="demo distillation epochs; 0 skips the demo")
    ap.add_argument("--images", type=int, default=3000, help="images in the distillation epoch (demo: 3000)")
    ap.add_argument("--runs", type=int, default=300, help="onnxruntime runs")
    ap.add_argument("--only", default=None, help="comma-separated case name prefixes")
    ap.add_argument("--write-docs", action="store_true")
    ap.add_argument("--from-log", default=None, metavar="FILE",
                    help="render the report from the stderr lines of a run (e.g. one stopped after its first rep)")
    ap.add_argument("--child", nargs=3, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        kind, mode, n = args.child
        (child_distill if kind == "distill" else child_ort)(mode == "fixed", int(n))
        return 0
    todo = cases(args)
    if args.from_log:
        return from_log(args, todo)
    if args.only:
        todo = {k: v for k, v in todo.items() if any(k.startswith(p) for p in args.only.split(","))}
    started = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load_before = loadavg()
    results: dict[tuple[str, int], list[tuple[float, float]]] = {}
    for rep in range(args.reps):  # interleaved: quiet and loaded runs of a case lie minutes apart at most
        for load in (0, args.load):
            procs = busy_loops(load)
            try:
                for name, argv_ in todo.items():
                    with tempfile.TemporaryDirectory() as tmp:
                        wall, cpu = timed([a.replace("{tmp}", str(Path(tmp) / "demo")) for a in argv_])
                    results.setdefault((name, load), []).append((wall, cpu))
                    print(f"rep {rep + 1} load {load}: {name}: {wall:.1f} s wall, {cpu:.1f} s CPU "
                          f"(loadavg {loadavg()})", file=sys.stderr, flush=True)
            finally:
                stop(procs)
    text = report(todo, results, args, started, load_before)
    print(text)
    if args.write_docs:
        from bench_quantize import write_docs

        write_docs(text, "## CPU contention")
    return 0


def from_log(args, todo) -> int:
    """Re-render the report from ``rep R load L: NAME: W s wall, C s CPU (loadavg ...)`` lines."""
    import re

    results: dict = {}
    loads = []
    for line in Path(args.from_log).read_text().splitlines():
        m = re.match(r"rep (\d+) load (\d+): (.+): ([\d.]+) s wall, ([\d.]+) s CPU \(loadavg ([\d. ]+)\)", line)
        if m:
            results.setdefault((m[3], int(m[2])), []).append((float(m[4]), float(m[5])))
            loads.append(m[6])
    names = [n for n in todo if (n, 0) in results and (n, args.load) in results]
    if not names:
        print("no case has both a quiet and a loaded run in the log yet", file=sys.stderr)
        return 1
    args.reps = min(len(results[(n, lv)]) for n in names for lv in (0, args.load))
    for key in results:
        results[key] = results[key][:args.reps]  # whole repetitions only, side by side
    ended = datetime.fromtimestamp(Path(args.from_log).stat().st_mtime, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    text = report({n: todo[n] for n in names}, results, args, f"run ended {ended}", loads[0] if loads else "?",
                  end=loads[-1] if loads else "?")
    print(text)
    if args.write_docs:
        from bench_quantize import write_docs

        write_docs(text, "## CPU contention")
    return 0


def report(todo, results, args, started, load_before, end: str | None = None) -> str:
    def med(name, load, i):
        return statistics.median(r[i] for r in results[(name, load)])

    rows = ["| case | quiet wall s | loaded wall s | wall ratio | quiet CPU s | loaded CPU s |",
            "|---|---:|---:|---:|---:|---:|"]
    for name in todo:
        qw, lw, qc, lc = med(name, 0, 0), med(name, args.load, 0), med(name, 0, 1), med(name, args.load, 1)
        rows.append(f"| {name} | {qw:.1f} | {lw:.1f} | **{lw / qw:.2f}x** | {qc:.1f} | {lc:.1f} |")
    raw = {f"{n} @ load {l}": [[round(w, 2), round(c, 2)] for w, c in v] for (n, l), v in results.items()}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return "\n".join([
        "Issue 17 item 10: edgekit on a busy machine; goal: at load 4 on 2 cores at most 3x the quiet time.",
        "",
        f"- date: {started}; machine: {cores} usable cores, shared with other jobs (load average "
        f"{load_before} at the start, {end or loadavg()} at the end): the \"quiet\" runs are not idle",
        f"- command: `python tools/bench_contention.py --load {args.load} --reps {args.reps} --epochs {args.epochs}"
        f" --images {args.images} --runs {args.runs}`",
        f"- loaded = {args.load} extra busy-loop processes; medians of {args.reps} interleaved repetitions, each "
        "case in a fresh process; distill and onnxruntime time their work only (not imports), the demo the "
        "whole command; CPU = user + system time of all threads (the demo: and its child processes)",
        "- fixed = edgekit now (OpenMP passive wait, onnxruntime pool without spinning); unfixed = the "
        "libraries' defaults edgekit used before",
        "",
        *rows,
        "",
        "Raw [wall, CPU] seconds per run: `" + json.dumps(raw) + "`",
    ])


if __name__ == "__main__":
    sys.exit(main())
