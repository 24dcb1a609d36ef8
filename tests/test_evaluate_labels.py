"""Issue 17 item 6: class folders are matched to the model's stored class names, not their sorted position."""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from PIL import Image

import edgekit
from bundle.conftest import LABELS, colour_classifier
from edgekit.cli import main
from edgekit.errors import DataError

COLOURS = {"red": (220, 40, 30), "green": (30, 200, 60), "blue": (30, 60, 220)}


def _labelled(path):
    """The red/green/blue classifier with its class names stored, as edgekit distill stores them."""
    colour_classifier(path)
    model = onnx.load(str(path))
    entry = model.metadata_props.add()
    entry.key, entry.value = "edgekit.labels", json.dumps(LABELS)
    onnx.save(model, str(path))
    return path


def _folder(root, classes, per_class=2):
    for name in classes:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (8, 8), COLOURS.get(name, (128, 0, 128))).save(root / name / f"{i}.png")
    return root


def test_a_subset_of_the_classes_is_scored_by_name(tmp_path):
    model = _labelled(tmp_path / "m.onnx")
    data = _folder(tmp_path / "data", ["blue", "green"])  # sorted positions 0, 1 would mean red, green
    (res,) = edgekit.evaluate(model, data)
    assert res.top1 == 100.0 and res.samples == 4
    unlabelled = colour_classifier(tmp_path / "plain.onnx")  # no stored names: positions, as before
    assert edgekit.evaluate(unlabelled, data)[0].top1 == 50.0  # green happens to sit at index 1 either way


def test_the_names_reach_a_tflite_conversion_and_a_bundle(tmp_path):
    model = _labelled(tmp_path / "m.onnx")
    data = _folder(tmp_path / "data", ["blue"])
    tfl = edgekit.convert(model, tmp_path / "m.tflite")
    bundle = edgekit.bundle(colour_classifier(tmp_path / "c.onnx"), tmp_path / "b", labels=LABELS)
    results = edgekit.evaluate([tfl, edgekit.load(bundle)], data)
    assert [r.top1 for r in results] == [100.0, 100.0]


def test_a_folder_that_is_not_a_class_of_the_model_is_refused(tmp_path, capsys):
    model = _labelled(tmp_path / "m.onnx")
    data = _folder(tmp_path / "data", ["blue", "purple"])
    with pytest.raises(DataError, match=r"class folder\(s\) purple .* its classes are red, green, blue"):
        edgekit.evaluate(model, data)
    assert main(["eval", str(model), "--data", str(data)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_unlabelled_data_without_a_reference_says_so(tmp_path, capsys):
    model = _labelled(tmp_path / "m.onnx")
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.new("RGB", (8, 8), COLOURS["red"]).save(flat / "a.png")
    with pytest.raises(DataError, match="has no labels and no reference"):
        edgekit.evaluate(model, flat)
    assert main(["eval", str(model), "--data", str(flat), "--json", str(tmp_path / "r.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--reference" in err[0] and not (tmp_path / "r.json").exists()
    (res,) = edgekit.evaluate(model, flat, reference=model)  # with a reference it compares
    assert res.agreement == 100.0 and res.top1 is None


def test_npz_labels_stay_class_indices(tmp_path):
    model = _labelled(tmp_path / "m.onnx")
    blue = (np.asarray(COLOURS["blue"], np.float32)[:, None, None] / 255 - 0.5) / 0.25  # the stored spec
    x = np.broadcast_to(blue, (1, 3, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, labels=np.array([2]))
    assert edgekit.evaluate(model, tmp_path / "d.npz")[0].top1 == 100.0
