"""Regenerate models/: the shapes teacher, the pre-distilled student, their model cards and labels;
and the tiny-lm language model with its corpus and tokenizer (tools/make_lm.py, ``--only lm``).

    /opt/ekvenv/bin/python tools/make_models.py [--out models] [--work build/shapes] [--only all|shapes|lm]

Steps (all seeded, see edgekit/demo/recipe.py): draw the shapes dataset; train the teacher on the
labels with torch; export it to ONNX; distill the student from the exported teacher with
edgekit.distill; measure both on the test split with onnxruntime; write the cards.
--reuse-teacher skips training when models/shapes-teacher.onnx exists (to re-distill only).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/make_lm.py

from edgekit._io import write_text  # noqa: E402
from edgekit.demo import recipe as R  # noqa: E402
from edgekit.demo.shapes import CLASSES, FLIP_SENSITIVE, generate  # noqa: E402


def train_teacher(rec, data: Path, out: Path, threads: int) -> dict:
    """Supervised training of the teacher (distill's loop with alpha = 0: labels only)."""
    from edgekit.data import METADATA_KEY, spec_for_input
    from edgekit.distill import Augment, DistillConfig
    from edgekit.distill.data import load_split, view
    from edgekit.distill.train import accuracy, deterministic, fit
    from edgekit.zoo import build, export_onnx, param_count

    size = rec.data.size
    spec = spec_for_input((1, 3, size, size))
    train, val = load_split(data / "train", spec), load_split(data / "val", spec)
    aug = Augment(views=rec.views, flip=not FLIP_SENSITIVE)
    cfg = DistillConfig(epochs=rec.teacher_epochs, alpha=0.0, batch_size=rec.batch_size, lr=rec.lr, seed=rec.seed,
                        augment=aug)
    views = [view(train.x, aug, rec.seed, v) for v in range(aug.views)]
    zeros = [np.zeros((len(train), len(CLASSES)), np.float32)] * len(views)  # no teacher for the teacher
    start = time.perf_counter()
    with deterministic(rec.seed, threads):
        model = build(rec.teacher.name, 3, len(CLASSES), size, rec.teacher.width, rec.seed)
        model, hist, best = fit(model, views, zeros, train.y, val, cfg, rec.seed,
                                on_epoch=lambda s: print(f"  teacher {s}", flush=True))
    seconds = time.perf_counter() - start
    meta = {METADATA_KEY: spec.to_json(), "edgekit.labels": json.dumps(list(CLASSES))}
    export_onnx(model, out, input_shape=(1, 3, size, size), opset=17, metadata=meta, keep_batchnorm=False)
    return {"params": param_count(model), "best_epoch": best, "val_accuracy": accuracy(model, val.x, val.y),
            "train_seconds": round(seconds, 1)}


def test_accuracy(path: Path, data: Path) -> float:
    from edgekit.data import read_spec
    from edgekit.distill.data import load_split
    from edgekit.distill.run import evaluate_onnx

    return evaluate_onnx(path, load_split(data / "test", read_spec(path)))


CARD = """# {title}

{summary}

| | |
|---|---|
| Architecture | `{arch}` from `edgekit.zoo`, width {width} |
| Parameters | {params:,} |
| Input | `input` 1x3x{size}x{size} float32, RGB scaled to 0..1 (NCHW; spec stored in the ONNX metadata `edgekit.preprocess`) |
| Output | `logits` 1x{k} (classes in `shapes-labels.txt` order) |
| Format | ONNX opset 17, BatchNorm folded, {mb:.2f} MB |
| Data | `edgekit.demo.shapes` (seed {seed}): {k} classes, {ntrain} train / {nval} val / {ntest} test images of {size}x{size} |
| Test accuracy | {test:.2%} (onnxruntime, {ntest} test images) |
| Training | {training} |
| Made by | `{command}` on {machine}, {date} |

Regenerate with the command above; the numbers above are what that run printed. Intended use: the
`edgekit demo` and its tests. It knows only these synthetic shapes.
"""


def write_card(path: Path, **fields) -> None:
    write_text(path, CARD.format(**fields))


def main(argv=None) -> int:  # noqa: C901 - a linear script
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "models")
    ap.add_argument("--work", type=Path, default=ROOT / "build" / "shapes")
    ap.add_argument("--threads", type=int, default=R.RECIPE.threads,
                    help="torch threads (the recipe's by default; part of what makes runs repeat)")
    ap.add_argument("--reuse-teacher", action="store_true")
    ap.add_argument("--only", choices=["all", "shapes", "lm"], default="all",
                    help="lm: the corpus, tokenizer and tiny-lm (tools/make_lm.py); shapes: the demo models")
    ap.add_argument("--lm-steps", type=int, default=None, help="tiny-lm training steps (default: the recipe's)")
    args = ap.parse_args(argv)
    if args.only in ("all", "lm"):
        from make_lm import make_lm

        print(json.dumps(make_lm(args.out, threads=args.threads, steps=args.lm_steps), indent=2), flush=True)
        if args.only == "lm":
            return 0
    rec = R.RECIPE
    cmd = "python tools/make_models.py"  # --reuse-teacher re-distills with the same teacher: same command
    data = generate(args.work / "data", rec.data)
    teacher, student = args.out / R.TEACHER_FILE, args.out / R.STUDENT_FILE
    figures_path = args.out / R.FIGURES_FILE
    figures = json.loads(figures_path.read_text()) if figures_path.is_file() else {}
    reuse = args.reuse_teacher and teacher.is_file()
    if not reuse:
        print(f"training teacher {rec.teacher.name} x{rec.teacher.width} for {rec.teacher_epochs} epochs", flush=True)
        figures["teacher"] = {**train_teacher(rec, data, teacher, args.threads), "threads": args.threads}
        print(f"teacher written: {teacher}", flush=True)
    figures["teacher"]["test_accuracy"] = test_accuracy(teacher, data)

    from edgekit.distill import Augment, distill

    print(f"distilling {rec.student.name} x{rec.student.width} for {rec.student_epochs} epochs", flush=True)
    res = distill(teacher, rec.student.name, data / "train", student, val=data / "val", width=rec.student.width,
                  epochs=rec.student_epochs, batch_size=rec.batch_size, lr=rec.lr, temperature=rec.temperature,
                  alpha=rec.alpha, seed=rec.seed, augment=Augment(views=rec.views, flip=not FLIP_SENSITIVE),
                  cache_dir=args.work / "cache", threads=args.threads,
                  on_epoch=lambda s: print(f"  student {s}", flush=True))
    figures["student"] = {"params": res.student_params, "best_epoch": res.best_epoch,
                          "val_accuracy": res.val_accuracy, "train_seconds": round(res.seconds, 1),
                          "threads": args.threads,
                          "test_accuracy": test_accuracy(student, data)}
    figures["recipe"] = {"teacher": vars(rec.teacher), "student": vars(rec.student), "seed": rec.seed,
                         "teacher_epochs": rec.teacher_epochs, "student_epochs": rec.student_epochs,
                         "temperature": rec.temperature, "alpha": rec.alpha, "views": rec.views,
                         "batch_size": rec.batch_size, "lr": rec.lr, "threads": rec.threads,
                         "train_per_class": rec.data.train_per_class}
    write_text(figures_path, json.dumps(figures, indent=2) + "\n")
    write_text(args.out / R.LABELS_FILE, "\n".join(CLASSES) + "\n")
    common = dict(size=rec.data.size, k=len(CLASSES), seed=rec.seed, ntrain=rec.data.train_per_class * len(CLASSES),
                  nval=rec.data.val_per_class * len(CLASSES), ntest=rec.data.test_per_class * len(CLASSES),
                  command=cmd, machine=f"{platform.machine()} {platform.processor() or ''}".strip(),
                  date=time.strftime("%Y-%m-%d"))
    t, s = figures["teacher"], figures["student"]
    # a reused teacher keeps its card: the file, its training run and the date it was made are unchanged
    if not reuse:
        write_card(args.out / "shapes-teacher.md", title="shapes-teacher", arch=rec.teacher.name, width=rec.teacher.width,
                   summary="The teacher of the edgekit demo: trained on labels only.", params=t["params"],
                   mb=teacher.stat().st_size / 1e6, test=t["test_accuracy"],
                   training=f"{rec.teacher_epochs} epochs, cross-entropy, AdamW lr {rec.lr}, batch {rec.batch_size}, "
                            f"{rec.views} views (shifts+flips); best val epoch "
                            f"{t['best_epoch']}; {t['train_seconds']:.0f} s on {t.get('threads', 1)} torch thread(s)", **common)
    write_card(args.out / "shapes-student.md", title="shapes-student", arch=rec.student.name, width=rec.student.width,
               summary=f"Pre-distilled student of the edgekit demo ({t['params'] / s['params']:.1f}x fewer "
                       "parameters than the teacher); the demo uses it when torch is not installed or when "
                       "it beats the student the demo distills itself.",
               params=s["params"], mb=student.stat().st_size / 1e6, test=s["test_accuracy"],
               training=f"`edgekit.distill` from shapes-teacher.onnx, {rec.student_epochs} epochs, T={rec.temperature}, "
                        f"alpha={rec.alpha}, AdamW lr {rec.lr}, batch {rec.batch_size}, {rec.views} views; best val "
                        f"epoch {s['best_epoch']}; {s['train_seconds']:.0f} s on {s['threads']} torch thread(s)", **common)
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
