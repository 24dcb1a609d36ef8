"""Distillation targets of issue 6, measured on the demo data (results go to docs/benchmarks.md).

    flock /tmp/ek-cpu.lock /opt/ekvenv/bin/python tools/bench_distill.py [--write-docs]
    (options: --models models --work build/shapes --threads N --baseline-only)

Compares, on the shapes test split (same seed, epochs, batch size, learning rate and augmentation):
  * the teacher (models/shapes-teacher.onnx),
  * the distilled student (models/shapes-student.onnx, made by tools/make_models.py with the recipe in
    edgekit/demo/recipe.py; its provenance metadata is checked against the recipe, else it is re-distilled),
  * the same student architecture trained on labels alone (alpha = 0, trained here),
  * the distilled student's ONNX INT8 and TFLite INT8 (a failure to make them fails the benchmark).
Targets: student <= 1/10 teacher params; student >= 97% of teacher accuracy; student beats the
labels-only student by >= 1 point; TFLite INT8 loses <= 1 point against the float student.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgekit.demo import recipe as R  # noqa: E402
from edgekit.demo.shapes import CLASSES, FLIP_SENSITIVE, generate  # noqa: E402


def train_labels_only(rec, data: Path, out: Path, threads: int) -> dict:
    """The baseline: the student trained on labels only, through distill's own loop (alpha = 0)."""
    from edgekit.data import METADATA_KEY, spec_for_input
    from edgekit.distill import Augment, DistillConfig
    from edgekit.distill.data import load_split, view
    from edgekit.distill.train import deterministic, fit
    from edgekit.zoo import build, export_onnx

    size = rec.data.size
    spec = spec_for_input((1, 3, size, size))
    train, val = load_split(data / "train", spec), load_split(data / "val", spec)
    aug = Augment(views=rec.views, flip=not FLIP_SENSITIVE)
    cfg = DistillConfig(epochs=rec.student_epochs, alpha=0.0, batch_size=rec.batch_size, lr=rec.lr, seed=rec.seed,
                        width=rec.student.width, augment=aug)
    views = [view(train.x, aug, rec.seed, v) for v in range(aug.views)]
    zeros = [np.zeros((len(train), len(CLASSES)), np.float32)] * len(views)
    start = time.perf_counter()
    with deterministic(rec.seed, threads):
        model = build(rec.student.name, 3, len(CLASSES), size, rec.student.width, rec.seed)
        model, _, best = fit(model, views, zeros, train.y, val, cfg, rec.seed,
                             on_epoch=lambda s: print(f"  labels-only {s}", flush=True))
    export_onnx(model, out, input_shape=(1, 3, size, size), metadata={METADATA_KEY: spec.to_json()},
                keep_batchnorm=False)
    return {"best_epoch": best, "train_seconds": round(time.perf_counter() - start, 1)}


def provenance_ok(student: Path, teacher: Path, rec) -> bool:
    """True when the shipped student was distilled from this teacher with this recipe."""
    import hashlib

    import onnx

    meta = {p.key: p.value for p in onnx.load(str(student), load_external_data=False).metadata_props}
    prov = json.loads(meta.get("edgekit.distill", "{}"))
    want = {"student": rec.student.name, "width": rec.student.width, "epochs": rec.student_epochs,
            "batch_size": rec.batch_size, "lr": rec.lr, "temperature": rec.temperature, "alpha": rec.alpha,
            "seed": rec.seed, "teacher_sha256": hashlib.sha256(teacher.read_bytes()).hexdigest()}
    return all(prov.get(k) == v for k, v in want.items()) and prov.get("augment", {}).get("views") == rec.views


def top1(path: Path, data: Path) -> float:
    import edgekit

    return float(edgekit.evaluate([path], data / "test")[0].top1)


def onnx_params(path: Path) -> int:
    import onnx

    return int(sum(int(np.prod(t.dims)) for t in onnx.load(str(path)).graph.initializer))


def int8_variants(student: Path, data: Path, work: Path) -> dict:
    """ONNX INT8 and TFLite INT8 of the distilled student (200 calibration images); a failure raises."""
    import edgekit

    onnx_int8, tflite_int8 = work / "student-int8.onnx", work / "student-int8.tflite"
    edgekit.quantize(student, data / "train", onnx_int8, calib_size=200)
    edgekit.convert(student, tflite_int8, int8=True, calib=data / "train", calib_size=200)
    return {"ONNX INT8": onnx_int8, "TFLite INT8": tflite_int8}


