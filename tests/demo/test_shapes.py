"""The demo dataset: seeded, byte-identical on re-runs, an image folder edgekit.data reads."""
from __future__ import annotations

import json

import numpy as np
import pytest

from edgekit.demo.shapes import CLASSES, FLIP_SENSITIVE, ShapesConfig, generate, is_current, load_arrays
from edgekit.errors import InputError

SMALL = ShapesConfig(size=16, train_per_class=3, val_per_class=2, test_per_class=2, seed=5)


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    a, b = generate(tmp_path / "a", SMALL, progress=False), generate(tmp_path / "b", SMALL, progress=False)
    assert _files(a) == _files(b)
    c = generate(tmp_path / "c", ShapesConfig(**{**SMALL.__dict__, "seed": 6}), progress=False)
    xa, _ = load_arrays(a, "train")
    xc, _ = load_arrays(c, "train")
    assert not np.array_equal(xa, xc)


def test_layout_labels_and_manifest(tmp_path):
    root = generate(tmp_path / "d", SMALL, progress=False)
    for split, n in (("train", 3), ("val", 2), ("test", 2)):
        assert sorted(p.name for p in (root / split).iterdir()) == list(CLASSES)  # sorted = label order
        x, y = load_arrays(root, split)
        assert x.shape == (10 * n, 16, 16, 3) and x.dtype == np.uint8
        assert np.bincount(y).tolist() == [n] * 10
    assert (root / "labels.txt").read_text().split() == list(CLASSES)
    manifest = json.loads((root / "dataset.json").read_text())
    assert manifest["flip_sensitive"] == list(FLIP_SENSITIVE) and manifest["config"]["seed"] == 5


def test_images_vary_and_are_not_blank(tmp_path):
    x, y = load_arrays(generate(tmp_path / "v", SMALL, progress=False), "train")
    assert len({im.tobytes() for im in x}) == len(x)
    assert all(im.std() > 5 for im in x)  # a shape, a background and noise: never a flat image


def test_a_prefix_of_a_bigger_split_is_the_same_images(tmp_path):
    # each image has its own RNG stream, so the shipped models' test images are the first N of any run
    small = generate(tmp_path / "s", SMALL, progress=False)
    big = generate(tmp_path / "b", ShapesConfig(**{**SMALL.__dict__, "test_per_class": 4}), progress=False)
    for cls in CLASSES:
        for i in range(2):
            name = f"test/{cls}/{i:05d}.png"
            assert (small / name).read_bytes() == (big / name).read_bytes()


def test_current_folder_is_reused_and_changed_config_regenerates(tmp_path):
    root = generate(tmp_path / "r", SMALL, progress=False)
    stamp = (root / "train" / "circle" / "00000.png").stat().st_mtime_ns
    generate(root, SMALL, progress=False)
    assert (root / "train" / "circle" / "00000.png").stat().st_mtime_ns == stamp
    other = ShapesConfig(**{**SMALL.__dict__, "train_per_class": 4})
    assert not is_current(root, other)
    generate(root, other, progress=False)
    assert len(list((root / "train" / "circle").iterdir())) == 4 and is_current(root, other)


@pytest.mark.parametrize("kw", [{"size": 4}, {"train_per_class": 0}, {"min_scale": 0.9, "max_scale": 0.5}])
def test_bad_config(tmp_path, kw):
    with pytest.raises(InputError):
        generate(tmp_path / "x", ShapesConfig(**{**SMALL.__dict__, **kw}), progress=False)
    assert not (tmp_path / "x").exists()
