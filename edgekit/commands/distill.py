"""edgekit distill --teacher T --student ARCH --data TRAIN -o STUDENT.onnx: knowledge distillation."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    from ..data.args import add_preprocess_args

    p = sub.add_parser("distill", help="train a small student to imitate a teacher (needs edgekit[distill])",
                       description="Knowledge distillation: loss = alpha*T^2*KL(teacher/T || student/T) + "
                                   "(1-alpha)*CE(labels). The student's input comes from the teacher's input, "
                                   "its classes from the teacher's output. Needs torch: "
                                   "pip install 'edgekit[distill]'.")
    p.add_argument("--teacher", required=True, metavar="TEACHER", help="teacher model: .onnx (onnxruntime) or .pt")
    p.add_argument("--student", required=True, metavar="ARCH", help="zoo architecture, e.g. tiny-mobilenet, tiny-resnet")
    p.add_argument("--data", required=True, metavar="TRAIN",
                   help="image folder: one subfolder per class, or images directly (unlabeled, alpha=1)")
    p.add_argument("-o", "--output", required=True, metavar="STUDENT.onnx", help="where to write the student")
    p.add_argument("--val", default=None, metavar="VAL", help="labeled folder to pick the best epoch")
    p.add_argument("--width", type=float, default=1.0, help="student channel multiplier (default 1.0)")
    p.add_argument("--epochs", type=int, default=15, help="training epochs (default 15)")
    p.add_argument("--temperature", type=float, default=4.0, help="softmax temperature T (default 4)")
    p.add_argument("--alpha", type=float, default=0.7, help="weight of the teacher term (default 0.7)")
    p.add_argument("--batch-size", type=int, default=64, help="batch size (default 64)")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate, AdamW one-cycle (default 0.003)")
    p.add_argument("--seed", type=int, default=0, help="random seed; same seed, same student (default 0)")
    p.add_argument("--views", type=int, default=4, help="augmented views of the data, teacher logits cached per view "
                                                        "(default 4; 1 = no augmentation)")
    p.add_argument("--shift", type=int, default=2, help="max random shift in pixels (default 2)")
    p.add_argument("--no-flip", action="store_true", help="no horizontal flips (for data where a mirror image "
                                                          "is another class)")
    p.add_argument("--cache-dir", default=None, help="teacher-logit cache (default ~/.cache/edgekit/distill)")
    p.add_argument("--json", metavar="OUT", default=None, help="write the result as JSON")
    add_preprocess_args(p)
    p.set_defaults(func=run)
    return p


def _teacher_shape(path: str):
    """The teacher's input shape for the preprocessing defaults (None for a .pt teacher: it knows its own)."""
    from pathlib import Path

    if Path(path).suffix.lower() != ".onnx" or not Path(path).is_file():
        return None
    import onnxruntime as ort

    from ..errors import ModelError

    try:
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ModelError(f"cannot load teacher {path} in onnxruntime", str(exc).splitlines()[0],
                         "check that it is a valid ONNX model") from exc
    return sess.get_inputs()[0].shape


def _print_epoch(stats) -> None:
    parts = [f"epoch {stats.epoch}: loss {stats.loss:.4f}"]
    if stats.train_accuracy is not None:
        parts.append(f"train acc {stats.train_accuracy:.2%}")
    if stats.val_accuracy is not None:
        parts.append(f"val acc {stats.val_accuracy:.2%}")
    print(", ".join(parts), flush=True)


def run(args) -> int:
    import json

    from .._io import write_text
    from ..data.args import spec_from_args
    from ..distill import Augment, distill
    from ..ui import table

    from .._io import check_output

    reads = [args.teacher, args.data, args.val]
    check_output(args.output, "output", inputs=reads)
    if args.json:
        check_output(args.json, "--json file", inputs=[*reads, args.output])
    shape = _teacher_shape(args.teacher)
    spec = spec_from_args(args, shape, args.teacher) if shape is not None else None
    aug = Augment(views=args.views, shift=args.shift, flip=not args.no_flip)
    res = distill(args.teacher, args.student, args.data, args.output, val=args.val, width=args.width,
                  epochs=args.epochs, temperature=args.temperature, alpha=args.alpha, batch_size=args.batch_size,
                  lr=args.lr, seed=args.seed, spec=spec, augment=aug, cache_dir=args.cache_dir,
                  on_epoch=_print_epoch)
    ratio = f"1/{res.teacher_params / res.student_params:.1f}" if res.teacher_params else None
    rows = [["teacher", res.teacher_params, None, res.teacher_val_accuracy],
            [f"{res.student} (epoch {res.best_epoch})", res.student_params, ratio, res.val_accuracy]]
    print(table(rows, ["model", "params", "size", "val accuracy"]))
    if res.alpha != args.alpha:
        print(f"note: the data has no labels, so alpha = {res.alpha:g} (teacher only)")
    print(f"wrote {res.output} ({res.seconds:.0f} s, {res.cached_views} teacher view(s) from the cache)")
    if args.json:
        write_text(args.json, json.dumps(res.to_dict(), indent=2, default=str) + "\n")
    return 0
