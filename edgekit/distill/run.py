"""One distillation run, step by step (imported only once torch is known to be present)."""
from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path

from ..errors import DataError, InputError
from .data import Split, load_split, view
from .teacher import Teacher, cache_key, cached_logits
from .train import accuracy, deterministic, fit

LABELS_KEY = "edgekit.labels"
PROVENANCE_KEY = "edgekit.distill"


def resolve_spec(teacher: Teacher, spec):
    """The preprocessing: given > stored in the teacher > from its input shape; size always the teacher's."""
    from ..data.spec import read_spec, spec_for_input

    base = spec_for_input(teacher.input_shape)
    if spec is None and teacher.path is not None:
        spec = read_spec(teacher.path)
    spec = spec or base
    if spec is None:
        raise InputError(f"the teacher's input {teacher.input_shape} is not an image",
                         "distillation trains image classifiers", "use a teacher with a 1xCxHxW input")
    if base is not None and base.size is not None:
        spec = spec.replace(size=base.size)
    if spec.size is None:
        raise InputError("the teacher's input size is dynamic", "the student needs a fixed size",
                         "pass a spec with a size (--preprocess spec.json with \"size\": [H, W])")
    return spec


def check_classes(split: Split, k: int, what: str) -> None:
    if split.labeled and len(split.classes) != k:
        raise DataError(f"the teacher has {k} classes but {what} {split.root} has {len(split.classes)}",
                        f"folders: {', '.join(split.classes[:12])}{' ...' if len(split.classes) > 12 else ''}",
                        "use the data the teacher was trained on, with one subfolder per teacher class")


def build_student(student, spec, k: int, width: float, seed: int):
    import torch

    if isinstance(student, str):
        from ..zoo import build

        return student, build(student, in_channels=spec.channels, num_classes=k, input_size=spec.size[0],
                              width=width, seed=seed)
    if not isinstance(student, torch.nn.Module):
        raise InputError("the student must be a zoo name or a torch.nn.Module", f"got {type(student).__name__}",
                         "pass e.g. 'tiny-mobilenet'")
    with torch.no_grad():
        out = student.eval()(torch.zeros((2, spec.channels, *spec.size)))
    if out.ndim != 2 or out.shape[1] != k:
        raise InputError(f"the student outputs shape {tuple(out.shape)}", f"the teacher has {k} classes",
                         f"give the student a final layer with {k} outputs")
    return type(student).__name__, student


def teacher_views(teacher, train: Split, spec, cfg, cache_dir):
    """Images of every augmented view and the teacher's logits for each (cached)."""
    from ..ui import progress

    views, logits, hits = [], [], 0
    n_views = cfg.augment.views if cfg.augment.enabled else 1
    for v in progress(range(n_views), total=n_views, desc="teacher logits", unit="view"):
        xv = view(train.x, cfg.augment, cfg.seed, v)
        key = cache_key(teacher, train.digest, spec, cfg.augment, cfg.seed, v)
        lv, hit = cached_logits(teacher, xv, key, cache_dir)
        views.append(xv)
        logits.append(lv)
        hits += hit
    return views, logits, hits


def run(teacher_src, student, data, output: Path, val, cfg, spec, cache_dir, on_epoch) -> dict:
    from ..zoo import export_onnx, param_count

    teacher = Teacher(teacher_src, spec)
    spec = resolve_spec(teacher, spec)
    train = load_split(data, spec)
    val_split = load_split(val, spec) if val is not None else None
    if val_split is not None and not val_split.labeled:
        raise DataError(f"validation folder {val} has no class subfolders", "validation needs labels",
                        "give --val a folder with one subfolder per class")
    k = teacher.count_classes(train.x)
    if k < 2:
        raise InputError(f"the teacher outputs {k} value(s) per image", "a classifier needs >= 2 classes",
                         "use a classification teacher")
    check_classes(train, k, "the data folder")
    if val_split is not None:
        check_classes(val_split, k, "the validation folder")
        if train.labeled and val_split.classes != train.classes:
            raise DataError("train and validation class folders differ",
                            f"{list(train.classes)} vs {list(val_split.classes)}", "use the same class subfolders")
    views, tlogits, hits = teacher_views(teacher, train, spec, cfg, cache_dir)
    alpha = cfg.alpha if train.labeled else 1.0
    run_cfg = cfg if alpha == cfg.alpha else _with_alpha(cfg, alpha)
    teacher_val = None
    if val_split is not None:
        vkey = cache_key(teacher, val_split.digest, spec, cfg.augment, cfg.seed, 0)
        vlog, _ = cached_logits(teacher, val_split.x, vkey, cache_dir)
        teacher_val = float((vlog.argmax(1) == val_split.y).mean())
    threads = cfg.threads or min(2, os.cpu_count() or 1)
    with deterministic(cfg.seed, threads):
        name, module = build_student(student, spec, k, cfg.width, cfg.seed)
        module, history, best_epoch = fit(module, views, tlogits, train.y, val_split, run_cfg, cfg.seed, on_epoch)
    classes = train.classes or (val_split.classes if val_split is not None else ())
    meta = {"edgekit.preprocess": spec.to_json(),
            PROVENANCE_KEY: json.dumps({"teacher_sha256": teacher.digest, "data_sha256": train.digest,
                                        "student": name, "width": cfg.width, "epochs": cfg.epochs,
                                        "batch_size": cfg.batch_size, "lr": cfg.lr, "best_epoch": best_epoch,
                                        "temperature": cfg.temperature, "alpha": alpha, "seed": cfg.seed,
                                        "augment": asdict(cfg.augment), "threads": threads}, sort_keys=True)}
    if classes:
        meta[LABELS_KEY] = json.dumps(list(classes))
    export_onnx(module, output, input_shape=(1, spec.channels, *spec.size), opset=17, metadata=meta,
                keep_batchnorm=False)
    best = history[best_epoch - 1]
    return dict(output=output, student=name, student_params=param_count(module), teacher_params=teacher.params,
                classes=tuple(classes), alpha=alpha, best_epoch=best_epoch, val_accuracy=best.val_accuracy,
                teacher_val_accuracy=teacher_val, history=tuple(history), cached_views=hits)


def _with_alpha(cfg, alpha):
    import dataclasses

    return dataclasses.replace(cfg, alpha=alpha)


def evaluate_onnx(path, split: Split) -> float:
    """Accuracy of an ONNX classifier on a preprocessed split (used by tools and tests)."""
    t = Teacher(path)
    return float((t.logits(split.x).argmax(1) == split.y).mean())


__all__ = ["run", "resolve_spec", "evaluate_onnx", "accuracy"]
