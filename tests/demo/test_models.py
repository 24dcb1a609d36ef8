"""The shipped models: present, small, labelled, ten times apart in size, and fit the generator."""
from __future__ import annotations

import numpy as np
import onnx
import pytest

from edgekit.demo.recipe import FIGURES_FILE, LABELS_FILE, RECIPE, STUDENT_FILE, TEACHER_FILE, models_dir
from edgekit.demo.shapes import CLASSES


def _params(path) -> int:
    return int(sum(int(np.prod(t.dims)) for t in onnx.load(str(path)).graph.initializer))


def test_files_cards_and_labels():
    d = models_dir()
    for name in (TEACHER_FILE, STUDENT_FILE, LABELS_FILE, FIGURES_FILE, "shapes-teacher.md", "shapes-student.md"):
        assert (d / name).is_file(), name
    assert (d / LABELS_FILE).read_text().split() == list(CLASSES)
    assert (d / TEACHER_FILE).stat().st_size < 5e6
    assert "tools/make_models.py" in (d / "shapes-student.md").read_text()


def test_student_has_at_most_a_tenth_of_the_teacher_parameters():
    d = models_dir()
    assert _params(d / TEACHER_FILE) >= 10 * _params(d / STUDENT_FILE)


@pytest.mark.parametrize("name", [TEACHER_FILE, STUDENT_FILE])
def test_models_carry_spec_and_recognise_freshly_drawn_shapes(tmp_path, name):
    import dataclasses

    import edgekit
    from edgekit.data import read_spec
    from edgekit.demo.shapes import generate

    path = models_dir() / name
    spec = read_spec(path)
    assert spec is not None and spec.size == (RECIPE.data.size, RECIPE.data.size)
    cfg = dataclasses.replace(RECIPE.data, train_per_class=1, val_per_class=1, test_per_class=10)
    data = generate(tmp_path / "d", cfg, progress=False)
    (res,) = edgekit.evaluate([path], data / "test")
    assert res.top1 >= 50  # 100 images of the test split; chance is 10 %
