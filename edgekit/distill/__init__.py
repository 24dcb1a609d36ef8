"""``edgekit.distill``: train a small student to imitate a large teacher (knowledge distillation).

The teacher is an ONNX file (run in onnxruntime), a ``.pt`` file or a torch module; the student is a
zoo name (``tiny-mobilenet``, ``tiny-resnet``, with ``width``) or any ``torch.nn.Module``. The
student's input channels and size come from the teacher's input and its class count from the
teacher's output. torch is the optional extra ``edgekit[distill]``. See docs/distill.md.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import DependencyError, InputError
from ..limits import calm_thread_pools
from .data import Augment
from .train import EpochStats

calm_thread_pools()  # before anything here imports torch: its OpenMP pool must not spin on a busy host

__all__ = ["distill", "DistillConfig", "DistillResult", "Augment", "EpochStats", "require_torch"]

INSTALL_FIX = "install it with: pip install 'edgekit[distill]'"


@dataclass(frozen=True)
class DistillConfig:
    """Training hyper-parameters. Defaults suit small images (32-64 px) and a few thousand samples."""

    epochs: int = 15
    temperature: float = 4.0  # Hinton et al. 2015 used T in 2..20; 4 is the common choice for CNNs
    alpha: float = 0.7  # weight of the soft (teacher) term; forced to 1 for unlabeled data
    batch_size: int = 64
    lr: float = 3e-3  # AdamW peak learning rate under a one-cycle schedule
    weight_decay: float = 5e-4
    seed: int = 0
    width: float = 1.0
    augment: Augment = field(default_factory=Augment)
    threads: int | None = None  # torch threads; None = min(2, cores). Part of what makes runs repeat.

    def check(self) -> "DistillConfig":
        def bad(what, got, fix):
            raise InputError(what, f"got {got}", fix)

        if not isinstance(self.epochs, int) or self.epochs < 1:
            bad("epochs must be >= 1", self.epochs, "pass --epochs 1 or more")
        if not self.temperature > 0:
            bad("temperature must be > 0", self.temperature, "pass e.g. --temperature 4")
        if not 0 <= self.alpha <= 1:
            bad("alpha must be between 0 and 1", self.alpha, "pass e.g. --alpha 0.7 (1 = teacher only)")
        if self.batch_size < 1:
            bad("batch size must be >= 1", self.batch_size, "pass e.g. --batch-size 64")
        if not self.lr > 0:
            bad("learning rate must be > 0", self.lr, "pass e.g. --lr 0.003")
        if not self.width > 0:
            bad("width must be > 0", self.width, "pass e.g. --width 0.5")
        from ..runtime.device import check_threads

        check_threads(self.threads, "threads")
        self.augment.check()
        return self


@dataclass(frozen=True)
class DistillResult:
    output: Path
    student: str
    student_params: int
    teacher_params: int | None
    classes: tuple[str, ...]
    alpha: float  # the alpha actually used (1.0 for unlabeled data)
    best_epoch: int
    val_accuracy: float | None  # the student's, at the best epoch
    teacher_val_accuracy: float | None
    history: tuple[EpochStats, ...]
    cached_views: int  # how many of the teacher's logit views came from the cache
    seconds: float
    config: DistillConfig

    def to_dict(self) -> dict:
        d = asdict(self)
        d["output"] = str(self.output)
        return d


def require_torch():
    try:
        import torch
    except ImportError as exc:
        raise DependencyError("torch is not installed", f"distillation trains the student with torch ({exc})",
                              INSTALL_FIX) from None
    return torch


def distill(teacher, student, data, output, *, val=None, width: float = 1.0, epochs: int = 15,
            temperature: float = 4.0, alpha: float = 0.7, batch_size: int = 64, lr: float = 3e-3,
            seed: int = 0, spec=None, augment: Augment | None = None, cache_dir=None, threads: int | None = None,
            on_epoch: Callable[[EpochStats], None] | None = None) -> DistillResult:
    """Distill ``teacher`` into ``student`` on the image folder ``data``; write the student to ``output`` (ONNX).

    ``data`` holds one subfolder per class (labels = sorted folder names) or, for unlabeled
    distillation, images directly (then alpha is 1). ``val`` (labeled) picks the best epoch.
    ``spec`` (a PreprocessSpec) defaults to the teacher's stored spec, else its input shape.
    Teacher logits are cached under ``cache_dir`` (default: see ``teacher.default_cache_dir``;
    False disables the cache).
    """
    cfg = DistillConfig(epochs=epochs, temperature=temperature, alpha=alpha, batch_size=batch_size, lr=lr,
                        seed=seed, width=width, augment=augment or Augment(), threads=threads).check()
    if isinstance(student, str):
        from ..zoo import entry

        if entry(student, kind="image").kind != "image":  # unknown names raise here, listing the image models
            raise InputError(f"student {student!r} is not an image classifier", "distillation trains on images",
                             "pick tiny-mobilenet or tiny-resnet")
    output = Path(output)
    if output.suffix.lower() != ".onnx":
        raise InputError(f"output {output.name} must end in .onnx", "the student is exported to ONNX",
                         "name the output STUDENT.onnx")
    require_torch()
    from .run import run

    start = time.perf_counter()
    res = run(teacher, student, data, output, val, cfg, spec, _cache(cache_dir), on_epoch)
    return DistillResult(**res, seconds=time.perf_counter() - start, config=cfg)


def _cache(cache_dir):
    from .teacher import default_cache_dir

    if cache_dir is False:
        return None
    return Path(cache_dir) if cache_dir else default_cache_dir()
