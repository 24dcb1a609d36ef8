"""The one recipe behind the shipped models, the demo and the distillation benchmark.

tools/make_models.py trains the teacher and pre-distills the student with it; ``edgekit demo``
regenerates the same dataset (same config, same seed) so the shipped teacher matches its data.
Change a value here and re-run tools/make_models.py, or the shipped models no longer fit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .shapes import ShapesConfig


@dataclass(frozen=True)
class Arch:
    name: str  # edgekit.zoo name
    width: float


@dataclass(frozen=True)
class Recipe:
    data: ShapesConfig = field(default_factory=ShapesConfig)
    # Teacher: ResNet-8 at 1.25x width, 126k parameters (its CIFAR-style 3x3 stem suits 32 px; the
    # zoo's resnet18 has the ImageNet 7x7/2 + max-pool stem that leaves an 8x8 map). Student: tiny
    # MobileNet at 0.3x width, 10k parameters (1/12.6 of the teacher's). Both sized so that the
    # whole recipe trains in minutes on 2 shared CPU cores.
    teacher: Arch = Arch("tiny-resnet", 1.25)
    student: Arch = Arch("tiny-mobilenet", 0.3)
    teacher_epochs: int = 10
    student_epochs: int = 10
    views: int = 2  # augmented views (plain + 1 shifted/flipped); more views learn slower in 10 epochs
    batch_size: int = 32  # small batches: more steps per epoch on a 3000-image training set
    lr: float = 5e-3
    demo_epochs: int = 10  # the demo distills with the full recipe: ~30 s on 2 free cores
    temperature: float = 4.0
    alpha: float = 0.7
    seed: int = 0


RECIPE = Recipe()

TEACHER_FILE = "shapes-teacher.onnx"
STUDENT_FILE = "shapes-student.onnx"
LABELS_FILE = "shapes-labels.txt"
FIGURES_FILE = "shapes-models.json"


def models_dir() -> Path:
    """The shipped models (``models/`` in the repo, ``edgekit._models`` when installed)."""
    from importlib.resources import files

    return Path(str(files("edgekit._models")))
