import json

from edgekit.cli import main
from edgekit.data import read_spec


def test_cli_quantize_with_flags_report_and_warning(tiny_model, calib_npy, tmp_path, capsys):
    out, rep = tmp_path / "q.onnx", tmp_path / "r.json"
    code = main(["quantize", str(tiny_model), "--calib", str(calib_npy), "-o", str(out), "--target", "raspberry-pi-5",
                 "--per-tensor", "--calib-size", "5", "--exclude", "nothing_here", "--mean", "0.5", "--std", "0.2",
                 "--report", str(rep)])
    assert code == 0
    cap = capsys.readouterr()
    text = cap.out
    assert "warning: --exclude 'nothing_here' matches no node" in cap.err  # warnings go to stderr, results to stdout
    assert "warning" not in text
    assert "int8/int8" in text and "calibration samples  5" in text
    spec = read_spec(out)
    assert spec.mean == (0.5,) and spec.std == (0.2,)
    data = json.loads(rep.read_text())
    assert data["scheme"]["granularity"] == "per-tensor" and data["layers"] and data["calib_samples"] == 5


def test_cli_bad_input_exits_2_with_one_line(tiny_model, calib_npy, tmp_path, capsys):
    assert main(["quantize", str(tiny_model), "--calib", str(calib_npy), "-o", str(tmp_path / "q.onnx"),
                 "--max-drop", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--max-drop needs --eval" in err
    assert not (tmp_path / "q.onnx").exists()


def _image_folder(root, corrupt=True):
    import numpy as np
    from PIL import Image

    for c in ("a", "b"):
        (root / c).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((9, 9, 3), 40 * i + 10, np.uint8)).save(root / c / f"{i}.png")
    if corrupt:
        (root / "b" / "broken.jpg").write_bytes(b"not a jpeg")
    return root


def test_cli_corrupt_files_are_counted_or_fatal_with_strict(tiny_model, tmp_path, capsys):
    data = _image_folder(tmp_path / "imgs")
    out = tmp_path / "q.onnx"
    assert main(["quantize", str(tiny_model), "--calib", str(data), "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "skipped files        1" in text and "calibration samples  6" in text
    strict = tmp_path / "strict.onnx"
    assert main(["quantize", str(tiny_model), "--calib", str(data), "-o", str(strict), "--strict"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "broken.jpg is not a readable image" in err and "--strict" in err
    assert not strict.exists()


def test_cli_accuracy_aware_mode_reports_layers_and_drop(tmp_path, capsys):
    import numpy as np

    import edgekit

    from .test_fallback import outlier_model

    model = outlier_model(tmp_path / "outlier.onnx")
    x = np.random.default_rng(1).normal(size=(120, 16)).astype(np.float32)
    ref = edgekit.load(model)
    labels = np.array([int(np.argmax(ref.run(x[i:i + 1])["logits"])) for i in range(len(x))])
    np.savez(tmp_path / "eval.npz", x=x, labels=labels)
    np.save(tmp_path / "calib.npy", x[:40])
    code = main(["quantize", str(model), "--calib", str(tmp_path / "calib.npy"), "-o", str(tmp_path / "q.onnx"),
                 "--max-drop", "0.5", "--eval", str(tmp_path / "eval.npz"), "--report", str(tmp_path / "r.md")])
    assert code == 0
    text = capsys.readouterr().out
    kept = next(line for line in text.splitlines() if line.startswith("kept in float"))
    drop = next(line for line in text.splitlines() if line.startswith("top-1 drop"))
    assert "head" in kept and "(budget 0.5: met)" in drop
    assert "| head | MatMul | logits |" in (tmp_path / "r.md").read_text()


def test_cli_dynamic_and_fp16_need_no_calibration(tiny_model, tmp_path, capsys):
    import onnx

    for mode in ("dynamic", "fp16"):
        out = tmp_path / f"{mode}.onnx"
        assert main(["quantize", str(tiny_model), "--mode", mode, "-o", str(out)]) == 0
        scheme = {"dynamic": "w8-dynamic", "fp16": "fp16"}[mode]
        assert ["scheme", scheme] in [line.split() for line in capsys.readouterr().out.splitlines()]
        onnx.checker.check_model(str(out))


def test_cli_long_float_list_goes_under_the_table(tiny_model, calib_npy, tmp_path, capsys):
    """More than LIST_INLINE nodes kept in float: the table says how many, the names follow one per line
    (inline, a long list would stretch every row of the table to its width)."""
    from edgekit.ui import LIST_INLINE

    names = ["conv1", "relu1", "conv2", "relu2"]
    assert len(names) > LIST_INLINE
    assert main(["quantize", str(tiny_model), "--calib", str(calib_npy), "-o", str(tmp_path / "q.onnx"),
                 "--exclude", *names]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("kept in float") and "4 (below)" in line for line in lines)
    at = lines.index("kept in float:")
    assert [line.strip() for line in lines[at + 1:at + 5]] == names
    assert not any("conv1, relu1" in line for line in lines)  # not inline in the table
