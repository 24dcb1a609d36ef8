"""`edgekit bundle` on the command line, and what loading a bundle imports."""
from __future__ import annotations

import json
import subprocess
import sys

from edgekit.cli import main



def test_cli_bundle_writes_and_prints_a_table(tmp_path, onnx_model, labels_file, capsys):
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"model": str(onnx_model), "samples": 9, "top1": 88.9}))
    out = tmp_path / "bundle"
    code = main(["bundle", str(onnx_model), "--target", "x86_64", "--labels", str(labels_file),
                 "--results", str(results), "-o", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "colour.onnx" in text and "88.9" in text
    m = json.loads((out / "edgekit.json").read_text())
    assert m["models"][0]["metrics"]["top1"] == 88.9 and m["target"]["name"] == "x86_64"


def test_cli_preprocessing_flags_override_the_stored_spec(tmp_path, onnx_model, labels_file):
    out = tmp_path / "bundle"
    assert main(["bundle", str(onnx_model), "--target", "x86_64", "--labels", str(labels_file),
                 "--mean", "0.4,0.4,0.4", "-o", str(out)]) == 0
    spec = json.loads((out / "edgekit.json").read_text())["models"][0]["preprocess"]
    assert spec["mean"] == [0.4, 0.4, 0.4] and spec["std"] == [0.25]  # the flag wins; the rest is stored


def test_cli_errors_are_one_line(tmp_path, onnx_model, capsys):
    code = main(["bundle", str(tmp_path / "nope.onnx"), "--target", "x86_64", "-o", str(tmp_path / "b2")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "nope.onnx not found" in err
    code = main(["bundle", str(onnx_model), "--target", "no-such-board", "-o", str(tmp_path / "b3")])
    assert code == 2 and "unknown target" in capsys.readouterr().err


def test_profile_takes_a_bundle_directory_and_checks_its_hash(tmp_path, onnx_model, labels_file, capsys):
    import platform

    host = "x86_64" if platform.machine().lower() in ("x86_64", "amd64") else "linux-arm64"
    out = tmp_path / "bundle"
    assert main(["bundle", str(onnx_model), "--target", host, "--labels", str(labels_file), "-o", str(out)]) == 0
    capsys.readouterr()
    report = tmp_path / "p.json"
    assert main(["profile", str(out), "--target", host, "--runs", "3", "--json", str(report)]) == 0
    record = json.loads(report.read_text())
    assert record["model"].endswith("colour.onnx") and record["format"] == "onnx" and record["runs"] == 3
    (out / "colour.onnx").write_bytes((out / "colour.onnx").read_bytes() + b"x")  # tampered: refused, not measured
    code = main(["profile", str(out), "--target", host, "--runs", "3"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "does not match edgekit.json" in err


LIGHT = """
import sys, edgekit
m = edgekit.load(sys.argv[1])
heavy = lambda: sorted(k for k in ("onnx", "torch", "PIL", "tensorflow") if k in sys.modules)
print(heavy())
from PIL import Image
print(m.predict(Image.new("RGB", (8, 8), (250, 10, 10)), top_k=1)[0][0], heavy())
"""


def test_loading_a_bundle_stays_light(tmp_path, onnx_model, labels_file):
    """A device has numpy and one backend: loading imports neither onnx nor torch nor pillow."""
    out = tmp_path / "bundle"
    assert main(["bundle", str(onnx_model), "--target", "x86_64", "--labels", str(labels_file), "-o", str(out)]) == 0
    proc = subprocess.run([sys.executable, "-c", LIGHT, str(out)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.strip().splitlines()
    assert first == "[]"
    assert second == "red ['PIL']"  # predict decodes with pillow, still no onnx or torch
