"""Issue 17 item 4: declared sizes, decoded pixels and labels are checked before memory is taken."""
from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from edgekit import limits
from edgekit.data import PreprocessSpec, open_source, preprocess_image
from edgekit.data import image as image_mod
from edgekit.errors import DataError, InputError
from edgekit.runtime.device import TensorInfo


def _one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_a_preprocessing_size_beyond_any_camera_is_refused():
    with pytest.raises(InputError) as exc:
        PreprocessSpec(size=(100_000, 100_000))
    assert "from 1 to 32768" in _one_line(exc)
    with pytest.raises(InputError):
        PreprocessSpec(size=(8, 8), resize_shorter=10**9)


def test_a_size_that_does_not_fit_in_memory_is_refused_before_decoding(monkeypatch, tmp_path):
    monkeypatch.setattr(limits, "available_bytes", lambda: 1 << 30)  # pretend 1 GB is free
    decoded = []
    monkeypatch.setattr(image_mod, "open_image", lambda *a, **k: decoded.append(a))
    spec = PreprocessSpec(size=(20_000, 20_000))  # 4.8 GB of float32 RGB
    with pytest.raises(InputError) as exc:
        preprocess_image(tmp_path / "any.png", spec)
    assert "1x3x20000x20000 needs 4.5 GB" in _one_line(exc) and decoded == []


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height pixels and holds none (a decompression-bomb header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [12_000, 20_000])  # above edgekit's limit; above pillow's error threshold
def test_an_image_beyond_the_pixel_limit_is_one_data_error(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header_only(side, side))
    with pytest.raises(DataError) as exc:
        preprocess_image(path, PreprocessSpec(size=(8, 8)))
    assert "bomb.png" in _one_line(exc) and ("megapixels" in str(exc.value))


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_a_large_image_is_downscaled_while_decoding(tmp_path, fmt):
    """A 2000x3000 image for an 8x8 input decodes at most 4x the needed side (JPEG draft, else reduce)."""
    yy, xx = np.mgrid[0:2000, 0:3000]
    arr = np.stack([xx * 255 // 2999, yy * 255 // 1999, np.full_like(xx, 128)], axis=2).astype(np.uint8)
    path = tmp_path / f"big.{fmt.lower()}"
    Image.fromarray(arr).save(path, fmt, quality=95)
    img = image_mod.open_image(path, need=8)
    assert 16 <= min(img.size) <= 64  # kept >= 2x the need (thumbnail's reducing_gap), far below 2000
    spec = PreprocessSpec(size=(8, 8))
    fast = preprocess_image(path, spec)
    full = preprocess_image(Image.open(path).convert("RGB"), spec)  # a PIL image is resized from full size
    # A smooth gradient: box-reducing first then bilinear agrees with bilinear from full size to within
    # 1.5 % of full scale (the two filters' different supports). JPEG's DCT scaling also averages each
    # 8x8 block and its subsampled chroma, measured up to 1.9 % here: 2.5 % allowed.
    np.testing.assert_allclose(fast, full, atol=0.025 if fmt == "JPEG" else 0.015)


@pytest.mark.parametrize("labels, text", [
    (np.array([0, 10**9]), "label 1000000000 is not a class index"),
    (np.array([0, -1]), "label -1 is not a class index"),
    (np.array([0.0, np.nan]), "labels have dtype float64"),
    (np.array([0.5, 1.0]), "labels have dtype float64"),
    (np.array(["cat", "dog"]), "labels have dtype <U3"),
    (np.zeros((2, 2), np.int64), "labels have shape [2, 2]"),
], ids=["huge", "negative", "nan", "fraction", "strings", "2-D"])
def test_npz_labels_must_be_small_non_negative_integers(tmp_path, labels, text):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.zeros((2, 4), np.float32), labels=labels)
    with pytest.raises(DataError) as exc:
        open_source(path, None, [TensorInfo("x", (1, 4), "float32")])
    assert text in _one_line(exc) and str(path) in str(exc.value)


def test_whole_float_labels_and_missing_classes_still_work(tmp_path):
    path = tmp_path / "d.npz"
    np.savez(path, x=np.arange(8, dtype=np.float32).reshape(4, 2), labels=np.array([3.0, 0.0, 3.0, 1.0]))
    ds = open_source(path, None, [TensorInfo("x", (1, 2), "float32")])
    assert ds.classes == ["0", "1", "2", "3"]
    assert sorted(label for _, label in ds) == [0, 1, 3, 3]


def _huge_input_model(path):
    """A model that declares a 1x3x100000x100000 input (120 GB as float32) and computes almost nothing."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((1, 3, 1, 1), np.float32), "w")  # a weight: something to quantize
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["c"]),
                               helper.make_node("GlobalAveragePool", ["c"], ["y"])], "huge",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 100_000, 100_000])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, 1, 1])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), str(path))
    return path


@pytest.mark.parametrize("command", ["eval", "quantize"])
def test_a_huge_declared_input_is_refused_before_allocation(tmp_path, capsys, command):
    from edgekit.cli import main

    model = _huge_input_model(tmp_path / "huge.onnx")
    (tmp_path / "imgs" / "a").mkdir(parents=True)
    Image.new("RGB", (16, 16)).save(tmp_path / "imgs" / "a" / "0.png")
    argv = {"eval": ["eval", str(model), "--data", str(tmp_path / "imgs")],
            "quantize": ["quantize", str(model), "--calib", str(tmp_path / "imgs"), "-o", str(tmp_path / "q.onnx")]}
    code = main(argv[command])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "100000" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["huge.onnx", "imgs"]  # nothing written
