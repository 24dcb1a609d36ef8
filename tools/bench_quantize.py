#!/usr/bin/env python3
"""Benchmark edgekit's static INT8 for ONNX: speed, calibration cost and quality.

    /opt/ekvenv/bin/python tools/bench_quantize.py [--work DIR] [--rounds 15] [--runs 20] [--calib 64]

1. Speed: MobileNetV2 (edgekit.zoo, 224x224, 1000 classes) on x86, onnxruntime with 1 thread: float vs
   the model ``edgekit quantize --target x86_64`` writes vs QDQ U8S8 / QDQ S8S8 / QOperator U8S8 /
   QOperator S8S8 written straight with onnxruntime.quantization from the same calibration ranges.
   Models are timed in interleaved rounds (every model once per round) so drift hits all alike.
2. Calibration: seconds edgekit spends calibrating N samples vs running the float model over the
   same N samples (both with onnxruntime's default threading).
3. Quality: the shapes dataset (edgekit.demo.shapes), a tiny-mobilenet trained here with torch, its
   top-1 on the test split as float, INT8 and INT8 with --max-drop 0.5 (fallback evaluated on val).
Prints a Markdown section for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import datetime
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
    # the same N samples through the float model, default threading like the calibrator's session
    sess = session(src, threads=0)
    data = np.load(calib)
    t0 = time.perf_counter()
    for i in range(len(data)):
        sess.run(None, {"input": data[i:i + 1]})
    float_secs = time.perf_counter() - t0
    pre = work / "pre.onnx"
    preprocess(src, pre)
    ds = open_source(calib, None, "input")
    variants = ort_variants(pre, work / "ranges.json", DatasetReader(ds), work)
    models = {"float": src, "edgekit x86_64": res.output, **variants}
    x = rng.random((1, 3, 224, 224), dtype=np.float32)
    med = time_models(models, x, args.rounds, args.runs)
    fastest = min(v for k, v in med.items() if k not in ("float", "edgekit x86_64"))
    rows = [[k, round(v, 3), round(med["float"] / v, 2), round(v / fastest, 3)] for k, v in med.items()]
    calib_row = {"samples": args.calib, "calib_s": res.calib_seconds, "float_s": round(float_secs, 3),
                 "ratio": round(res.calib_seconds / float_secs, 2)}
    return rows, calib_row


def _shapes_config():
    from edgekit.demo.shapes import ShapesConfig

    return ShapesConfig(size=32, train_per_class=300, val_per_class=50, test_per_class=100, seed=0, noise=6.0,
                        distractors=0, min_scale=0.6)


def train_student(root: Path, work: Path, epochs: int) -> Path:
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


def quality(work: Path, args) -> list:
    import edgekit
    from edgekit.data import open_source, read_spec
    from edgekit.demo.shapes import generate

    SHAPES = _shapes_config()

    # Easier than the demo's default (less noise, no distractor strokes) so a from-scratch student
    # trains to a useful accuracy in minutes on a shared 2-core CPU.
    root = generate(work / "shapes", SHAPES)
    student = train_student(root, work, args.epochs)
    q = edgekit.quantize(student, root / "val", work / "shapes_int8.onnx", target="x86_64")
    qa = edgekit.quantize(student, root / "val", work / "shapes_int8_aware.onnx", target="x86_64", max_drop=0.5,
                          eval_data=root / "val")
    # The same mechanism against a stricter, label-free target: agreement with float on val >= 98 %
    # (unlabeled eval data makes the "drop" 100 - agreement %).
    spec = read_spec(q.output)
    val = open_source(root / "val", spec, "input")
    unlabeled = lambda: ({"input": f["input"]} for f, _ in val)  # noqa: E731
    qg = edgekit.quantize(student, root / "val", work / "shapes_int8_agree.onnx", target="x86_64", max_drop=2.0,
                          eval_data=unlabeled, report=work / "shapes_agree_report.md")
    results = edgekit.evaluate([student, q.output, qa.output, qg.output], root / "test", reference=student)
    rows = []
    names = ("float", "INT8 (x86_64)", "INT8 --max-drop 0.5 (top-1 on val)",
             "INT8 --max-drop 2 (agreement on unlabeled val)")
    kept = ("", "", ", ".join(qa.fallback_layers) or "none", ", ".join(qg.fallback_layers) or "none")
    for name, r, k in zip(names, results, kept):
        rows.append([name, r.samples, round(r.top1, 2), round(results[0].top1 - r.top1, 2), round(r.agreement, 2), k])
    return rows


def md_table(headers, rows) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=None, help="cache dir for models and data (default: a temp dir)")
    ap.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    ap.add_argument("--runs", type=int, default=20, help="timed runs per model per round")
    ap.add_argument("--calib", type=int, default=64, help="calibration samples for MobileNetV2")
    ap.add_argument("--epochs", type=int, default=10, help="training epochs for the shapes student")
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    import onnxruntime

    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="edgekit-bench-q-")
    work = Path(args.work or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    out = [f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
           f"- machine: {cpu_info()}; onnxruntime {onnxruntime.__version__}; 1 thread, sequential",
           f"- command: `{' '.join([Path(sys.executable).name] + sys.argv)}`"]
    if not args.skip_speed:
        rows, calib = speed(work, args)
        out += [f"- timing: median of {args.rounds} interleaved rounds x {args.runs} runs per model", "",
                "MobileNetV2 224x224 (edgekit.zoo, 1000 classes), per-channel int8 weights:", "",
                md_table(["model", "median ms", "speed-up vs float", "vs fastest ORT INT8"], rows), "",
                f"Calibration ({calib['samples']} samples, minmax, onnxruntime default threads): edgekit "
                f"{calib['calib_s']} s vs float inference over the same samples {calib['float_s']} s = "
                f"**{calib['ratio']}x**", ""]
    if not args.skip_quality:
        out += ["Quality: shapes dataset (edgekit.demo.shapes, 32 px, 10 classes; calibrate on val, "
                "test split 1000 images), tiny-mobilenet trained by this script:", "",
                md_table(["model", "samples", "top-1 %", "drop (points)", "agreement %", "kept float"],
                         quality(work, args)), ""]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
