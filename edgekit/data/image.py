"""Decode one image with pillow and turn it into a model input, following a PreprocessSpec."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from ..limits import MAX_PIXELS, check_bytes
from .spec import Color, Layout, PreprocessSpec

# Pillow modes holding more than 8 bits per sample (16-bit PNG opens as I;16*, sometimes widened to I).
_WIDE_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def open_image(source, need: int | None = None):
    """A decoded, EXIF-upright pillow image; DataError if it is not a readable image.

    At most ``MAX_PIXELS`` are decoded (an explicit limit instead of pillow's warning). ``need``: the
    side in pixels the caller resizes to; a larger image is downscaled while decoding (JPEG DCT
    scaling through ``draft``, else ``reduce``), keeping at least twice ``need`` per side as pillow's
    ``thumbnail`` does (its reducing_gap), so the final resize sees the same detail. A 9,500 x 9,500
    photo used to sit in memory as 2.3 GB of float32 before it was resized.
    """
    import warnings

    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(source, Image.Image):
        img = source
    else:
        img = None
        try:
            with warnings.catch_warnings():  # our limit below replaces pillow's bomb warning
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                img = Image.open(source)
            _check_pixels(img, source)
            if need and img.format == "JPEG":
                img.draft(img.mode, (2 * need, 2 * need))  # decode at 1/2, 1/4 or 1/8 scale where that fits
            img.load()  # decode now: a truncated file fails here, not halfway through a batch
            img = _reduce(img, need)
        except Image.DecompressionBombError as exc:
            raise DataError(f"image {Path(str(source)).name} is too large to decode", str(exc).split(" could")[0],
                            f"downscale it below {MAX_PIXELS // 10**6} megapixels") from None
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            if img is not None:  # opened but failed to decode: pillow keeps the file handle open otherwise
                img.close()
            raise DataError(f"cannot decode image {Path(str(source)).name}", str(exc).splitlines()[0] if str(exc) else
                            type(exc).__name__, "remove or replace the file") from exc
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # a malformed EXIF block must not lose an otherwise good image
        return img


def _check_pixels(img, source) -> None:
    w, h = img.size  # from the header: nothing is decoded yet
    if w * h > MAX_PIXELS:
        img.close()
        raise DataError(f"image {Path(str(source)).name} has {w}x{h} pixels", f"edgekit decodes at most "
                        f"{MAX_PIXELS // 10**6} megapixels", "downscale the image first")


def _reduce(img, need: int | None):
    """Shrink by a whole factor while each side stays >= 2 x ``need`` (box filter, cheap, before floats)."""
    if not need:
        return img
    factor = min(img.size) // (2 * need)
    if factor < 2:
        return img
    try:
        return img.reduce(factor)
    except (ValueError, NotImplementedError):  # a mode reduce() does not handle: resize from full size
        return img


def _to_float_channels(img, color: Color) -> tuple[np.ndarray, float]:
    """HxWxC float32 array and the value of full scale (255 or 65535)."""
    from PIL import Image

    if img.mode in _WIDE_MODES:
        # 16-bit grayscale: keep all 16 bits (convert("L") would clip at 255, not rescale).
        arr = np.asarray(img, dtype=np.float32)
        full = 65535.0 if arr.max(initial=0) > 255 or img.mode.startswith("I;16") else 255.0
        arr = arr[..., None]
        return (np.repeat(arr, 3, axis=2) if color is Color.RGB else arr), full
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float32)[..., None]
        return (np.repeat(arr, 3, axis=2) if color is Color.RGB else arr), 1.0
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent pixels: composite onto white, as a browser shows them, instead of exposing
        # whatever colour the encoder left under alpha 0.
        rgba = img.convert("RGBA")
        bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(bg, rgba)
    # "L" uses ITU-R 601-2 luma; CMYK, YCbCr, palette and 1-bit images convert with pillow's matrices.
    img = img.convert("RGB" if color is Color.RGB else "L")
    arr = np.asarray(img, dtype=np.float32)
    return (arr if arr.ndim == 3 else arr[..., None]), 255.0


def _resize(arr: np.ndarray, size: tuple[int, int], spec: PreprocessSpec) -> np.ndarray:
    """Resize (and centre-crop) each channel as a float image: bilinear, like torchvision's default."""
    from PIL import Image

    h0, w0 = arr.shape[:2]
    th, tw = size
    if spec.resize_shorter:
        ratio = spec.resize_shorter / min(h0, w0)
        nh, nw = max(1, round(h0 * ratio)), max(1, round(w0 * ratio))
        if not spec.center_crop:
            nh, nw = th, tw
    else:
        nh, nw = th, tw
    chans = [np.asarray(Image.fromarray(np.ascontiguousarray(arr[..., c]), mode="F")
                        .resize((nw, nh), Image.Resampling.BILINEAR)) for c in range(arr.shape[2])]
    out = np.stack(chans, axis=2)
    if (nh, nw) != (th, tw):
        if nh < th or nw < tw:  # crop larger than the resized image: pad with zeros around it
            pad = ((max(0, (th - nh + 1) // 2), max(0, th - nh - (th - nh + 1) // 2)),
                   (max(0, (tw - nw + 1) // 2), max(0, tw - nw - (tw - nw + 1) // 2)), (0, 0))
            out = np.pad(out, pad)
            nh, nw = out.shape[:2]
        top, left = (nh - th) // 2, (nw - tw) // 2
        out = out[top:top + th, left:left + tw]
    return out


def preprocess_image(source, spec: PreprocessSpec, batch: bool = True) -> np.ndarray:
    """A file path or pillow image -> the model input array (with a batch dim of 1 unless ``batch=False``)."""
    shape = spec.input_shape()  # raises the clear "no size" error
    # the float image at the declared size, checked before anything is decoded or allocated
    check_bytes(shape, 4, "a preprocessing size", "give a smaller size (--resize, the bundle's spec)")
    img = open_image(source, need=max(*spec.size, spec.resize_shorter or 0))
    arr, full = _to_float_channels(img, spec.color)
    arr = _resize(arr, spec.size, spec)
    if spec.scale:
        arr = arr / np.float32(full)
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    arr = (arr - mean) / std
    if spec.layout is Layout.NCHW:
        arr = arr.transpose(2, 0, 1)
    dtype = np.dtype(spec.dtype)
    if dtype.kind in "iu":
        lim = np.iinfo(dtype)
        arr = np.clip(np.round(arr), lim.min, lim.max)
    arr = np.ascontiguousarray(arr.astype(dtype))
    return arr[None] if batch else arr
