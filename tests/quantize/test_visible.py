"""Issue 19, points 2 and 3: what quantize/convert/eval did to the data, and how far the result is from
float, are printed; a likely-wrong preprocessing and a near-zero SQNR are warnings, not silence."""
import numpy as np
import pytest

from edgekit.cli import main
from edgekit.data import imagenet, read_spec

from .conftest import conv_classifier


@pytest.fixture
def imagenet_size(tmp_path):
    """An RGB 224x224 classifier that stores no preprocessing, and a folder of photos."""
    from PIL import Image

    model = conv_classifier(tmp_path / "r.onnx", size=224)
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (64, 80, 3), dtype=np.uint8)).save(photos / f"{i}.png")
    return model, photos


def _row(text: str, key: str) -> str:
    return next(line[len(key):].strip() for line in text.splitlines() if line.startswith(key + " "))


def test_quantize_prints_the_preprocessing_and_warns_on_defaults(imagenet_size, tmp_path, capsys):
    model, photos = imagenet_size
    out = tmp_path / "q.onnx"
    assert main(["quantize", str(model), "--calib", str(photos), "-o", str(out)]) == 0
    cap = capsys.readouterr()
    assert _row(cap.out, "preprocessing") == "rgb 224x224 nchw, 0..1 (defaults)"
    assert "--preprocess imagenet" in cap.err and "r.onnx stores no preprocessing" in cap.err
    assert read_spec(out).mean == (0.0,)  # what calibration used is stored, so later commands agree

    given = tmp_path / "g.tflite"
    assert main(["quantize", str(model), "--calib", str(photos), "--preprocess", "imagenet", "-o", str(given)]) == 0
    cap = capsys.readouterr()
    assert _row(cap.out, "preprocessing").endswith("(given)") and "mean 0.485,0.456,0.406" in cap.out
    assert "--preprocess imagenet" not in cap.err
    assert read_spec(given).mean == imagenet.mean and read_spec(given).layout.value == "nchw"


def test_eval_prints_where_the_preprocessing_came_from(imagenet_size, tmp_path, capsys):
    model, photos = imagenet_size
    out = tmp_path / "q.onnx"
    assert main(["quantize", str(model), "--calib", str(photos), "--preprocess", "imagenet", "-o", str(out)]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), str(model), "--data", str(photos), "--reference", str(model)]) == 0
    cap = capsys.readouterr()
    rows = {line.split()[0]: line for line in cap.out.splitlines() if "nchw" in line}
    assert rows[str(out)].endswith("stored in the model") and "mean 0.485,0.456,0.406" in rows[str(out)]
    assert rows[str(model)].endswith("rgb 224x224 nchw, 0..1  defaults".split("  ")[1]) and "mean" not in rows[str(model)]
    assert "--preprocess imagenet" in cap.err  # the float source stores nothing: eval says so


@pytest.mark.parametrize("suffix", [".onnx", ".tflite"])
def test_a_result_far_from_float_is_reported_with_a_warning(tmp_path, capsys, suffix):
    """The outlier net's int8 output is all one value (0 dB against float): before issue 19 that was a
    plain success."""
    if suffix == ".tflite":
        pytest.importorskip("ai_edge_quantizer")
    from tests.convert._int8_graphs import calib_npy, outlier_net

    model, calib = outlier_net(tmp_path / "o.onnx"), calib_npy(tmp_path / "c.npy", n=16)
    out = tmp_path / f"q{suffix}"
    assert main(["quantize", str(model), "--scheme", "w8a8", "--calib", str(calib), "-o", str(out)]) == 0
    cap = capsys.readouterr()
    assert float(_row(cap.out, "SQNR vs float").split()[0]) < 10
    assert "warning: output SQNR against float is" in cap.err and "below 10 dB" in cap.err


def test_a_good_result_prints_its_sqnr_without_warning(tmp_path, capsys):
    pytest.importorskip("ai_edge_quantizer")
    from .conftest import mlp

    model = mlp(tmp_path / "m.onnx")
    np.save(tmp_path / "c.npy", np.random.default_rng(0).normal(size=(8, 64)).astype(np.float32))
    assert main(["convert", str(model), "--int8", "--calib", str(tmp_path / "c.npy"), "-o",
                 str(tmp_path / "m.tflite")]) == 0
    cap = capsys.readouterr()
    assert float(_row(cap.out, "SQNR vs float").split()[0]) > 20 and "SQNR against float" not in cap.err
