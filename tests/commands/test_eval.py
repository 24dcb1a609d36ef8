"""edgekit eval on unlabelled data: without --reference there is nothing to measure, and it says so."""
from __future__ import annotations

import numpy as np

from edgekit.cli import main
from tests.quantize.conftest import conv_classifier


def test_unlabelled_data_without_reference_is_an_error(tmp_path, capsys):
    model = conv_classifier(tmp_path / "m.onnx")
    data = tmp_path / "x.npy"  # a .npy has no labels
    np.save(data, np.random.default_rng(0).random((3, 3, 8, 8), dtype=np.float32))
    assert main(["eval", str(model), "--data", str(data)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1  # no table of dashes, one line
    assert "no labels" in err and "--reference" in err
    # with a reference it measures agreement and SQNR (the model against itself: 100 %, identical outputs)
    assert main(["eval", str(model), "--data", str(data), "--reference", str(model)]) == 0
    row = next(l for l in capsys.readouterr().out.splitlines() if l.startswith(str(model))).split()
    assert row[1:] == ["3", "-", "-", "100", "inf", "0"]  # the results table comes first


def test_labelled_data_needs_no_reference(tmp_path, capsys):
    model = conv_classifier(tmp_path / "m.onnx")
    data = tmp_path / "x.npz"
    np.savez(data, x=np.zeros((4, 3, 8, 8), np.float32), labels=np.array([0, 1, 2, 3]))
    assert main(["eval", str(model), "--data", str(data)]) == 0
    row = next(l for l in capsys.readouterr().out.splitlines() if l.startswith(str(model))).split()
    assert row[1] == "4" and row[2] != "-"  # a top-1 figure
