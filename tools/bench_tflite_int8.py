#!/usr/bin/env python
"""Benchmark edgekit's full-integer TFLite (issue 5 targets).

1. Speed: MobileNetV2 (edgekit.zoo, random weights, 224x224, NHWC input like onnx2tf's) as float TFLite
   and INT8 TFLite from edgekit, plus onnx2tf's float32 / full-integer outputs when present in
   --onnx2tf-out (default /tmp/onnx2tf_out; the table says when they are not). LiteRT, 1 thread,
   XNNPACK, models timed in interleaved rounds (each model once per round) so load drift hits all alike.
2. Op coverage: ops computing in float inside each INT8 graph.
3. Agreement: top-1 agreement of the INT8 TFLite with the ONNX INT8 model edgekit.quantize writes
   from the same calibration set (MobileNetV2 on random eval inputs; shapes student on its test split).
4. Quality: the shapes dataset (edgekit.demo.shapes) and the tiny-mobilenet student trained with
   tools/bench_quantize.py's recipe (reused from --student-work when present, else trained in --work): top-1 of
   float, INT8 and INT8 --max-drop 0.5 TFLite on the test split (calibration/fallback on val).

    /opt/ekvenv/bin/python tools/bench_tflite_int8.py [--work DIR] [--rounds 15] [--runs 10]

Prints a Markdown section for docs/benchmarks.md (## TFLite INT8).
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def latency_table(models: dict, rounds: int, runs: int) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    interps = {}
    for name, path in models.items():
        it = Interpreter(model_path=str(path), num_threads=1)  # default delegate: XNNPACK
        it.allocate_tensors()
        for d in it.get_input_details():
            it.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
        for _ in range(5):
            it.invoke()
        interps[name] = it
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
    from edgekit.demo.shapes import ShapesConfig, generate

    spec = importlib.util.spec_from_file_location("bench_quantize", ROOT / "tools" / "bench_quantize.py")
    bq = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bq)
    sw = Path(args.student_work)
    ready = (sw / "shapes_student.onnx").exists() and (sw / "shapes" / "dataset.json").exists()
    sw = sw if ready else work  # never write into another tool's work dir
    root = generate(sw / "shapes", ShapesConfig(size=32, train_per_class=300, val_per_class=50,
                                                test_per_class=100, seed=0))
    student = bq.train_student(root, sw, args.epochs)  # reuses sw/shapes_student.onnx when present
    f = edgekit.convert(student, work / "shapes_float.tflite")
    q = edgekit.convert(student, work / "shapes_int8.tflite", int8=True, calib=root / "val")
    from edgekit.convert import ConvertOptions
    from edgekit.convert.int8 import Int8Options
    from edgekit.convert.int8.pipeline import convert_int8

    aware = convert_int8(student, work / "shapes_int8_aware.tflite", ConvertOptions(),
                         Int8Options.make(max_drop=0.5), calib=root / "val", eval_data=root / "val")
    onnx_q = edgekit.quantize(student, root / "val", work / "shapes_int8.onnx", target="x86_64").output
    test = root / "test"
    res = edgekit.evaluate([student, f, q, aware.output], test, reference=student)
    agree = edgekit.evaluate([q], test, reference=onnx_q)[0].agreement
    rows = []
    for name, r in zip(("float ONNX", "float TFLite", "INT8 TFLite", "INT8 TFLite --max-drop 0.5"), res):
        rows.append([name, r.samples, round(r.top1, 2), round(res[0].top1 - r.top1, 2), round(r.agreement, 2)])
    rows.append(["(kept float by --max-drop)", "", ", ".join(aware.kept) or "none", "", ""])
    return rows, agree, float_ops(q)


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
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--skip-quality", action="store_true")
    args = ap.parse_args()
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
    med = latency_table(models, args.rounds, args.runs)
    base = med["edgekit float32"]
    o2t = med.get("onnx2tf full-integer (int8 io)")
    o2t_float = med.get("onnx2tf float32")
    rows = []
    for name, (ms, cpu) in med.items():
        ref = o2t_float if name.startswith("onnx2tf") else base
        rows.append([name, round(ms, 2), round(cpu, 2), f"{ref[0] / ms:.2f} / {ref[1] / cpu:.2f}",
                     f"{ms / o2t[0]:.2f} / {cpu / o2t[1]:.2f}" if o2t else "-", op_total(models[name]),
                     float_ops(models[name]) if "INT8" in name or "integer" in name else "-"])
    lines = ["## TFLite INT8", "",
             f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {platform.node()} "
             f"({platform.machine()}, {platform.processor() or 'cpu'}), shared with other jobs (load avg "
             f"{open('/proc/loadavg').read().split()[0]}); ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')}",
             f"- command: `/opt/ekvenv/bin/python tools/bench_tflite_int8.py {' '.join(sys.argv[1:])}`".rstrip(),
             f"- MobileNetV2 (edgekit.zoo, random weights, 224x224, NHWC input), LiteRT 1 thread + XNNPACK, "
             f"median of {args.rounds} interleaved rounds x {args.runs} runs; {o2t_note}",
             f"- INT8 conversion incl. calibration on {args.calib} samples: {secs:.1f} s", "",
             md_table(["model", "wall ms p50", "thread CPU ms p50", "speed-up vs same tool's float (wall / CPU)",
                       "x onnx2tf full-integer (wall / CPU)", "ops", "float ops inside"], rows), "",
             f"- top-1 agreement, edgekit INT8 TFLite vs edgekit ONNX INT8 (target x86_64) from the same "
             f"{args.calib} calibration samples, {args.eval} random eval inputs: {agree:.1f}% "
             f"(INT8 TFLite vs float ONNX: {float_agree:.1f}%)"]
    if not args.skip_quality:
        qrows, sagree, sfloat = shapes(work, args)
        demo = sorted(p.name for p in (ROOT / "models").glob("*.onnx"))
        lines += ["", "Quality: shapes dataset (edgekit.demo.shapes, 32 px, 10 classes), tiny-mobilenet student trained "
                  "with tools/bench_quantize.py's recipe (models/ held "
                  f"{', '.join(demo) if demo else 'no trained ONNX student'} at run time); calibration and --max-drop "
                  "evaluation on val, figures on test:", "",
                  md_table(["model", "samples", "top-1 %", "drop (points)", "agreement with float %"], qrows), "",
                  f"- top-1 agreement INT8 TFLite vs ONNX INT8 (x86_64) on test: {sagree:.2f}%; "
                  f"float ops inside the INT8 TFLite: {sfloat}"]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
