"""Data sources: image folders, .npy/.npz arrays, Python iterables — streamed, checked, re-iterable.

A Dataset yields ``(feeds, label)``: ``feeds`` maps every model input name to an array with a batch
dim of 1, ``label`` is an int class index or None. Nothing keeps more than one sample in memory
beyond what the caller holds (.npy files are memory-mapped; folders are read file by file).
"""
from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Iterator, NamedTuple

import numpy as np

from ..errors import DataError, EdgekitWarning, InputError
from .image import preprocess_image
from .spec import PreprocessSpec


class InputSpec(NamedTuple):
    """What one model input expects; dims <= 0 or None are dynamic (any size)."""
    name: str
    shape: tuple | None
    dtype: np.dtype | None


def _input_specs(inputs, spec: PreprocessSpec | None) -> list[InputSpec]:
    """Accept an input name, a list of names, TensorInfo-likes, or a loaded Model (``.inputs``)."""
    inputs = getattr(inputs, "inputs", inputs)
    if isinstance(inputs, str):
        inputs = [inputs]
    out = []
    for item in inputs:
        if isinstance(item, str):
            shape = spec.input_shape() if spec is not None and spec.size else None
            out.append(InputSpec(item, shape, np.dtype(spec.dtype) if spec else None))
        else:
            name, shape, dtype = (item.name, item.shape, item.dtype) if hasattr(item, "name") else tuple(item)
            out.append(InputSpec(name, tuple(shape) if shape is not None else None,
                                 np.dtype(dtype) if dtype is not None else None))
    if not out:
        raise InputError("no model inputs given", "the data source needs input names", "pass model.inputs")
    return out


def _fmt(s: InputSpec) -> str:
    shape = "any shape" if s.shape is None else "[" + ", ".join(str(d) if _fixed(d) else "?" for d in s.shape) + "]"
    return f"{s.name!r} {shape}" + (f" {s.dtype.name}" if s.dtype is not None else "")


def _fixed(d) -> bool:
    return isinstance(d, (int, np.integer)) and d > 0


def check_sample(feeds: dict, specs: list[InputSpec], where: str) -> dict:
    """Validate one sample against the model inputs; add a missing batch dim; cast within a kind."""
    names = [s.name for s in specs]
    extra = [k for k in feeds if k not in names]
    if extra:
        raise DataError(f"{where}: unknown input name {extra[0]!r}",
                        f"the model takes {', '.join(_fmt(s) for s in specs)}", "rename the array")
    out = {}
    for s in specs:
        if s.name not in feeds:
            raise DataError(f"{where}: no data for input {_fmt(s)}", f"got {', '.join(map(repr, feeds)) or 'nothing'}",
                            "provide an array for every model input")
        arr = np.asarray(feeds[s.name])
        if s.shape is not None:
            if arr.ndim == len(s.shape) - 1:
                arr = arr[None]
            if arr.ndim != len(s.shape) or any(_fixed(e) and e != a for e, a in zip(s.shape, arr.shape)):
                raise DataError(f"{where}: input {s.name!r} has shape {list(arr.shape)}",
                                f"the model expects {_fmt(s)}", "reshape or re-export the data")
        out[s.name] = _cast(arr, s, where)
    return out


def _cast(arr: np.ndarray, s: InputSpec, where: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{where}: input {s.name!r} has dtype {arr.dtype}", f"the model expects {_fmt(s)}",
                        "store numeric arrays")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        bad = "NaN" if np.isnan(arr).any() else "Inf"
        raise DataError(f"{where}: input {s.name!r} contains {bad}", "quantization ranges would be meaningless",
                        "clean the data (np.nan_to_num) or drop those samples")
    if s.dtype is None or arr.dtype == s.dtype:
        return arr
    want, got = s.dtype.kind, arr.dtype.kind
    if want == "f" and got == "f":
        return arr.astype(s.dtype)
    if want in "iub" and got in "iub":
        lim = np.iinfo(s.dtype) if want in "iu" else None
        if lim is None or arr.size == 0 or (arr.min() >= lim.min and arr.max() <= lim.max):
            return arr.astype(s.dtype)
    raise DataError(f"{where}: input {s.name!r} has dtype {arr.dtype}", f"the model expects {_fmt(s)}",
                    f"convert it with .astype(np.{s.dtype.name})")


