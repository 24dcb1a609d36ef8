#!/usr/bin/env python3
"""Benchmark edgekit's static INT8 for ONNX: speed, calibration cost and quality.

    flock /tmp/ek-cpu.lock /opt/ekvenv/bin/python tools/bench_quantize.py [--work DIR] [--rounds 15] [--runs 20]
        [--calib 128] [--write-docs]

1. Speed: MobileNetV2 (edgekit.zoo, 224x224, 1000 classes) on x86, onnxruntime with 1 thread: float vs
   the model ``edgekit quantize --target x86_64`` writes vs QDQ U8S8 / QDQ S8S8 / QOperator U8S8 /
   QOperator S8S8 written straight with onnxruntime.quantization from the same calibration ranges.
   Models are timed in interleaved rounds (every model once per round) so drift hits all alike.
2. Calibration: seconds edgekit spends calibrating N samples (``QuantizeResult.calib_seconds``: graph
   augmentation, session, reading the data, all runs) vs running the float model over the same N
   samples, timed alike from the model file (session creation included on both sides), the faster of:
   one ``session.run`` per sample with onnxruntime's default threads (the plain way), or samples side by
   side, 1 thread each (the way calibration runs). The target is judged against that faster figure.
3. Quality: the shipped student (models/shapes-student.onnx, read at run time and named by sha256) on
   the demo's data (edgekit.demo.shapes, default config = what the student was trained on):
   calibrate on val, --max-drop evaluated on val, every figure on the 1000-image test split.
Prints a Markdown section; --write-docs replaces "## Quantization" in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def session(path, threads=1):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def cpu_info() -> str:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")),
                platform.processor())
    flags = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni") if f" {f}" in text]
    return f"{name} ({', '.join(flags)}), {platform.machine()}"


def build_mobilenet(work: Path) -> Path:
    from edgekit import zoo

    path = work / "mobilenet_v2.onnx"
    if not path.exists():
        model = zoo.build("mobilenet_v2", num_classes=1000, input_size=224)
        zoo.export_onnx(model, path, keep_batchnorm=False)  # the usual torch export (BatchNorm folded)
    return path


def ort_variants(pre: Path, cache: Path, reader, work: Path) -> dict:
    """The four onnxruntime INT8 schemes, per-channel weights, from one set of calibration ranges."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from edgekit.quantize import Method
    from edgekit.quantize.calib import calibrate

    if not cache.exists():
        calibrate(pre, reader, cache, Method.MINMAX, work)  # edgekit's chunked calibration (see static.py)
    out = {}
    for fmt_name, fmt in (("QDQ", QuantFormat.QDQ), ("QOperator", QuantFormat.QOperator)):
        for act_name, act in (("U8S8", QuantType.QUInt8), ("S8S8", QuantType.QInt8)):
            path = work / f"ort_{fmt_name}_{act_name}.onnx"
            quantize_static(str(pre), str(path), None, quant_format=fmt, per_channel=True, activation_type=act,
                            weight_type=QuantType.QInt8, calibration_cache_path=str(cache))
            out[f"{fmt_name} {act_name}"] = path
    return out


CONTROL = "edgekit x86_64 (control: 2nd session)"


def time_models(models: dict, x: np.ndarray, rounds: int, runs: int) -> dict:
    sessions = {k: session(p) for k, p in models.items()}
    feeds = {k: {s.get_inputs()[0].name: x} for k, s in sessions.items()}
    for k, s in sessions.items():  # warm-up: first runs allocate and pick kernels
        for _ in range(10):
            s.run(None, feeds[k])
    times = {k: [] for k in models}
    for _ in range(rounds):
        for k, s in sessions.items():
            for _ in range(runs):
                t0 = time.perf_counter()
                s.run(None, feeds[k])
                times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def run_float(src: Path, data: np.ndarray, side_by_side: bool) -> float:
    """Seconds to run the float model once per sample, timed the way calibration is timed: from the model
    file to the last output (session creation and the first, cold run included on both sides). Plainly
    (default threads), or side by side like calibration (``calib.workers()`` samples at once, 1 thread each)."""
    from edgekit.quantize import calib

    t0 = time.perf_counter()
    sess = session(src, threads=1 if side_by_side and calib.workers() > 1 else 0)
    name = sess.get_inputs()[0].name
    if side_by_side and calib.workers() > 1:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(calib.workers()) as pool:
            list(pool.map(lambda i: sess.run(None, {name: data[i:i + 1]}), range(len(data))))
    else:
        for i in range(len(data)):
            sess.run(None, {name: data[i:i + 1]})
    return time.perf_counter() - t0


