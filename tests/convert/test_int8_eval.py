"""INT8 TFLite meets eval and the CLI's one-line errors: integer interfaces take the float model's data,
and a bad calibration set or output path fails with one stderr line before any LiteRT work."""
from __future__ import annotations

import numpy as np
import pytest

from ._int8_graphs import calib_npy, cnn

pytest.importorskip("ai_edge_quantizer")


def test_eval_integer_io_tflite_on_the_float_models_data(tmp_path):
    """--io uint8|int8: edgekit.load quantizes float input, so eval feeds it the same float samples as the
    float-io model (the data layer must not demand uint8 arrays). Both interfaces compute the same int8
    graph: agreement with the float ONNX model within 2 samples of 24 and SQNR within 3 dB of each other."""
    import edgekit

    src, calib = cnn(tmp_path / "m.onnx"), calib_npy(tmp_path / "c.npy", n=24)
    outs = [edgekit.convert(src, tmp_path / f"m_{io}.tflite", int8=True, calib=calib, io=io)
            for io in ("float", "uint8", "int8")]
    res = edgekit.evaluate(outs, calib, reference=src)
    assert [r.samples for r in res] == [24, 24, 24]
    for r in res[1:]:
        assert abs(r.agreement - res[0].agreement) <= 100 * 2 / 24
        assert r.sqnr_db == pytest.approx(res[0].sqnr_db, abs=3.0)
    assert res[0].sqnr_db > 15  # really close to float, not noise


def test_cli_bad_calibration_data_is_one_stderr_line(tmp_path, src_model, capfd):
    """capfd sees LiteRT's C++ stderr too: its "INFO: Created ... delegate" line must not precede the error."""
    from edgekit.cli import main

    bad = calib_npy(tmp_path / "bad.npy", n=4, shape=(3, 8, 8))
    assert main(["convert", str(src_model), "--int8", "--calib", str(bad), "-o", str(tmp_path / "o.tflite")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "input 'x' has shape [1, 3, 8, 8]" in err[0], err
    assert not (tmp_path / "o.tflite").exists()


def test_unwritable_output_fails_before_conversion(tmp_path, src_model):
    import edgekit
    from edgekit.errors import InputError

    (tmp_path / "f").write_text("a file, not a directory")
    calib = calib_npy(tmp_path / "c.npy", n=2)
    with pytest.raises(InputError, match="cannot write output"):
        edgekit.convert(src_model, tmp_path / "f" / "o.tflite", int8=True, calib=calib)
    with pytest.raises(InputError, match="cannot write report file"):
        edgekit.convert(src_model, tmp_path / "o.tflite", int8=True, calib=calib, report=tmp_path / "f" / "r.md")
    assert not (tmp_path / "o.tflite").exists()


@pytest.fixture
def src_model(tmp_path):
    return cnn(tmp_path / "m.onnx")


def test_unreadable_calibration_images_are_counted(tmp_path, src_model):
    """Without --strict a broken file is skipped and the result says how many were."""
    from PIL import Image

    import edgekit

    d = tmp_path / "imgs"
    d.mkdir()
    for i in range(3):
        Image.fromarray(np.full((20, 20, 3), 60 * i, np.uint8)).save(d / f"{i}.png")
    (d / "broken.png").write_bytes(b"not an image")
    res = edgekit.convert(src_model, tmp_path / "o.tflite", int8=True, calib=d)
    assert res.calib_samples == 3 and res.skipped == 1
    assert (tmp_path / "o.tflite").is_file()
