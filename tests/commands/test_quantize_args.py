"""quantize's argument handling: --exclude does not swallow the model, and usage/path mistakes are
reported before onnx/onnxruntime are imported."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from edgekit.cli import main
from tests.quantize.conftest import conv_classifier


@pytest.fixture
def model(tmp_path):
    return conv_classifier(tmp_path / "tiny.onnx")


@pytest.mark.parametrize("argv", [
    ["--exclude", "conv2", "Relu", "{m}", "-o", "{o}", "--mode", "dynamic"],  # used to take the model as a name
    ["{m}", "--exclude", "conv2", "Relu", "-o", "{o}", "--mode", "dynamic"],  # the old spelling still works
    ["{m}", "--exclude", "conv2,Relu", "-o", "{o}", "--mode", "dynamic"],
    ["{m}", "--exclude", "conv2", "--exclude", "Relu", "-o", "{o}", "--mode", "dynamic"],
])
def test_exclude_takes_names_not_the_model(tmp_path, model, capsys, argv):
    out = tmp_path / "q.onnx"
    assert main(["quantize", *[a.format(m=model, o=out) for a in argv]]) == 0
    text = capsys.readouterr().out
    # conv2 by name plus both Relu nodes by op type, nothing else: the model file was not taken as a name
    kept = next(l for l in text.splitlines() if l.startswith("kept in float"))
    assert kept.split(None, 3)[3] == "conv2, relu1, relu2", kept
    assert out.is_file()


def test_no_model_is_one_line(tmp_path, capsys):
    assert main(["quantize", "--exclude", "conv2", "-o", str(tmp_path / "q.onnx")]) == 2
    err = capsys.readouterr().err
    assert "no model given" in err and err.count("\n") == 1


CHECK = """
import sys
from edgekit.cli import main
rc = main(sys.argv[1:])
heavy = sorted(m for m in ("onnx", "onnxruntime", "torch", "ai_edge_litert") if m in sys.modules)
print("RC", rc, "HEAVY", ",".join(heavy) or "none")
"""


@pytest.mark.parametrize("case", ["missing calib", "missing eval data", "missing model", "output is a dir"])
def test_bad_paths_fail_before_heavy_imports(tmp_path, model, case):
    calib = tmp_path / "calib.npy"
    np.save(calib, np.zeros((2, 3, 8, 8), np.float32))
    argv = {"missing calib": [str(model), "--calib", str(tmp_path / "nope"), "-o", str(tmp_path / "q.onnx")],
            "missing eval data": [str(model), "--calib", str(calib), "--max-drop", "1", "--eval",
                                  str(tmp_path / "nope"), "-o", str(tmp_path / "q.onnx")],
            "missing model": [str(tmp_path / "nope.onnx"), "--calib", str(calib), "-o", str(tmp_path / "q.onnx")],
            "output is a dir": [str(model), "--calib", str(calib), "-o", str(tmp_path)]}[case]
    proc = subprocess.run([sys.executable, "-c", CHECK, "quantize", *argv], capture_output=True, text=True,
                          timeout=120)
    assert "RC 2 HEAVY none" in proc.stdout, (proc.stdout, proc.stderr)
    assert proc.stderr.count("\n") == 1 and ("not found" in proc.stderr or "directory" in proc.stderr)


def test_an_exclusion_matching_nothing_names_what_exists(tmp_path, model, capsys):
    assert main(["quantize", str(model), "--exclude", "conv3", "-o", str(tmp_path / "q.onnx"), "--mode", "dynamic"]) == 0
    err = capsys.readouterr().err
    assert "--exclude 'conv3' matches no node" in err
    assert "closest: conv2, conv1" in err and "op types here: Conv, Flatten, Gemm, GlobalAveragePool, Relu" in err
