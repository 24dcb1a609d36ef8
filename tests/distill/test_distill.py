"""edgekit.distill end to end on real data: a zoo teacher in onnxruntime, a zoo student trained by torch."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest

from edgekit.errors import DataError, InputError

from .conftest import NEEDS_TORCH, make_teacher

torch = pytest.importorskip("torch", reason=NEEDS_TORCH)

from edgekit.distill import Augment, distill  # noqa: E402
from edgekit.distill import teacher as teacher_mod  # noqa: E402


def _run(teacher, shapes, out, cache, fast, **kw):
    args = {**fast, **kw}
    return distill(teacher, "tiny-mobilenet", shapes / "train", out, val=shapes / "val", cache_dir=cache, **args)


def test_writes_an_onnx_student_with_spec_labels_and_history(teacher, shapes, tmp_path, fast):
    import onnxruntime as ort

    from edgekit.data import METADATA_KEY, read_spec

    res = _run(teacher, shapes, tmp_path / "s.onnx", tmp_path / "cache", fast)
    model = onnx.load(str(res.output))
    assert max(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) >= 17
    meta = {p.key: p.value for p in model.metadata_props}
    spec = read_spec(res.output)
    assert spec is not None and spec.size == (16, 16) and METADATA_KEY in meta
    assert json.loads(meta["edgekit.labels"]) == sorted(p.name for p in (shapes / "train").iterdir())
    sess = ort.InferenceSession(str(res.output), providers=["CPUExecutionProvider"])
    assert sess.get_inputs()[0].shape == [1, 3, 16, 16]  # channels and size from the teacher's input
    assert sess.get_outputs()[0].shape == [1, 10]  # classes from the teacher's output
    assert len(res.history) == 2 and all(h.val_accuracy is not None for h in res.history)
    assert res.val_accuracy == max(h.val_accuracy for h in res.history)  # the best epoch is what was kept
    teacher_weights = sum(int(np.prod(t.dims)) for t in onnx.load(str(teacher)).graph.initializer)
    assert res.teacher_params == teacher_weights and 0 < res.student_params < teacher_weights
    assert res.cached_views == 0


def test_same_seed_same_student_and_second_run_uses_the_logit_cache(teacher, shapes, tmp_path, fast, monkeypatch):
    import onnxruntime as ort

    a = _run(teacher, shapes, tmp_path / "a.onnx", tmp_path / "cache", fast)

    def no_teacher(self, x):  # the teacher must not run again: every view comes from the cache
        raise AssertionError("teacher re-run despite a cached view")

    monkeypatch.setattr(teacher_mod.Teacher, "logits", no_teacher)
    b = _run(teacher, shapes, tmp_path / "b.onnx", tmp_path / "cache", fast)
    assert b.cached_views == 2
    x = np.random.default_rng(0).random((1, 3, 16, 16), np.float32)
    ya, yb = (ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
              for p in (a.output, b.output))
    np.testing.assert_array_equal(ya, yb)  # bit-identical: seeded, deterministic kernels, fixed threads
    assert [h.loss for h in a.history] == [h.loss for h in b.history]


def test_cache_misses_when_the_data_changes(teacher, shapes, tmp_path, fast):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(shapes / "train", data)
    kw = {**fast, "augment": Augment(views=1), "epochs": 1}
    first = distill(teacher, "tiny-mobilenet", data, tmp_path / "a.onnx", cache_dir=tmp_path / "cache", **kw)
    again = distill(teacher, "tiny-mobilenet", data, tmp_path / "a.onnx", cache_dir=tmp_path / "cache", **kw)
    img = next((data / "circle").iterdir())
    img.write_bytes((shapes / "train" / "square" / "00000.png").read_bytes())  # same names, other pixels
    changed = distill(teacher, "tiny-mobilenet", data, tmp_path / "b.onnx", cache_dir=tmp_path / "cache", **kw)
    assert (first.cached_views, again.cached_views, changed.cached_views) == (0, 1, 0)


def test_unlabeled_folder_distills_with_alpha_1(teacher, shapes, tmp_path, fast):
    flat = tmp_path / "flat"
    flat.mkdir()
    for i, p in enumerate(sorted((shapes / "train").rglob("*.png"))[::3]):
        (flat / f"{i}.png").write_bytes(p.read_bytes())
    res = distill(teacher, "tiny-mobilenet", flat, tmp_path / "s.onnx", val=shapes / "val", alpha=0.3,
                  cache_dir=tmp_path / "cache", **{**fast, "epochs": 1})
    assert res.alpha == 1.0 and res.history[0].train_accuracy is None and res.output.is_file()


def test_loss_falls_when_the_student_imitates_the_teacher(teacher, shapes, tmp_path, fast):
    # alpha = 1: pure imitation of a fixed teacher on fixed data; 6 epochs of 4 batches must reduce the
    # KL term (a training loop that does not learn, or mixes up views and logits, fails this).
    res = distill(teacher, "tiny-mobilenet", shapes / "train", tmp_path / "s.onnx", alpha=1.0, cache_dir=False,
                  **{**fast, "epochs": 6, "augment": Augment(views=1)})
    assert res.history[-1].loss < 0.8 * res.history[0].loss


def test_any_torch_module_is_a_student(teacher, shapes, tmp_path, fast):
    student = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                  torch.nn.Flatten(), torch.nn.Linear(4, 10))
    res = distill(teacher, student, shapes / "train", tmp_path / "s.onnx", cache_dir=False, **{**fast, "epochs": 1})
    assert res.student == "Sequential" and res.student_params == sum(p.numel() for p in student.parameters())


# --- bad input ----------------------------------------------------------------------------------

def test_teacher_class_count_must_match_the_data(shapes, tmp_path, fast):
    five = make_teacher(tmp_path / "five.onnx", num_classes=5)
    with pytest.raises(DataError, match="teacher has 5 classes but the data folder .* has 10"):
        distill(five, "tiny-mobilenet", shapes / "train", tmp_path / "s.onnx", cache_dir=False, **fast)
    assert not (tmp_path / "s.onnx").exists()


def test_unknown_student_lists_the_zoo(teacher, shapes, tmp_path):
    with pytest.raises(InputError, match="tiny-mobilenet.*tiny-resnet|tiny-resnet.*tiny-mobilenet") as exc:
        distill(teacher, "huge-net", shapes / "train", tmp_path / "s.onnx")
    assert "huge-net" in str(exc.value) and "\n" not in str(exc.value)
    assert "tiny-transformer" not in str(exc.value)  # listed names are ones distill accepts: image models only


def test_one_class_folder(teacher, shapes, tmp_path):
    import shutil

    one = tmp_path / "one"
    shutil.copytree(shapes / "train" / "circle", one / "circle")
    with pytest.raises(DataError, match="has one class") as exc:
        distill(teacher, "tiny-mobilenet", one, tmp_path / "s.onnx", cache_dir=False)
    assert "\n" not in str(exc.value) and "two class subfolders" in str(exc.value)
    assert not (tmp_path / "s.onnx").exists()


def test_validation_folder_class_count_must_match_the_teacher(teacher, shapes, tmp_path, fast):
    import shutil

    val = tmp_path / "val"
    for name in ("circle", "square"):
        shutil.copytree(shapes / "val" / name, val / name)
    with pytest.raises(DataError, match="teacher has 10 classes but the validation folder .* has 2"):
        distill(teacher, "tiny-mobilenet", shapes / "train", tmp_path / "s.onnx", val=val, cache_dir=False, **fast)
    assert not (tmp_path / "s.onnx").exists()


@pytest.mark.parametrize("kw,match", [({"epochs": 0}, "epochs must be >= 1"), ({"alpha": 1.5}, "alpha"),
                                      ({"temperature": 0}, "temperature")])
def test_bad_hyper_parameters(teacher, shapes, tmp_path, kw, match):
    with pytest.raises(InputError, match=match):
        distill(teacher, "tiny-mobilenet", shapes / "train", tmp_path / "s.onnx", **kw)


def test_missing_teacher_file(shapes, tmp_path):
    with pytest.raises(InputError, match="not found"):
        distill(tmp_path / "nope.onnx", "tiny-mobilenet", shapes / "train", tmp_path / "s.onnx")


def test_torch_teacher_file_gives_the_same_cache_key_every_time(shapes, tmp_path, fast):
    from edgekit.zoo import build

    path = tmp_path / "teacher.pt"
    torch.save(build("tiny-resnet", 3, 10, 16, 0.5, 2), path)  # a whole pickled module, as users save them
    kw = {**fast, "epochs": 1, "augment": Augment(views=1)}
    a = distill(path, "tiny-resnet", shapes / "train", tmp_path / "a.onnx", cache_dir=tmp_path / "c", **kw)
    b = distill(path, "tiny-resnet", shapes / "train", tmp_path / "b.onnx", cache_dir=tmp_path / "c", **kw)
    assert (a.cached_views, b.cached_views) == (0, 1) and a.teacher_params > 0
    assert a.student == "tiny-resnet"
