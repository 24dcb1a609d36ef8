import json

from edgekit.cli import main
from edgekit.data import read_spec


def test_cli_quantize_with_flags_report_and_warning(tiny_model, calib_npy, tmp_path, capsys):
    out, rep = tmp_path / "q.onnx", tmp_path / "r.json"
    code = main(["quantize", str(tiny_model), "--calib", str(calib_npy), "-o", str(out), "--target", "raspberry-pi-5",
                 "--per-tensor", "--calib-size", "5", "--exclude", "nothing_here", "--mean", "0.5", "--std", "0.2",
                 "--report", str(rep)])
    assert code == 0
    text = capsys.readouterr().out
    assert "warning: --exclude 'nothing_here' matches no node" in text
    assert "int8/int8" in text and "calibration samples  5" in text
    spec = read_spec(out)
    assert spec.mean == (0.5,) and spec.std == (0.2,)
    data = json.loads(rep.read_text())
    assert data["per_channel"] is False and data["layers"] and data["calib_samples"] == 5


def test_cli_bad_input_exits_2_with_one_line(tiny_model, calib_npy, tmp_path, capsys):
    assert main(["quantize", str(tiny_model), "--calib", str(calib_npy), "-o", str(tmp_path / "q.onnx"),
                 "--max-drop", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--max-drop needs --eval" in err
    assert not (tmp_path / "q.onnx").exists()
