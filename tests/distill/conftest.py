"""Small real inputs for distillation tests: a shapes dataset of 16 px images and a zoo teacher in ONNX."""
from __future__ import annotations

import dataclasses

import pytest


from edgekit.demo.shapes import ShapesConfig, generate

NEEDS_TORCH = "distillation needs the edgekit[distill] extra (torch)"

# 16 px is the zoo's smallest input; 6 train images per class keep an epoch well under a second.
TINY = ShapesConfig(size=16, train_per_class=6, val_per_class=3, test_per_class=3, seed=3)


@pytest.fixture(scope="session")
def shapes(tmp_path_factory):
    return generate(tmp_path_factory.mktemp("shapes") / "data", TINY, progress=False)


def make_teacher(path, num_classes=10, seed=1):
    pytest.importorskip("torch", reason=NEEDS_TORCH)
    from edgekit.zoo import build, export_onnx

    model = build("tiny-resnet", 3, num_classes, 16, 0.5, seed)
    return export_onnx(model, path, (1, 3, 16, 16), keep_batchnorm=False)


@pytest.fixture(scope="session")
def teacher(tmp_path_factory):
    return make_teacher(tmp_path_factory.mktemp("teacher") / "teacher.onnx")


@pytest.fixture
def fast():
    """distill() keyword arguments for a quick run (2 views, small student, batch 16)."""
    from edgekit.distill import Augment

    return dict(width=0.25, epochs=2, batch_size=16, augment=Augment(views=2, shift=1), threads=1)


__all__ = ["TINY", "NEEDS_TORCH", "make_teacher", "dataclasses"]
