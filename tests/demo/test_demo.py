"""edgekit demo end to end on a small slice of its dataset, with the real shipped teacher and student."""
from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys

import pytest

from edgekit.demo.recipe import RECIPE, STUDENT_FILE, TEACHER_FILE, models_dir
from edgekit.demo.shapes import CLASSES

# The first 5 test images per class are the first 5 of the shipped models' test split (one RNG stream
# per image), so the shipped teacher must recognise them; 8 train images per class keep distillation short.
SMALL = dataclasses.replace(RECIPE, data=dataclasses.replace(RECIPE.data, train_per_class=8, val_per_class=3,
                                                              test_per_class=5), demo_epochs=1)


def _check_results(out, variants):
    records = json.loads((out / "results.json").read_text())
    assert [m["name"] for m in records] == [v.name for v in variants]
    for m in records:
        assert m["latency_ms"]["p50"] > 0 and m["model_bytes"] > 0 and m["samples"] == 50
    return json.loads((out / "demo.json").read_text())


def _check_bundles(res):
    import edgekit
    from edgekit.targets import get_target, list_targets

    assert sorted(p.name for p in res.bundles) == sorted(t.name for t in list_targets())  # one per target
    host = get_target(None).name
    for path in res.bundles:
        manifest = json.loads((path / "edgekit.json").read_text())
        fmt = manifest["target"]["format"]
        assert [m["format"] for m in manifest["models"]] == [fmt, fmt]  # INT8 first, then float
        assert "int8" in manifest["models"][0]["file"] and (path / "labels.txt").read_text().split() == list(CLASSES)
        measured = "latency_ms" in manifest["models"][0]["metrics"]
        assert measured == (path.name == host)  # latency only where it was measured
        assert manifest["models"][0]["metrics"]["top1"] is not None
    model = edgekit.load(res.out / "bundles" / host)
    image = next((res.out / "data" / "test" / "star").iterdir())
    (label, score), *_ = model.predict(image)
    assert label in CLASSES and 0 < score <= 1


def test_demo_distills_and_measures_every_variant(tmp_path, capsys):
    pytest.importorskip("torch", reason="the distillation path needs the edgekit[distill] extra")
    from edgekit.demo import demo

    res = demo(tmp_path / "out", runs=3, recipe=SMALL)
    assert res.distilled and res.student_note.startswith("distilled here in 1 epochs -- fewer than the shipped")
    # One epoch on 80 images cannot beat the shipped student: the demo says so and carries on with it.
    assert res.student_source == "shipped" and "the shipped student is better" in res.student_note
    names = [(v.name, v.format) for v in res.variants]
    assert names == [("teacher", "onnx"), ("student", "onnx"), ("student (distilled here)", "onnx"),
                     ("student int8", "onnx"), ("student", "tflite"), ("student int8", "tflite")]
    assert (res.out / "student.onnx").read_bytes() == (models_dir() / STUDENT_FILE).read_bytes()
    doc = _check_results(res.out, res.variants)
    assert doc["student"] == res.student_note and doc["student_source"] == "shipped"
    acc = {v: x.accuracy for v, x in zip(names, res.variants)}
    # 50 images from the shipped models' own test split; chance is 10%.
    assert acc[("teacher", "onnx")] >= 60 and acc[("student", "onnx")] >= 60
    # INT8 of a good student on 50 images: 15 points = 7 images of slack for quantization noise.
    assert acc[("student int8", "tflite")] >= acc[("student", "onnx")] - 15
    assert res.report.is_file() and res.report.with_suffix(".md").is_file()
    _check_bundles(res)
    out = capsys.readouterr().out
    assert "model" in out and "p99 ms" in out and "peak MB" in out  # the final table
    assert "[8/8] bundles:" in out
    # progress in a log: each epoch says how long it took and how long the whole run has taken
    assert re.search(r"epoch 1/1: val acc [\d.]+% \u00b7 (\d+ s|\d+m\d\ds) elapsed, [\d.]+ s/epoch", out), out[:2000]
    assert (res.out / "labels.txt").read_text().split()[0] == "arrow"


def test_demo_without_torch_uses_the_shipped_student(tmp_path):
    code = ("import sys, dataclasses; sys.modules['torch'] = None\n"
            "from tests.demo.test_demo import SMALL\n"
            "from edgekit.demo import demo\n"
            f"r = demo({str(tmp_path / 'out')!r}, runs=3, recipe=SMALL)\n"
            "print('DISTILLED', r.distilled, r.student_source, len(r.variants), len(r.bundles))\n")
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=root)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "DISTILLED False shipped 5 5" in r.stdout  # teacher, student, 3 variants; 5 shipped targets
    assert "using the shipped pre-distilled" in r.stdout and "torch is not installed" in r.stdout
    shipped = (models_dir() / STUDENT_FILE).read_bytes()
    assert (tmp_path / "out" / "student.onnx").read_bytes() == shipped
    assert (models_dir() / TEACHER_FILE).is_file()


def test_a_failing_step_stops_the_demo(tmp_path, monkeypatch):
    # No silent skipping: a step that raises ends the demo with that error, and no table is printed.
    import importlib

    from edgekit.demo import demo
    from edgekit.errors import ConvertError

    def broken(*args, **kwargs):
        raise ConvertError("conversion failed", "injected by the test", "none")

    monkeypatch.setattr(importlib.import_module("edgekit.convert"), "convert", broken)
    with pytest.raises(ConvertError, match="injected"):
        demo(tmp_path / "out", runs=1, distill=False, recipe=SMALL)
    assert not (tmp_path / "out" / "results.json").exists()


def test_demo_without_ai_edge_quantizer_fails_before_any_work(tmp_path, monkeypatch):
    # The TFLite INT8 step needs the optional quantizer: say so at once, not after minutes of distillation.
    from edgekit.demo import demo
    from edgekit.errors import DependencyError

    monkeypatch.setitem(sys.modules, "ai_edge_quantizer", None)  # makes `import ai_edge_quantizer` fail
    with pytest.raises(DependencyError, match=r"edgekit\[tflite-int8\]"):
        demo(tmp_path / "out", runs=1, distill=False, recipe=SMALL)
    assert not (tmp_path / "out").exists()
