#!/usr/bin/env python
"""Benchmark edgekit's full-integer TFLite (issue 5 targets).

1. Speed: MobileNetV2 (edgekit.zoo, random weights, 224x224, NHWC input like onnx2tf's) as float TFLite
   and INT8 TFLite from edgekit, plus onnx2tf's float32 / full-integer outputs when present in
   --onnx2tf-out (default /tmp/onnx2tf_out; the table says when they are not). LiteRT, 1 thread,
   XNNPACK, models timed in interleaved rounds (each model once per round) so load drift hits all alike.
2. Op coverage: ops computing in float inside each INT8 graph.
3. Agreement: top-1 agreement of the INT8 TFLite with the ONNX INT8 model edgekit.quantize writes
   from the same calibration set (MobileNetV2 on random eval inputs; shapes student on its test split).
4. Which ops XNNPACK runs (tools/tflite_per_op.py: one DELEGATE node per accepted op with node fusion
   off), and each op's cost alone in every model (per-op table; --no-per-op skips it).
5. Quality: the shapes dataset (edgekit.demo.shapes, default config) and the project's shipped student
   (--student, default models/shapes-student.onnx, copied at run time and named by sha256; when absent, the
   tiny-mobilenet trained with tools/bench_quantize.py's recipe): top-1 of float, INT8 and INT8
   --max-drop 0.5 TFLite on the test split (calibration/fallback on val).

    flock /tmp/ek-cpu.lock /opt/ekvenv/bin/python tools/bench_tflite_int8.py [--work DIR] [--rounds 15] [--runs 10]

Prints a Markdown section for docs/benchmarks.md (## TFLite INT8).
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import importlib.util
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def latency_table(models: dict, rounds: int, runs: int) -> dict:
    from ai_edge_litert.interpreter import Interpreter
    from tflite_pair_latency import warmed

    interps = {}
    for name, path in models.items():
        interps[name] = warmed(Interpreter(model_path=str(path), num_threads=1), 5)  # default delegate: XNNPACK
    wall = {name: [] for name in models}
    cpu = {name: [] for name in models}
    for _ in range(rounds):
        for name, it in interps.items():
            ts, cs = [], []
            for _ in range(runs):
                t, c = time.perf_counter(), time.thread_time()
                it.invoke()
                cs.append(time.thread_time() - c)
                ts.append(time.perf_counter() - t)
            wall[name].append(statistics.median(ts) * 1e3)
            cpu[name].append(statistics.median(cs) * 1e3)
    # Wall time is what a device sees; on this shared host it includes waiting for a core, so the
    # thread's CPU time (1 thread: all the work) is given too.
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in models}


def float_ops(path) -> str:
    from edgekit.convert.int8 import interface

    model = interface.read(Path(path).read_bytes())
    bad = interface.float_ops(model)
    return f"{len(bad)}" + (f" ({', '.join(bad[:3])}...)" if bad else "")


def op_total(path) -> int:
    from edgekit.convert.int8 import interface

    return sum(interface.op_counts(interface.read(Path(path).read_bytes())).values())


def mobilenet(work: Path, args):
    import edgekit
    from edgekit import zoo

    src = work / "mobilenet_v2.onnx"
    if not src.exists():
        zoo.export_onnx(zoo.build("mobilenet_v2"), src)
    rng = np.random.default_rng(0)
    calib = work / "mnv2_calib.npy"
    evals = work / "mnv2_eval.npy"
    np.save(calib, rng.random((args.calib, 3, 224, 224), dtype=np.float32))
    np.save(evals, np.random.default_rng(1).random((args.eval, 3, 224, 224), dtype=np.float32))
    out = {"float": work / "mnv2_float_nhwc.tflite", "int8": work / "mnv2_int8_nhwc.tflite",
           "int8 io": work / "mnv2_int8io_nhwc.tflite", "int8 nchw": work / "mnv2_int8.tflite"}
    edgekit.convert(src, out["float"], input_layout="nhwc")
    t = time.perf_counter()
    edgekit.convert(src, out["int8"], input_layout="nhwc", int8=True, calib=calib)
    secs = time.perf_counter() - t
    edgekit.convert(src, out["int8 io"], input_layout="nhwc", int8=True, calib=calib, io="int8")
    edgekit.convert(src, out["int8 nchw"], int8=True, calib=calib)
    onnx_q = edgekit.quantize(src, calib, work / "mnv2_int8.onnx", target="x86_64").output
    agree = edgekit.evaluate([out["int8 nchw"]], evals, reference=onnx_q)[0].agreement
    float_agree = edgekit.evaluate([out["int8 nchw"]], evals, reference=src)[0].agreement
    return out, secs, agree, float_agree


def shapes(work: Path, args):
    import edgekit
    from edgekit.demo.shapes import ShapesConfig, generate, is_current

    sw = Path(args.student_work)
    # The default config is the one models/shapes-*.onnx were trained on (models/shapes-student.md);
    # another tool's copy is reused only when it holds exactly that (never written into).
    cfg = ShapesConfig()
    root = sw / "shapes" if is_current(sw / "shapes", cfg) else generate(work / "shapes", cfg)
    shipped = Path(args.student)
    if shipped.is_file():
        # models/ may be regenerated while this runs: take one copy now and name it by content.
        student = work / "shapes_student_shipped.onnx"
        shutil.copyfile(shipped, student)
        digest = hashlib.sha256(student.read_bytes()).hexdigest()[:12]
        made = datetime.datetime.fromtimestamp(shipped.stat().st_mtime, datetime.timezone.utc)
        student_name = f"{shipped} (sha256 {digest}, written {made:%Y-%m-%d %H:%M} UTC)"
    else:
        spec = importlib.util.spec_from_file_location("bench_quantize", ROOT / "tools" / "bench_quantize.py")
        bq = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(bq)
        student = bq.train_student(root, sw if (sw / "shapes_student.onnx").exists() else work, args.epochs)
        student_name = f"{shipped} absent: tiny-mobilenet trained with tools/bench_quantize.py's recipe ({student})"
    f = edgekit.convert(student, work / "shapes_float.tflite")
    q = edgekit.convert(student, work / "shapes_int8.tflite", int8=True, calib=root / "val")
    aware = edgekit.quantize(student, work / "shapes_int8_aware.tflite", root / "val", scheme="w8a8", max_drop=0.5,
                             eval_data=root / "val")
    onnx_q = edgekit.quantize(student, root / "val", work / "shapes_int8.onnx", target="x86_64").output
    test = root / "test"
    res = edgekit.evaluate([student, f, q, aware.output], test, reference=student)
    agree = edgekit.evaluate([q], test, reference=onnx_q)[0].agreement
    rows = []
    for name, r in zip(("float ONNX", "float TFLite", "INT8 TFLite", "INT8 TFLite --max-drop 0.5"), res):
        rows.append([name, r.samples, round(r.top1, 2), round(res[0].top1 - r.top1, 2), round(r.agreement, 2)])
    rows.append(["(kept float by --max-drop)", "", ", ".join(aware.kept) or "none", "", ""])
    return rows, agree, float_ops(q), student_name


def md_table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default="/tmp/bench_tflite_int8", help="cache dir for models and data")
    ap.add_argument("--onnx2tf-out", default="/tmp/onnx2tf_out", help="onnx2tf outputs for mobilenet_v2")
    ap.add_argument("--student-work", default="/tmp/bq", help="tools/bench_quantize.py --work dir (shapes + student)")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--calib", type=int, default=32, help="MobileNetV2 calibration samples")
    ap.add_argument("--eval", type=int, default=200, help="MobileNetV2 eval samples for the agreement")
    ap.add_argument("--epochs", type=int, default=12, help="training epochs when --student is absent")
    ap.add_argument("--student", default=str(ROOT / "models" / "shapes-student.onnx"),
                    help="ONNX student for the quality part (default: the shipped one; trained when absent)")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--no-per-op", action="store_true", help="skip the per-op XNNPACK table")
    args = ap.parse_args()
    load_before = uptime()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    import ai_edge_litert
    import ai_edge_quantizer  # noqa: F401

    out, secs, agree, float_agree = mobilenet(work, args)
    models = {"edgekit float32": out["float"], "edgekit INT8 (float io)": out["int8"],
              "edgekit INT8 (int8 io)": out["int8 io"]}
    o2t = Path(args.onnx2tf_out)
    o2t_note = f"onnx2tf outputs from {o2t}"
    if (o2t / "mobilenet_v2_full_integer_quant.tflite").exists():
        models["onnx2tf float32"] = o2t / "mobilenet_v2_float32.tflite"
        models["onnx2tf full-integer (int8 io)"] = o2t / "mobilenet_v2_full_integer_quant.tflite"
    else:
        o2t_note = f"onnx2tf outputs NOT present in {o2t}: no onnx2tf rows"
    from tflite_per_op import markdown as per_op_table, xnnpack_ops

    med = latency_table(models, args.rounds, args.runs)
    base = med["edgekit float32"]
    o2t = med.get("onnx2tf full-integer (int8 io)")
    o2t_float = med.get("onnx2tf float32")
    rows = []
    for name, (ms, cpu) in med.items():
        ref = o2t_float if name.startswith("onnx2tf") else base
        rows.append([name, round(ms, 2), round(cpu, 2), f"{ref[0] / ms:.2f} / {ref[1] / cpu:.2f}",
                     f"{ms / o2t[0]:.2f} / {cpu / o2t[1]:.2f}" if o2t else "-", op_total(models[name]),
                     "%d of %d" % xnnpack_ops(models[name]),
                     float_ops(models[name]) if "INT8" in name or "integer" in name else "-"])
    cpu_name = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    lines = ["## TFLite INT8", "",
             f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.node()} "
             f"({platform.machine()}, {cpu_name}, {len(os.sched_getaffinity(0))} cores shared with other "
             f"jobs); ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')}",
             f"- `uptime` at start: `{load_before}`; after the latency table: `{uptime()}`",
             f"- command: `python tools/bench_tflite_int8.py {' '.join(sys.argv[1:])}`".rstrip(),
             f"- MobileNetV2 (edgekit.zoo, random weights, 224x224, NHWC input), LiteRT 1 thread + XNNPACK, "
             f"median of {args.rounds} interleaved rounds x {args.runs} runs; {o2t_note}",
             f"- INT8 conversion incl. calibration on {args.calib} samples: {secs:.1f} s", "",
             md_table(["model", "wall ms p50", "thread CPU ms p50", "speed-up vs same tool's float (wall / CPU)",
                       "x onnx2tf full-integer (wall / CPU)", "ops", "ops run by XNNPACK",
                       "float ops inside"], rows), "",
             f"- top-1 agreement, edgekit INT8 TFLite vs edgekit ONNX INT8 (target x86_64) from the same "
             f"{args.calib} calibration samples, {args.eval} random eval inputs: {agree:.1f}% "
             f"(INT8 TFLite vs float ONNX: {float_agree:.1f}%)"]
    if not args.no_per_op:
        pairs = [("edgekit float32", "edgekit INT8 (int8 io)")]
        if "onnx2tf float32" in models:
            pairs.append(("onnx2tf float32", "onnx2tf full-integer (int8 io)"))
        sel = {n: models[n] for pair in pairs for n in pair}
        lines += ["", "Per op (tools/tflite_per_op.py): every op cut out as a one-op model with its own tensors, "
                  "quantization and constants, timed alone (LiteRT, 1 thread, XNNPACK, median thread-CPU ms of "
                  "40 runs; op i of every model before op i + 1 of any), summed by kind; speed-up = float / INT8 "
                  "of the same tool:", "",
                  per_op_table(sel, 40, pairs), "", f"- `uptime` after the per-op table: `{uptime()}`"]
    if not args.skip_quality:
        qrows, sagree, sfloat, student = shapes(work, args)
        lines += ["", "Quality: shapes dataset (edgekit.demo.shapes, default config: 32 px, 10 classes, seed 0), "
                  f"student {student}; calibration and --max-drop evaluation on val, figures on test:", "",
                  md_table(["model", "samples", "top-1 %", "drop (points)", "agreement with float %"], qrows), "",
                  f"- top-1 agreement INT8 TFLite vs ONNX INT8 (x86_64) on test: {sagree:.2f}%; "
                  f"float ops inside the INT8 TFLite: {sfloat}"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
