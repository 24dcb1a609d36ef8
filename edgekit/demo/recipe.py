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
    # A ResNet-8 at 3x width (CIFAR-style stem suits 32 px; the zoo's resnet18 has the ImageNet
    # 7x7/2 + pool stem that leaves an 8x8 map) against a 1.0-width tiny MobileNet: ~9x fewer
    # parameters is not enough, see tools/make_models.py for the exact ratio it prints.
    teacher: Arch = Arch("tiny-resnet", 2.0)
    student: Arch = Arch("tiny-mobilenet", 0.5)
    teacher_epochs: int = 20
    student_epochs: int = 20
    batch_size: int = 32  # small batches: more steps per epoch on a 3000-image training set
    lr: float = 5e-3
    demo_epochs: int = 6  # the demo's own distillation: fewer epochs so it fits its 3-minute budget
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