def baseline(rec, data: Path, work: Path, threads: int) -> tuple[Path, dict]:
    """The labels-only student, retrained only when what it depends on changed (not the teacher)."""
    path, info_path = work / "student-labels-only.onnx", work / "student-labels-only.json"
    want = repr((rec.data, rec.student, rec.student_epochs, rec.views, rec.batch_size, rec.lr, rec.seed, threads))
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    if not (path.is_file() and info.get("recipe") == want):
        info = {"recipe": want, **train_labels_only(rec, data, path, threads), "trained": "in this run"}
        info_path.write_text(json.dumps({**info, "trained": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}))
    return path, info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=ROOT / "models")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "shapes")
    ap.add_argument("--threads", type=int, default=R.RECIPE.threads, help="torch threads (the recipe's by default)")
    ap.add_argument("--baseline-only", action="store_true", help="only train the labels-only student")
    ap.add_argument("--distill-here", action="store_true",
                    help="distill the student in this run too, so both students come from this machine (float sums, "
                         "hence trained weights, differ between CPUs even with the same seed)")
    ap.add_argument("--write-docs", action="store_true", help="replace the Distillation section of docs/benchmarks.md")
    args = ap.parse_args(argv)
    load0 = os.getloadavg()
    rec = R.RECIPE
    data = generate(args.work / "data", rec.data)
    base, base_info = baseline(rec, data, args.work, args.threads)
    if args.baseline_only:
        return 0
    teacher, student = args.models / R.TEACHER_FILE, args.models / R.STUDENT_FILE
    figures = json.loads((args.models / R.FIGURES_FILE).read_text())
    train_s = {"teacher": figures["teacher"]["train_seconds"], "student (distilled)": figures["student"]["train_seconds"],
               "student (labels only)": base_info["train_seconds"]}
    here = args.distill_here or not provenance_ok(student, teacher, rec)
    if here:
        from edgekit.distill import Augment, distill

        print("distilling the student here" + ("" if args.distill_here else
                                               " (the shipped student does not match the recipe)"), flush=True)
        student = args.work / "student-distilled.onnx"
        res = distill(teacher, rec.student.name, data / "train", student, val=data / "val", width=rec.student.width,
                      epochs=rec.student_epochs, batch_size=rec.batch_size, lr=rec.lr, temperature=rec.temperature,
                      alpha=rec.alpha, seed=rec.seed, augment=Augment(views=rec.views, flip=not FLIP_SENSITIVE),
                      cache_dir=args.work / "cache", threads=args.threads)
        train_s["student (distilled)"] = round(res.seconds, 1)
    models = {"teacher": teacher, "student (distilled)": student, "student (labels only)": base}
    models.update({f"student {k}": v for k, v in int8_variants(student, data, args.work).items()})
    acc = {name: top1(p, data) for name, p in models.items()}
    tp, sp = onnx_params(teacher), onnx_params(student)
    t_acc, s_acc, b_acc = acc["teacher"], acc["student (distilled)"], acc["student (labels only)"]
    rows = [[name, onnx_params(p) if p.suffix == ".onnx" else None, round(p.stat().st_size / 1024, 1),
             round(a, 2), train_s.get(name)] for (name, p), a in zip(models.items(), acc.values())]
    from edgekit.ui import table

    d = acc["student TFLite INT8"] - s_acc
    targets = [("student params <= 1/10 teacher", f"1/{tp / sp:.1f}", tp / sp >= 10),
               ("student acc >= 97% of teacher", f"{s_acc / t_acc:.1%}", s_acc >= 0.97 * t_acc),
               ("distilled - labels-only >= 1 pt", f"{s_acc - b_acc:+.2f} pt", s_acc - b_acc >= 1),
               ("TFLite INT8 - float student >= -1 pt", f"{d:+.2f} pt", d >= -1)]
    load1 = os.getloadavg()
    head = [f"date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
            f"machine: {platform.machine()}, {platform.node()}, {os.cpu_count()} cores, python {platform.python_version()}",
            f"command: flock /tmp/ek-cpu.lock python tools/bench_distill.py {' '.join(sys.argv[1:])}".rstrip(),
            f"load (1/5/15 min): start {' '.join(f'{x:.2f}' for x in load0)}, end {' '.join(f'{x:.2f}' for x in load1)}",
            f"recipe: teacher {rec.teacher.name} x{rec.teacher.width} ({rec.teacher_epochs} epochs), student "
            f"{rec.student.name} x{rec.student.width}, {rec.student_epochs} epochs, batch {rec.batch_size}, lr {rec.lr}, "
            f"{rec.views} views, T={rec.temperature}, alpha={rec.alpha}, seed {rec.seed}, {args.threads} torch threads; "
            f"{len(CLASSES) * rec.data.train_per_class} train / {len(CLASSES) * rec.data.test_per_class} test images",
            "labels-only = the same student, epochs, batch, lr, views and seed with alpha = 0 "
            f"(trained {base_info.get('trained', 'in this run')})",
            "distilled student: " + ("distilled in this run, same recipe" if here else
                                     "models/shapes-student.onnx (tools/make_models.py)"),
            "train s: teacher from models/shapes-models.json; " +
            ("both students from this run" if here else "distilled student from there too, labels-only from its run")]
    text = "\n".join(head) + "\n\n" + table(rows, ["model", "params", "size KB", "test top-1 %", "train s"]) + \
        "\n\n" + table([[a, b, "yes" if c else "NO"] for a, b, c in targets], ["target", "measured", "met"])
    print(text)
    if args.write_docs:
        write_docs(text)
    return 0


def write_docs(text: str) -> None:
    from edgekit._io import write_text

    path = ROOT / "docs" / "benchmarks.md"
    doc = path.read_text() if path.is_file() else "# Benchmarks\n"
    section = "## Distillation\n\n```\n" + text + "\n```\n\n"
    start = doc.find("## Distillation\n")
    if start >= 0:  # replace only our own section
        end = doc.find("\n## ", start + 1)
        doc = doc[:start] + section + (doc[end + 1:] if end >= 0 else "")
    else:
        doc = doc.rstrip("\n") + "\n\n" + section
    write_text(path, doc)


if __name__ == "__main__":
    sys.exit(main())
