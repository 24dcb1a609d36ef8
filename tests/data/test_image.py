import numpy as np
import pytest
from PIL import Image

from edgekit.data import Color, Layout, PreprocessSpec, preprocess_image
from edgekit.errors import DataError


def _rgb(h=20, w=30):
    arr = np.zeros((h, w, 3), np.uint8)
    arr[..., 0] = 200
    arr[: h // 2, :, 1] = 100
    return arr


def test_rgb_to_nchw_scaled_and_normalized():
    spec = PreprocessSpec(size=(20, 30), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))
    x = preprocess_image(Image.fromarray(_rgb()), spec)
    assert x.shape == (1, 3, 20, 30) and x.dtype == np.float32
    # same size: bilinear is the identity, so values are exact up to float rounding
    np.testing.assert_allclose(x[0, 0], (200 / 255 - 0.5) / 0.5, atol=1e-6)
    np.testing.assert_allclose(x[0, 1, :10], (100 / 255 - 0.5) / 0.5, atol=1e-6)


def test_nhwc_and_resize_shorter_center_crop():
    arr = np.zeros((40, 80, 3), np.uint8)
    arr[:, 20:60] = 255  # the centre square is white, the sides black
    spec = PreprocessSpec(size=(10, 10), resize_shorter=10, layout=Layout.NHWC)
    x = preprocess_image(Image.fromarray(arr), spec)
    assert x.shape == (1, 10, 10, 3)
    # the crop kept only the white centre; the outermost columns blend with the black border through
    # pillow's antialiasing filter when downscaling 4x, so they are checked loosely
    assert x[0, :, 1:-1].min() > 0.99 and x.min() > 0.5
    straight = preprocess_image(Image.fromarray(arr), PreprocessSpec(size=(10, 10), layout=Layout.NHWC))
    assert straight.min() < 0.01  # without --resize the whole image is squeezed in, black sides too


def test_exif_orientation_is_honoured(tmp_path):
    arr = np.zeros((10, 20, 3), np.uint8)  # landscape 20 wide, 10 high
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6  # Orientation: rotate 90 CW to display (EXIF 2.3 tag 274)
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif)
    from edgekit.data import open_image
    assert open_image(path).size == (10, 20)  # displayed upright: portrait


@pytest.mark.parametrize("mode", ["L", "RGBA", "P", "CMYK", "LA", "1"])
def test_image_modes_decode_to_rgb_and_gray(tmp_path, mode):
    img = Image.fromarray(_rgb()).convert(mode)
    ext = "jpg" if mode == "CMYK" else "png"
    path = tmp_path / f"img.{ext}"
    img.save(path)
    for color, c in ((Color.RGB, 3), (Color.GRAY, 1)):
        x = preprocess_image(path, PreprocessSpec(size=(8, 8), color=color))
        assert x.shape == (1, c, 8, 8) and np.isfinite(x).all()
        assert 0.0 <= x.min() and x.max() <= 1.0


def test_rgba_transparent_pixels_become_white():
    arr = np.zeros((4, 4, 4), np.uint8)  # black, fully transparent
    x = preprocess_image(Image.fromarray(arr, "RGBA"), PreprocessSpec(size=(4, 4)))
    np.testing.assert_allclose(x, 1.0)


def test_16_bit_png_keeps_its_range(tmp_path):
    arr = np.full((6, 6), 65535 // 4, np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    x = preprocess_image(path, PreprocessSpec(size=(6, 6), color=Color.GRAY))
    # 16383/65535 ~ 0.25: scaled by 16-bit full scale, not clipped at 255
    np.testing.assert_allclose(x, (65535 // 4) / 65535, atol=1e-6)


def test_corrupt_file_is_a_data_error(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(DataError, match="cannot decode image bad.png"):
        preprocess_image(path, PreprocessSpec(size=(4, 4)))


def test_exif_rotation_moves_the_pixels_not_just_the_size(tmp_path):
    """A camera JPEG stored sideways: the marker in the stored top-left is shown top-right after a
    90-degree clockwise turn (EXIF Orientation 6), and preprocessing sees the displayed image."""
    arr = np.zeros((10, 20, 3), np.uint8)
    arr[:4, :6] = 255  # marker block in the stored top-left corner
    img = Image.fromarray(arr)
    exif = img.getexif()
    exif[0x0112] = 6
    path = tmp_path / "cam.jpg"
    img.save(path, exif=exif, quality=95)
    x = preprocess_image(path, PreprocessSpec(size=(20, 10), color=Color.GRAY))[0, 0]
    # JPEG blurs the block edges, so compare block interiors with wide margins
    assert x[:4, 7:].min() > 0.8 and x[:4, :3].max() < 0.2 and x[-8:].max() < 0.2


def test_16_bit_png_to_rgb_repeats_the_channel(tmp_path):
    arr = np.full((4, 4), 3 * 65535 // 4, np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    x = preprocess_image(path, PreprocessSpec(size=(4, 4), color=Color.RGB))
    assert x.shape == (1, 3, 4, 4)
    np.testing.assert_allclose(x, (3 * 65535 // 4) / 65535, atol=1e-6)


def test_palette_with_transparency_index_is_composited_on_white(tmp_path):
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)  # index 0 black, index 1 red
    img.putpixel((0, 0), 1)
    path = tmp_path / "pal.png"
    img.save(path, transparency=0)  # index 0 (black) is transparent
    x = preprocess_image(path, PreprocessSpec(size=(4, 4)))[0]
    np.testing.assert_allclose(x[:, 0, 0], [1.0, 0.0, 0.0])  # the opaque red pixel stays red
    np.testing.assert_allclose(x[:, 1:, :], 1.0)  # transparent black shows as white


def test_truncated_image_is_a_data_error_and_its_file_is_closed(tmp_path):
    """A PNG cut short opens but fails to decode: DataError, and no leaked handle (a ResourceWarning the
    CLI would print as a warning line, and one open file per bad image in a large folder)."""
    import gc
    import warnings

    buf = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), np.uint8)).save(buf)
    path = tmp_path / "cut.png"
    path.write_bytes(buf.read_bytes()[:300])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError, match="cannot decode image cut.png: image file is truncated"):
            preprocess_image(path, PreprocessSpec(size=(4, 4)))
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
