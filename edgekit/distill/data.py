"""Training data for distillation: an image folder loaded once into memory, hashed, and augmented views.

Distillation data is small (it is the data the student is trained on, not a stream), so the whole
split is preprocessed once with the model's PreprocessSpec into one float array. Augmented "views"
are deterministic functions of (seed, view index, image index): the teacher's logits for every view
are computed once and cached, and the student trains on exactly the pixels the teacher saw.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DataError, InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff"}


@dataclass(frozen=True)
class Augment:
    """Light augmentation: random shifts of up to ``shift`` pixels and, if ``flip``, horizontal flips.

    ``views`` augmented copies of the data are drawn (view 0 is always the plain image) and the
    teacher's logits are cached per view; each epoch every image is shown in one of the views.
    Turn ``flip`` off for data where a mirror image is another class (letters, left/right arrows).
    """

    views: int = 4
    shift: int = 2
    flip: bool = True

    def check(self) -> "Augment":
        if self.views < 1 or self.shift < 0:
            raise InputError("invalid augmentation", f"views={self.views}, shift={self.shift}",
                             "use views >= 1 and shift >= 0")
        return self

    @property
    def enabled(self) -> bool:
        return self.views > 1 and (self.shift > 0 or self.flip)


@dataclass(frozen=True)
class Split:
    """One preprocessed split: images (N, C, H, W) float32, labels (N,) int64 or None, and a content hash."""

    x: np.ndarray
    y: np.ndarray | None
    classes: tuple[str, ...]
    digest: str
    root: Path

    @property
    def labeled(self) -> bool:
        return self.y is not None

    def __len__(self) -> int:
        return len(self.x)


def list_images(folder: Path) -> tuple[list[Path], list[int] | None, tuple[str, ...]]:
    """Class subfolders (sorted names = label order) or, when there are none, a flat unlabeled folder."""
    if not folder.is_dir():
        raise InputError(f"data folder {folder} not found", "no such directory", "check the path")
    subdirs = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if subdirs:
        files, labels = [], []
        for label, sub in enumerate(subdirs):
            imgs = sorted(p for p in sub.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            files += imgs
            labels += [label] * len(imgs)
        classes = tuple(p.name for p in subdirs)
        if len(classes) < 2:
            raise DataError(f"data folder {folder} has one class ({classes[0]})",
                            "classification needs at least two class subfolders",
                            "add a subfolder per class, or put the images directly in the folder "
                            "to distill without labels")
        empty = [c for c, n in zip(classes, np.bincount(labels, minlength=len(classes))) if n == 0]
        if empty:
            raise DataError(f"class folder {folder / empty[0]} has no images", f"image suffixes: "
                            f"{', '.join(sorted(IMAGE_SUFFIXES))}", "add images or remove the folder")
        return files, labels, classes
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"data folder {folder} has no images", "expected class subfolders or image files",
                        "point --data at an image folder")
    return files, None, ()


def load_split(folder, spec) -> Split:
    """Preprocess every image of ``folder`` with ``spec`` into memory and hash the raw files."""
    from ..data.image import preprocess_image
    from ..data.spec import Layout
    from ..ui import progress

    if spec.layout is not Layout.NCHW:
        raise InputError("distillation needs an NCHW model input", f"the spec says {spec.layout.value}",
                         "export the teacher with a 1xCxHxW input or pass --layout nchw")
    folder = Path(folder)
    files, labels, classes = list_images(folder)
    h = hashlib.sha256()
    xs = []
    for p in progress(files, desc=f"loading {folder.name}", unit="img"):
        h.update(str(p.relative_to(folder)).encode() + b"\0" + p.read_bytes())
        xs.append(preprocess_image(p, spec, batch=False).astype(np.float32))
    if labels is not None:
        h.update(repr(classes).encode())
    y = None if labels is None else np.asarray(labels, np.int64)
    return Split(np.stack(xs), y, classes, h.hexdigest(), folder)


def view(x: np.ndarray, aug: Augment, seed: int, index: int) -> np.ndarray:
    """Augmented view ``index`` of the images ``x`` (N, C, H, W): per image a shift and maybe a flip.

    Shifts pad with the edge pixel (no black borders the teacher never saw). View 0 is ``x`` itself.
    """
    if index == 0 or not aug.enabled:
        return x
    rng = np.random.default_rng([seed, index])
    n, _, hgt, wid = x.shape
    s = aug.shift
    dx, dy = rng.integers(-s, s + 1, n), rng.integers(-s, s + 1, n)
    flips = rng.random(n) < 0.5 if aug.flip else np.zeros(n, bool)
    padded = np.pad(x, ((0, 0), (0, 0), (s, s), (s, s)), mode="edge")
    out = np.empty_like(x)
    for i in range(n):
        img = padded[i, :, s + dy[i]:s + dy[i] + hgt, s + dx[i]:s + dx[i] + wid]
        out[i] = img[:, :, ::-1] if flips[i] else img
    return out
