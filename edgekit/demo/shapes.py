"""The demo's dataset: 10 classes of procedurally drawn shapes, seeded, made with pillow.

Every shape is drawn at ``SUPERSAMPLE`` times the image size and box-filtered down (cheap
anti-aliasing); the image gets a random background (flat or a two-colour gradient), a few distractor
strokes and Gaussian pixel noise. Foreground colour, rotation, scale and position are random.
The same (config, seed) writes byte-identical PNGs: each image has its own RNG derived from
(seed, split, index), so the images do not depend on the order they are drawn in.

Written as an image folder ``root/{train,val,test}/<class>/<index>.png`` (what ``edgekit.data``
reads), plus ``root/labels.txt`` and ``root/dataset.json`` (the config, so a re-run with the same
config reuses the folder).

All ten shapes are mirror-symmetric, so a horizontal flip never changes the class:
``FLIP_SENSITIVE`` is empty and flip augmentation is safe on this data. A dataset of letters or
arrows pointing left/right would list those classes there and train with flips off.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .._io import atomic_dir, write_text
from ..errors import InputError

# Alphabetical: an image folder's class index is its position among the sorted subfolder names
# (the torchvision ImageFolder convention edgekit.data follows), so label i is CLASSES[i] everywhere.
CLASSES = ("arrow", "circle", "crescent", "cross", "heart", "hexagon", "ring", "square", "star", "triangle")
# Classes a horizontal flip would turn into another class (or into no class). None of the shapes
# above is chiral, so none; kept as data so training code reads it instead of assuming.
FLIP_SENSITIVE: tuple[str, ...] = ()
SPLITS = ("train", "val", "test")
SUPERSAMPLE = 4
FORMAT_VERSION = 2  # bump when drawing changes, so cached folders are regenerated


@dataclass(frozen=True)
class ShapesConfig:
    """What to draw: image size, images per class per split, and how hard the images are."""

    size: int = 32
    train_per_class: int = 300
    val_per_class: int = 50
    test_per_class: int = 100
    seed: int = 0
    noise: float = 10.0  # std of Gaussian pixel noise, in 0..255 units
    distractors: int = 2  # max random strokes per image
    min_scale: float = 0.45  # shape radius as a fraction of half the image side
    max_scale: float = 0.9
    min_contrast: float = 70.0  # min luminance difference between foreground and background (0..255)

    def per_class(self, split: str) -> int:
        return {"train": self.train_per_class, "val": self.val_per_class, "test": self.test_per_class}[split]

    def check(self) -> "ShapesConfig":
        if self.size < 8:
            raise InputError("image size must be >= 8 pixels", f"got {self.size}", "pass a size of 16 or more")
        for split in SPLITS:
            if self.per_class(split) < 1:
                raise InputError(f"{split} images per class must be >= 1", f"got {self.per_class(split)}",
                                 "give every split at least one image per class")
        if not 0 < self.min_scale <= self.max_scale <= 1:
            raise InputError("scales must satisfy 0 < min_scale <= max_scale <= 1",
                             f"got {self.min_scale}..{self.max_scale}", "pick scales inside (0, 1]")
        return self


def _star(n_points: int, inner: float) -> list[tuple[float, float]]:
    pts = []
    for i in range(2 * n_points):
        r = 1.0 if i % 2 == 0 else inner
        a = math.pi * i / n_points - math.pi / 2
        pts.append((r * math.cos(a), r * math.sin(a)))
    return pts


def _regular(n: int) -> list[tuple[float, float]]:
    return [(math.cos(2 * math.pi * i / n - math.pi / 2), math.sin(2 * math.pi * i / n - math.pi / 2))
            for i in range(n)]


def _heart() -> list[tuple[float, float]]:
    pts = []
    for i in range(40):
        t = 2 * math.pi * i / 40
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((x / 17.0, -y / 17.0))
    return pts


# Unit outlines (radius ~1, centred at 0) for the polygon classes.
_POLYGONS = {
    "square": [(-0.75, -0.75), (0.75, -0.75), (0.75, 0.75), (-0.75, 0.75)],
    "triangle": _regular(3),
    "star": _star(5, 0.42),
    "cross": [(-0.3, -1), (0.3, -1), (0.3, -0.3), (1, -0.3), (1, 0.3), (0.3, 0.3), (0.3, 1), (-0.3, 1),
              (-0.3, 0.3), (-1, 0.3), (-1, -0.3), (-0.3, -0.3)],
    "hexagon": _regular(6),
    "arrow": [(0, -1), (0.75, -0.15), (0.3, -0.15), (0.3, 1), (-0.3, 1), (-0.3, -0.15), (-0.75, -0.15)],
    "heart": _heart(),
}


def _transform(pts, angle: float, radius: float, cx: float, cy: float):
    c, s = math.cos(angle), math.sin(angle)
    return [(cx + radius * (x * c - y * s), cy + radius * (x * s + y * c)) for x, y in pts]


_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma weights


def _colours(rng: np.random.Generator, min_contrast: float):
    """Random foreground and background colours whose luma differs by at least ``min_contrast``.

    Luma, not RGB distance: a red shape on a green ground of equal brightness is far apart in RGB
    but nearly invisible in any one channel, and small networks then take many epochs to start learning.
    """
    bg = rng.uniform(0, 255, 3)
    for _ in range(100):  # rejection sampling; P(accept) is about 0.3 for 70
        fg = rng.uniform(0, 255, 3)
        if abs(float(_LUMA @ (fg - bg))) >= min_contrast:
            break
    return tuple(int(v) for v in fg), bg


def _background(rng: np.random.Generator, bg: np.ndarray, side: int) -> np.ndarray:
    """A flat colour or a linear gradient towards a nearby colour, as an HxWx3 float array."""
    img = np.broadcast_to(bg, (side, side, 3)).astype(np.float32)
    if rng.random() < 0.5:
        other = np.clip(bg + rng.normal(0, 40, 3), 0, 255)
        a = rng.uniform(0, 2 * math.pi)
        yy, xx = np.mgrid[0:side, 0:side] / max(side - 1, 1)
        t = (math.cos(a) * (xx - 0.5) + math.sin(a) * (yy - 0.5) + 0.71) / 1.42
        img = img + t[..., None] * (other - bg)
    return img


def _coverage(mask) -> np.ndarray:
    """Supersampled 0/255 mask -> per-pixel coverage in [0, 1] at the output size (box filter)."""
    a = np.asarray(mask, np.float32) / 255.0
    n = a.shape[0] // SUPERSAMPLE
    return a.reshape(n, SUPERSAMPLE, n, SUPERSAMPLE).mean(axis=(1, 3))[..., None]


def draw(label: int, rng: np.random.Generator, cfg: ShapesConfig):
    """Draw one image of class ``CLASSES[label]``; returns a PIL RGB image of ``cfg.size``."""
    from PIL import Image, ImageDraw

    big = cfg.size * SUPERSAMPLE
    fg, bg = _colours(rng, cfg.min_contrast)
    base = _background(rng, bg, cfg.size)  # smooth, so drawn directly at the output size
    mask = Image.new("L", (big, big), 0)
    radius = rng.uniform(cfg.min_scale, cfg.max_scale) * big / 2
    # Keep the shape mostly inside: the centre may move by what the scale leaves free (+ a little).
    free = max(big / 2 - radius, 0) + 0.1 * radius
    cx, cy = big / 2 + rng.uniform(-free, free), big / 2 + rng.uniform(-free, free)
    angle = rng.uniform(0, 2 * math.pi)
    _shape(ImageDraw.Draw(mask), CLASSES[label], angle, radius, cx, cy)
    stroke = Image.new("L", (big, big), 0)
    ds = ImageDraw.Draw(stroke)
    for _ in range(int(rng.integers(0, cfg.distractors + 1))):
        x0, y0, x1, y1 = rng.uniform(0, big, 4)
        ds.line([(x0, y0), (x1, y1)], fill=255, width=max(1, int(big * rng.uniform(0.02, 0.05))))
    # Compositing with box-filtered coverage equals drawing big and downsampling (it is linear).
    m, sm = _coverage(mask), _coverage(stroke)
    img = base * (1 - sm) + rng.uniform(0, 255, 3) * sm
    img = img * (1 - m) + np.asarray(fg, np.float32) * m
    img = img + rng.normal(0, cfg.noise, (cfg.size, cfg.size, 3))
    return Image.fromarray(np.clip(np.rint(img), 0, 255).astype(np.uint8))


def _shape(d, name: str, angle: float, r: float, cx: float, cy: float) -> None:
    if name == "circle":
        d.ellipse([cx - r * 0.85, cy - r * 0.85, cx + r * 0.85, cy + r * 0.85], fill=255)
    elif name == "ring":
        d.ellipse([cx - r * 0.9, cy - r * 0.9, cx + r * 0.9, cy + r * 0.9], fill=255)
        d.ellipse([cx - r * 0.5, cy - r * 0.5, cx + r * 0.5, cy + r * 0.5], fill=0)
    elif name == "crescent":
        d.ellipse([cx - r * 0.9, cy - r * 0.9, cx + r * 0.9, cy + r * 0.9], fill=255)
        ox, oy = cx + 0.45 * r * math.cos(angle), cy + 0.45 * r * math.sin(angle)
        d.ellipse([ox - r * 0.75, oy - r * 0.75, ox + r * 0.75, oy + r * 0.75], fill=0)
    else:
        d.polygon(_transform(_POLYGONS[name], angle, r, cx, cy), fill=255)


def _image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    return np.random.default_rng([seed, SPLITS.index(split), index])


def _manifest(cfg: ShapesConfig) -> dict:
    return {"format_version": FORMAT_VERSION, "generator": "edgekit.demo.shapes", "classes": list(CLASSES),
            "flip_sensitive": list(FLIP_SENSITIVE), "config": asdict(cfg)}


def is_current(root: str | Path, cfg: ShapesConfig) -> bool:
    """True when ``root`` already holds this exact dataset (same config and drawing version)."""
    path = Path(root) / "dataset.json"
    try:
        return json.loads(path.read_text()) == _manifest(cfg)
    except (OSError, ValueError):
        return False


def generate(root: str | Path, cfg: ShapesConfig = ShapesConfig(), *, progress: bool = True) -> Path:
    """Write the dataset under ``root`` (atomically: all of it or nothing) and return ``root``.

    A folder that already holds the same config is reused as is.
    """
    cfg = cfg.check()
    root = Path(root)
    if is_current(root, cfg):
        return root
    jobs = [(split, label, i) for split in SPLITS for label in range(len(CLASSES))
            for i in range(cfg.per_class(split))]
    from ..ui import progress as bar

    with atomic_dir(root) as tmp:
        for split, label, i in (bar(jobs, desc="drawing shapes", unit="img") if progress else jobs):
            folder = tmp / split / CLASSES[label]
            folder.mkdir(parents=True, exist_ok=True)
            # index = class-major position, so every image has its own independent RNG stream
            img = draw(label, _image_rng(cfg.seed, split, label * 1_000_000 + i), cfg)
            img.save(folder / f"{i:05d}.png", optimize=False)
        write_text(tmp / "labels.txt", "\n".join(CLASSES) + "\n")
        write_text(tmp / "dataset.json", json.dumps(_manifest(cfg), indent=2) + "\n")
    return root


def load_arrays(root: str | Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """A split as (uint8 NHWC images, int64 labels), for scripts that want the raw pixels."""
    from PIL import Image

    folder = Path(root) / split
    xs, ys = [], []
    for label, name in enumerate(CLASSES):
        for p in sorted((folder / name).glob("*.png")):
            xs.append(np.asarray(Image.open(p).convert("RGB")))
            ys.append(label)
    if not xs:
        raise InputError(f"no images under {folder}", "the split is empty or missing",
                         "generate the dataset with edgekit.demo.shapes.generate")
    return np.stack(xs), np.asarray(ys, np.int64)