def calib_seconds(pre: Path, calib: Path, work: Path, method: str = "minmax") -> float:
    """What QuantizeResult.calib_seconds times: edgekit's calibrate() over the whole set, ranges written."""
    from edgekit.data import open_source
    from edgekit.quantize import Method
    from edgekit.quantize.calib import calibrate
    from edgekit.quantize.static import DatasetReader

    cache = work / "ranges_timing.json"
    cache.unlink(missing_ok=True)
    t0 = time.perf_counter()
    calibrate(pre, DatasetReader(open_source(calib, None, "input")), cache, Method(method), work)
    return time.perf_counter() - t0


def ort_minmax_seconds(work: Path, src: Path, calib: Path) -> float:
    """onnxruntime's own MinMaxCalibrater over the same samples (collect_data + compute_data), for reference."""
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    from edgekit.data import open_source
    from edgekit.quantize.calib import _op_types
    from edgekit.quantize.static import DatasetReader, preprocess

    pre = work / "pre_ort.onnx"
    preprocess(src, pre)
    reader = DatasetReader(open_source(calib, None, "input"))
    t0 = time.perf_counter()
    cal = create_calibrator(pre, _op_types(), augmented_model_path=str(work / "aug_ort.onnx"),
                            calibrate_method=CalibrationMethod.MinMax)
    cal.collect_data(reader)
    cal.compute_data()
    return time.perf_counter() - t0


def speed(work: Path, args) -> tuple[list, dict]:
    import edgekit
    from edgekit.quantize.static import DatasetReader, preprocess
    from edgekit.data import open_source

    src = build_mobilenet(work)
    rng = np.random.default_rng(0)
    calib = work / "calib.npy"
    np.save(calib, rng.random((args.calib, 3, 224, 224), dtype=np.float32))
    # edgekit's x86_64 model, timing its calibration
    res = edgekit.quantize(src, calib, work / "edgekit_x86_64.onnx", target="x86_64")
    data = np.load(calib)
    pre = work / "pre.onnx"
    preprocess(src, pre)
    cal, flo, par = [res.calib_seconds], [run_float(src, data, False)], [run_float(src, data, True)]
    for _ in range(args.calib_rounds - 1):  # interleaved repeats: the median resists other jobs' bursts
        cal.append(calib_seconds(pre, calib, work))
        flo.append(run_float(src, data, side_by_side=False))
        par.append(run_float(src, data, side_by_side=True))
    calib_secs, float_secs, float_par_secs = (statistics.median(v) for v in (cal, flo, par))
    ort_secs = ort_minmax_seconds(work, src, calib)
    ds = open_source(calib, None, "input")
    variants = ort_variants(pre, work / "ranges.json", DatasetReader(ds), work)
    # CONTROL is edgekit's file in a second session: two sessions of one file differ by a few percent
    # on this machine (placement, caches), which bounds what the "within 5%" comparison can resolve.
    models = {"float": src, "edgekit x86_64": res.output, **variants, CONTROL: res.output}
    x = rng.random((1, 3, 224, 224), dtype=np.float32)
    med = time_models(models, x, args.rounds, args.runs)
    fastest = min(v for k, v in med.items() if k not in ("float", "edgekit x86_64", CONTROL))
    rows = [[k, round(v, 3), round(med["float"] / v, 2), round(v / fastest, 3)] for k, v in med.items()]
    best = min(float_secs, float_par_secs)  # the faster way to run the float model: the demanding baseline
    calib_row = {"samples": args.calib, "calib_s": round(calib_secs, 3), "float_s": round(float_secs, 3),
                 "float_par_s": round(float_par_secs, 3), "ratio": round(calib_secs / best, 2),
                 "ratio_plain": round(calib_secs / float_secs, 2), "ratio_par": round(calib_secs / float_par_secs, 2),
                 "ort_s": round(ort_secs, 3), "rounds": args.calib_rounds, "ratio_ort": round(ort_secs / best, 2)}
    return rows, calib_row


