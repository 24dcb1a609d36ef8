"""Decode one image with pillow and turn it into a model input, following a PreprocessSpec."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DataError
from .spec import Color, Layout, PreprocessSpec

# Pillow modes holding more than 8 bits per sample (16-bit PNG opens as I;16*, sometimes widened to I).
_WIDE_MODES = {"I;16", "I;16B", "I;16L", "I;16N", "I"}


def open_image(source):
    """A decoded, EXIF-upright pillow image; DataError if it is not a readable image."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(source, Image.Image):
        img = source
    else:
        img = None
        try:
            img = Image.open(source)
            img.load()  # decode now: a truncated file fails here, not halfway through a batch
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
            if img is not None:  # opened but failed to decode: pillow keeps the file handle open otherwise
                img.close()
            raise DataError(f"cannot decode image {Path(str(source)).name}", str(exc).splitlines()[0] if str(exc) else
                            type(exc).__name__, "remove or replace the file") from exc
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # a malformed EXIF block must not lose an otherwise good image
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
    img = open_image(source)
    arr, full = _to_float_channels(img, spec.color)
    if spec.size is None:
        spec.input_shape()  # raises the clear "no size" error
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