class Dataset:
    """Base: re-iterable stream of ``(feeds, label)``. Subclasses implement ``_items``."""

    classes: list[str] | None = None

    def __init__(self, origin: str, specs: list[InputSpec], strict: bool):
        self.origin, self.specs, self.strict = origin, specs, strict
        self.skipped_files: list[str] = []
        self.count: int | None = None

    @property
    def skipped(self) -> int:
        return len(set(self.skipped_files))

    @property
    def labeled(self) -> bool:
        return self.classes is not None

    def __len__(self) -> int:
        if self.count is None:
            raise TypeError(f"{self.origin} has no known length")
        return self.count

    def __iter__(self) -> Iterator[tuple[dict, int | None]]:
        yielded = 0
        for feeds, label in self._items():
            yielded += 1
            yield feeds, label
        if yielded == 0:
            why = f"all {self.skipped} file(s) failed to decode" if self.skipped else "it holds no samples"
            raise DataError(f"data source {self.origin} yielded nothing", why, "point it at real samples")

    def _items(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def summary(self) -> str:
        n = "?" if self.count is None else self.count
        text = f"{n} samples from {self.origin}"
        if self.classes:
            text += f", {len(self.classes)} classes"
        return text + (f", {self.skipped} skipped (not a readable image)" if self.skipped else "")


def _rr_sample(groups: list[list], n: int | None, seed: int) -> list:
    """Deterministic sample of ``n`` items spread evenly over ``groups`` (round robin over shuffled classes)."""
    if n is None or n >= sum(len(g) for g in groups):
        return [x for g in groups for x in g]
    rng = np.random.default_rng(seed)
    pools = [[g[i] for i in rng.permutation(len(g))] for g in groups]
    out, depth = [], 0
    while len(out) < n:
        for pool in pools:
            if depth < len(pool) and len(out) < n:
                out.append(pool[depth])
        depth += 1
    return out


class FolderDataset(Dataset):
    """Images in a folder: flat = unlabeled; one subfolder per class = labeled (sorted names)."""

    def __init__(self, root: Path, spec, specs, calib_size, seed, strict):
        super().__init__(str(root), specs, strict)
        if spec is None:
            raise DataError(f"{root} is an image folder", f"model input {_fmt(specs[0])} does not look like an image",
                            "give a .npy/.npz file instead, or --preprocess with a size")
        if len(specs) != 1:
            raise DataError(f"{root} is an image folder", f"the model has {len(specs)} inputs",
                            "give a .npz file with one array per input name")
        if spec.size is None:  # fail before any work, not at the first image deep inside calibration
            raise InputError(f"{root} is an image folder but the size of model input {_fmt(specs[0])} is dynamic",
                             "images cannot be resized to an unknown size",
                             'give --preprocess FILE with "size": [H, W] (or "size" in the spec passed in)')
        self.spec = spec
        visible = lambda p: not p.name.startswith(".")  # noqa: E731 - hidden files (.DS_Store) are not data
        dirs = sorted(p for p in root.iterdir() if p.is_dir() and visible(p))
        if dirs:
            self.classes = [d.name for d in dirs]
            groups = [[(f, i) for f in sorted(d.rglob("*")) if f.is_file() and visible(f)] for i, d in enumerate(dirs)]
            loose = [p for p in root.iterdir() if p.is_file() and visible(p)]
            if loose:
                warnings.warn(f"{root}: {len(loose)} file(s) beside the class folders are ignored", EdgekitWarning)
        else:
            groups = [[(f, None) for f in sorted(root.iterdir()) if f.is_file() and visible(f)]]
        if not any(groups):
            raise DataError(f"data folder {root} is empty", "no files found", "point --calib/--data at images")
        self.files = _rr_sample(groups, calib_size, seed)
        self.count = len(self.files)

    def _items(self):
        for path, label in self.files:
            try:
                arr = preprocess_image(path, self.spec)
            except DataError as exc:
                if self.strict:
                    raise DataError(f"{path} is not a readable image", exc.why, "remove it or drop --strict") from exc
                self.skipped_files.append(str(path))
                continue
            yield check_sample({self.specs[0].name: arr}, self.specs, str(path)), label


class ArrayDataset(Dataset):
    """A .npy (one input) or .npz (keys = input names, optional ``labels``) file; axis 0 = samples."""

    def __init__(self, path: Path, specs, calib_size, seed, strict):
        super().__init__(str(path), specs, strict)
        try:
            if path.suffix.lower() == ".npy":
                arrays = {specs[0].name: np.load(path, mmap_mode="r", allow_pickle=False)}
                if len(specs) != 1:
                    raise DataError(f"{path} holds one array", f"the model has inputs {', '.join(map(_fmt, specs))}",
                                    "save a .npz with one array per input name")
            else:
                from .npz import load_npz

                arrays = load_npz(path)
        except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:  # EOFError: an empty or cut .npy
            raise DataError(f"cannot read {path}", str(exc).splitlines()[0], "save it with numpy.save/savez") from exc
        labels = arrays.pop("labels", None)
        if labels is not None:
            from ..limits import check_labels

            labels = check_labels(labels, str(path))
        unknown = [k for k in arrays if k not in {s.name for s in specs}]
        if unknown:
            raise DataError(f"{path}: array {unknown[0]!r} is not a model input",
                            f"the model takes {', '.join(map(_fmt, specs))} (plus optional 'labels')",
                            "name the arrays after the inputs")
        for s in specs:
            if s.name not in arrays:
                raise DataError(f"{path}: no array for input {_fmt(s)}", f"found {', '.join(arrays) or 'nothing'}",
                                "add one array per input name")
        sizes = {k: (len(v) if v.ndim else 0) for k, v in arrays.items()}
        n = min(sizes.values())
        if len(set(sizes.values())) != 1 or (labels is not None and len(labels) != n):
            raise DataError(f"{path}: arrays have different sample counts", str(sizes), "give every array N rows")
        if n == 0:
            raise DataError(f"data file {path} is empty", "it holds no samples", "point --calib/--data at real samples")
        self.arrays, self.labels = arrays, labels
        if labels is not None:
            self.classes = [str(c) for c in range(int(np.max(labels)) + 1)]
            order = np.argsort(labels, kind="stable")  # one pass, not one comparison per class
            groups = [list(g) for g in np.split(order, np.cumsum(np.bincount(labels))[:-1])]
        else:
            groups = [list(range(n))]
        self.index = [int(i) for i in _rr_sample(groups, calib_size, seed)]
        self.count = len(self.index)

    def _items(self):
        for i in self.index:
            feeds = {k: np.asarray(v[i:i + 1]) for k, v in self.arrays.items()}
            label = None if self.labels is None else int(self.labels[i])
            yield check_sample(feeds, self.specs, f"{self.origin} sample {i}"), label


class IterableDataset(Dataset):
    """Any iterable (or zero-argument callable returning one) of dicts name -> array, or (dict, label)."""

    def __init__(self, source, specs, calib_size, strict):
        super().__init__(f"{type(source).__name__} of samples", specs, strict)
        self.source, self.limit = source, calib_size
        self._one_shot = not callable(source) and iter(source) is source
        self._used = False
        try:
            self.count = len(source) if calib_size is None else min(len(source), calib_size)
        except TypeError:
            self.count = None
        if self.count == 0:
            raise DataError(f"the {self.origin} is empty", "it holds no samples", "pass at least one sample")
        labeled = getattr(source, "classes", None)
        self.classes = list(labeled) if labeled is not None else None

    def _items(self):
        if self._one_shot and self._used:
            raise DataError(f"the {self.origin} can be read only once", "it is an iterator",
                            "pass a list, or a callable that returns a fresh iterator")
        self._used = True
        items = self.source() if callable(self.source) else self.source
        for i, item in enumerate(items):
            if self.limit is not None and i >= self.limit:
                break
            feeds, label = item if isinstance(item, tuple) else (item, None)
            if not isinstance(feeds, dict):
                raise DataError(f"sample {i} is a {type(feeds).__name__}", "samples must be dicts name -> array",
                                "yield {input_name: array}")
            yield check_sample(feeds, self.specs, f"sample {i}"), (None if label is None else int(label))


def open_source(src, spec: PreprocessSpec | None, inputs, *, calib_size: int | None = None, seed: int = 0,
                strict: bool = False, tokenizer=None, vocab_rows: int | None = None) -> Dataset:
    """Open a data source for the model inputs ``inputs`` (a name, names, TensorInfos or a Model).

    ``tokenizer`` (a tokenizer.json path or a loaded Tokenizer) reads .txt/.jsonl text; ``vocab_rows``
    is the model's embedding table size, which the tokenizer's vocabulary may not exceed.
    """
    specs = _input_specs(inputs, spec)
    if calib_size is not None and calib_size <= 0:
        raise InputError("calib size must be >= 1", f"got {calib_size}", "pass e.g. --calib-size 100")
    if isinstance(src, Dataset):
        return src
    if isinstance(src, (str, Path)):
        path = Path(src)
        if not path.exists():
            raise DataError(f"data source {path} not found", "no such file or directory", "check the path")
        if path.is_dir():
            return FolderDataset(path, spec, specs, calib_size, seed, strict)
        if path.suffix.lower() in (".npy", ".npz"):
            return ArrayDataset(path, specs, calib_size, seed, strict)
        if path.suffix.lower() in (".txt", ".jsonl"):
            from .text import TextDataset

            return TextDataset(path, specs, tokenizer, calib_size, seed, strict, vocab_rows)
        raise DataError(f"data source {path} is not a folder, .npy, .npz, .txt or .jsonl",
                        f"got a {path.suffix or 'plain'} file", "give an image folder, a numpy file or a text file")
    if isinstance(src, dict):
        raise DataError("a single dict is not a data source", "expected many samples", "pass a list of dicts")
    if hasattr(src, "__iter__") or callable(src):
        return IterableDataset(src, specs, calib_size, strict)
    raise DataError(f"cannot read data from a {type(src).__name__}", "expected a folder, .npy/.npz or iterable",
                    "see docs/quantization.md")