def train_student(root: Path, work: Path, epochs: int) -> Path:
    """A tiny-mobilenet trained from labels (tools/bench_tflite_int8.py's fallback when models/ has no student)."""
    import torch
    from edgekit import zoo
    from edgekit.demo.shapes import load_arrays

    path = work / "shapes_student.onnx"
    if path.exists():
        return path
    torch.manual_seed(0)
    torch.set_num_threads(2)
    x, y = load_arrays(root, "train")
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).float().div(255.0)  # the default spec: RGB, NCHW, 0..1
    yt = torch.from_numpy(y)
    model = zoo.build("tiny-mobilenet", num_classes=10, input_size=32, width=0.5, seed=0)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * ((len(xt) + 63) // 64))
    gen = torch.Generator().manual_seed(0)
    for epoch in range(epochs):
        perm, correct = torch.randperm(len(xt), generator=gen), 0
        for i in range(0, len(xt), 64):
            idx = perm[i:i + 64]
            xb = xt[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5  # the shapes are mirror-symmetric
            xb = torch.where(flip[:, None, None, None], xb.flip(3), xb)
            logits = model(xb)
            loss = torch.nn.functional.cross_entropy(logits, yt[idx])
            correct += int((logits.argmax(1) == yt[idx]).sum())
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"  epoch {epoch + 1}/{epochs} loss {loss.item():.3f} train acc {correct / len(xt):.3f}",
              file=sys.stderr, flush=True)
    model.eval()
    zoo.export_onnx(model, path, input_shape=(1, 3, 32, 32), keep_batchnorm=False)
    return path


def shipped_student(work: Path, models: Path) -> tuple[Path, str]:
    """A private copy of models/shapes-student.onnx (models/ may be regenerated meanwhile), named by content."""
    import datetime as dt
    import hashlib
    import json
    import shutil

    shipped = models / "shapes-student.onnx"
    copy = work / "shapes_student_shipped.onnx"
    shutil.copyfile(shipped, copy)
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()[:12]
    made = dt.datetime.fromtimestamp(shipped.stat().st_mtime, dt.timezone.utc)
    figures = models / "shapes-models.json"
    acc = ""
    if figures.is_file():
        info = json.loads(figures.read_text()).get("student", {})
        acc = f", {info.get('params')} params, test accuracy {info.get('test_accuracy')} in shapes-models.json"
    return copy, f"{shipped} (sha256 {digest}, written {made:%Y-%m-%d %H:%M} UTC{acc})"


def quality(work: Path, args) -> tuple[list, str]:
    import edgekit
    from edgekit.demo.shapes import ShapesConfig, generate

    root = generate(work / "shapes", ShapesConfig())  # the default config: what the shipped models were trained on
    student, name = shipped_student(work, Path(args.models))
    q = edgekit.quantize(student, root / "val", work / "shapes_int8.onnx", target="x86_64")
    qa = edgekit.quantize(student, root / "val", work / "shapes_int8_aware.onnx", target="x86_64", max_drop=0.5,
                          eval_data=root / "val", report=work / "shapes_aware_report.md")
    res = edgekit.evaluate([student, q.output, qa.output], root / "test", reference=student)
    rows = []
    names = ("float", "INT8 (x86_64)", "INT8 (x86_64) --max-drop 0.5")
    val_drop = ("", "", f"{qa.drop:.2f} (budget met: {qa.budget_met})")
    kept = ("", "none", ", ".join(qa.fallback_layers) or "none")
    for label, r, v, k in zip(names, res, val_drop, kept):
        rows.append([label, r.samples, round(r.top1, 2), round(res[0].top1 - r.top1, 2), v, round(r.agreement, 2),
                     round(r.sqnr_db, 1) if label != "float" else "inf", k])
    return rows, name


# Why a target can be missed, printed under the table when it is (measured by the profiles in docs/quantization.md).
NOTES = {
    "INT8 x86_64 >= 2x faster than float (1 thread)":
        "INT8 speed-up: edgekit's x86_64 model is QDQ U8S8 (the same nodes as the 'QDQ U8S8' row), "
        "timed in the same rounds; the int8 vs fp32 ratio is onnxruntime's VNNI kernels against its NCHWc "
        "fp32 kernels on this machine, with nothing left in the graph to remove.",
    "INT8 x86_64 within 5% of the fastest ORT INT8 scheme":
        "Within 5%: edgekit writes QDQ U8S8, as the issue prescribes for x86; QOperator U8S8 is often a few "
        "percent faster still. The control row (edgekit's own file in a second session) shows how far two "
        "sessions of one file drift apart here: a gap inside 5% plus that drift is not resolvable.",
    "calibration <= 1.3x float inference, same samples":
        "Calibration: with each probe run next to its producer (edgekit/quantize/calib.py), the probed graph "
        "costs ~1.16x a float run at one thread and ~1.2x side by side (the probes re-read every probed "
        "activation once, and a probe on a projection conv's output stops its Conv+Add fusion); session "
        "creation for the bigger graph adds ~6 ms. A miss here is within that margin plus this machine's noise: "
        "rerun on a quiet machine, or with more --calib samples, which dilute the fixed costs.",
}


def _within_5(ek, control) -> tuple:
    """The 5% target; beyond it but within 5% plus the control's own spread it is called noise, not a pass."""
    spread = abs(control[1] / ek[1] - 1)
    shown = f"{ek[3]}x (control {spread:.1%})"
    if ek[3] <= 1.05:
        return "INT8 x86_64 within 5% of the fastest ORT INT8 scheme", shown, True
    return "INT8 x86_64 within 5% of the fastest ORT INT8 scheme", shown + (" noise" if ek[3] <= 1.05 + spread else ""), False


def md_table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=None, help="cache dir for models and data (default: a temp dir)")
    ap.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per model per round")
    ap.add_argument("--calib", type=int, default=128, help="calibration samples for MobileNetV2")
    ap.add_argument("--calib-rounds", type=int, default=3, help="interleaved calibration vs float timing rounds")
    ap.add_argument("--epochs", type=int, default=10, help="epochs for train_student (used only by tools/bench_tflite_int8.py when models/ has no student)")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--models", default=str(Path(__file__).resolve().parent.parent / "models"),
                    help="folder holding shapes-student.onnx (default: the repo's models/)")
    ap.add_argument("--write-docs", action="store_true", help="replace the Quantization section of docs/benchmarks.md")
    args = ap.parse_args()
    import onnxruntime

    load0 = os.getloadavg()
    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="edgekit-bench-q-")
    work = Path(args.work or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    out = [f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
           f"- machine: {cpu_info()}; onnxruntime {onnxruntime.__version__}; 1 thread, sequential",
           f"- command: `{' '.join([Path(sys.executable).name] + sys.argv)}`"]
    targets = []
    if not args.skip_speed:
        rows, calib = speed(work, args)
        out += [f"- timing: median of {args.rounds} interleaved rounds x {args.runs} runs per model", "",
                "MobileNetV2 224x224 (edgekit.zoo, 1000 classes), per-channel int8 weights:", "",
                md_table(["model", "median ms", "speed-up vs float", "vs fastest ORT INT8"], rows), "",
                f"Calibration ({calib['samples']} samples, minmax, target x86_64; medians of {calib['rounds']} "
                f"interleaved rounds; every figure from the model file to the last result, session creation "
                f"included): edgekit {calib['calib_s']} s; float model over the same samples, one run per sample "
                f"with default threads {calib['float_s']} s ({calib['ratio_plain']}x), side by side like "
                f"calibration {calib['float_par_s']} s ({calib['ratio_par']}x); against the faster of the two "
                f"**{calib['ratio']}x**; onnxruntime's own MinMaxCalibrater {calib['ort_s']} s "
                f"({calib['ratio_ort']}x)", ""]
        ek = next(r for r in rows if r[0] == "edgekit x86_64")
        targets += [("INT8 x86_64 >= 2x faster than float (1 thread)", f"{ek[2]}x", ek[2] >= 2.0),
                    _within_5(ek, next(r for r in rows if r[0] == CONTROL)),
                    ("calibration <= 1.3x float inference, same samples",
                     f"{calib['ratio']}x (vs the faster float run)", calib["ratio"] <= 1.3)]
    if not args.skip_quality:
        rows, name = quality(work, args)
        out += [f"Quality: {name}; data edgekit.demo.shapes default config (32 px, 10 classes, seed 0): "
                "calibration and --max-drop evaluation on val (500 images), figures on test:", "",
                md_table(["model", "test images", "top-1 %", "drop (points)", "drop on val", "agreement %",
                          "SQNR dB", "kept float"], rows), ""]
        targets += [("INT8 top-1 drop <= 1 point (test)", f"{rows[1][3]} pt", rows[1][3] <= 1.0),
                    ("--max-drop 0.5: top-1 drop <= 0.5 point (test)", f"{rows[2][3]} pt", rows[2][3] <= 0.5)]
    if targets:
        out += [md_table(["target", "measured", "met"], [[a, b, "yes" if c else "**NO**"] for a, b, c in targets]), ""]
        out += [f"- {NOTES[name]}" for name, _, met in targets if not met and name in NOTES]
    load1 = os.getloadavg()
    out.insert(3, f"- load (1/5/15 min): start {' '.join(f'{x:.2f}' for x in load0)}, "
                  f"end {' '.join(f'{x:.2f}' for x in load1)}")
    text = "\n".join(out)
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


def write_docs(text: str, title: str = "## Quantization") -> None:
    """Replace (or append) the section ``title`` of docs/benchmarks.md; others stay untouched."""
    from edgekit._io import write_text

    path = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
    doc = path.read_text()
    section = f"{title}\n\n" + text.strip() + "\n"
    start = doc.find(title + "\n")
    if start < 0:
        doc = doc.rstrip("\n") + "\n\n" + section
    else:
        end = doc.find("\n## ", start + 1)
        doc = doc[:start] + section + ("\n" + doc[end + 1:] if end >= 0 else "")
    write_text(path, doc)


if __name__ == "__main__":
    sys.exit(main())
