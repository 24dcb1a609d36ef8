"""``edgekit.load``: the small runtime wrapper apps embed.

Imports only numpy and, when a model is loaded, one backend (onnxruntime or a TFLite interpreter).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from ..errors import EdgekitWarning, InputError, ModelError
from .device import TensorInfo, check_threads, open_backend

__all__ = ["load", "Model", "TensorInfo"]


def load(path, threads: int | None = None, target=None, trusted_keys=None, *, check: bool = True) -> "Model":
    """Open a ``.onnx`` or ``.tflite`` file (or a bundle directory) for inference.

    ``threads`` defaults to the target's default threads when a target is given, else the backend's.
    ``trusted_keys``: Ed25519 public keys (KEY.pub paths, PEM or raw bytes); a bundle must be signed by
    one of them (docs/bundle.md, "Signing").
    ``check`` (default) validates the file first and loads and runs it once in a child process, so a
    malformed file is a ModelError and a runtime abort on it cannot take this process down; the verdict
    is cached by the file's hash (edgekit/validate.py, docs/validation.md).
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"model {p} not found", "no such file or directory", "check the path")
    threads = check_threads(threads)
    if threads is None and target is not None:
        from ..targets import get_target

        threads = get_target(target).threads
    if p.is_dir():
        try:
            from .bundle import load_bundle
        except ModuleNotFoundError as exc:  # bundles arrive with their own issue
            if exc.name != f"{__name__}.bundle":
                raise
            raise ModelError(f"{p} is a directory", "this edgekit cannot load bundle directories yet",
                             "give a .onnx or .tflite file") from None
        from ..validate import bundle_errors

        with bundle_errors(p):
            return load_bundle(p, threads=threads, target=target, trusted_keys=trusted_keys)
    if trusted_keys is not None:
        raise InputError(f"{p.name} is a bare model file", "trusted keys check a signed bundle's signature",
                         "load the bundle directory, or drop trusted_keys")
    fmt = None
    if check:
        from ..validate import check_file

        fmt = check_file(p)
    backend, fmt = open_backend(str(p), threads, fmt)
    lm = any(o.name == "logits" and len(o.shape) == 3 for o in backend.outputs)
    for info in backend.inputs:  # the rule for dynamic dims: run with 1, and say so
        if info.dynamic and not lm:  # an LM's sequence and cache lengths vary by design (generate, eval)
            warnings.warn(_dynamic_note(info, p.name), EdgekitWarning, stacklevel=2)
    return Model(p, backend, fmt, threads)


class Model:
    """A loaded model: ``inputs``/``outputs`` describe the tensors, ``run`` infers."""

    # Set by edgekit.runtime.bundle.load_bundle: labels and preprocessing for ``predict``. A class
    # attribute, so plain models pay nothing and ``run`` is untouched.
    bundle = None

    def __init__(self, path: Path, backend, fmt: str, threads: int | None = None):
        self.path, self.format, self.threads = path, fmt, threads
        self._backend = backend
        self.inputs: tuple[TensorInfo, ...] = tuple(backend.inputs)
        self.outputs: tuple[TensorInfo, ...] = tuple(backend.outputs)
        self._by_name = {i.name: i for i in self.inputs}
        self._out_names = [o.name for o in self.outputs]

    @property
    def runtime(self) -> dict:
        return {"name": self._backend.name, "version": self._backend.version}

    def __repr__(self) -> str:
        return f"<edgekit.Model {self.path.name} ({self.format}, {self._backend.name}) inputs={list(self.inputs)}>"

    def run(self, x, raw: bool = False) -> dict:
        """Infer on ``x`` (an array for single-input models, or a dict name -> array).

        Float arrays given to int8/uint8-quantized inputs are quantized with the tensor's own scale and
        zero point; quantized outputs come back dequantized to float32 unless ``raw``.
        """
        if isinstance(x, dict):
            feeds = {name: self._prepare(self._input(name), value) for name, value in x.items()}
            if len(feeds) != len(self.inputs):
                missing = [i.name for i in self.inputs if i.name not in feeds]
                raise InputError(f"missing model input(s) {missing}", f"the model takes {self._names()}",
                                 "pass a dict with every input name")
        else:
            if len(self.inputs) != 1:
                raise InputError(f"this model has {len(self.inputs)} inputs", "a single array is ambiguous",
                                 f"pass a dict name -> array for {self._names()}")
            feeds = {self.inputs[0].name: self._prepare(self.inputs[0], x)}
        outs = self._backend.run(feeds)
        if raw:
            return dict(zip(self._out_names, outs))
        return {o.name: _dequantize(o, v) for o, v in zip(self.outputs, outs)}

    __call__ = run

    def predict(self, image, top_k: int = 5) -> list:
        """Classify one image (a path or a PIL image) with a bundle's preprocessing and labels; for a text
        model's bundle (it carries tokenizer.json) ``image`` is the text to classify.

        Returns up to ``top_k`` (label, score) pairs, best first; scores are probabilities (softmax is
        applied when the model outputs logits). Needs a model loaded from a bundle directory.
        """
        if self.bundle is None:
            raise InputError(f"{self.path.name} is a bare model file", "predict needs the labels and "
                             "preprocessing of a bundle", f"run `edgekit bundle {self.path.name} --target T -o DIR` and "
                             "edgekit.load(DIR), or call run(x) with an array")
        return self.bundle.predict(self, image, top_k)

    def generate(self, prompt_ids, max_new_tokens: int, **options):
        """Generate token ids after ``prompt_ids`` with the LM's KV cache (edgekit.runtime.generate).

        Options: ``temperature`` (0 = greedy), ``top_k``, ``seed``, ``eos_id``, ``uncached``. Returns a
        ``Generation`` (``.tokens`` are the new ids, ``.ids`` the prompt and them).
        """
        from .generate import generate

        return generate(self, prompt_ids, max_new_tokens, **options)

    def _names(self) -> str:
        return ", ".join(f"{i.name} {list(i.shape)} {i.dtype.name}" for i in self.inputs)

    def _input(self, name: str) -> TensorInfo:
        try:
            return self._by_name[name]
        except KeyError:
            raise InputError(f"unknown input name {name!r}", f"the model takes {self._names()}",
                             "use one of those names") from None

    def _prepare(self, info: TensorInfo, value) -> np.ndarray:
        arr = np.asarray(value)
        if arr.shape != info.shape and not _fits_open(arr.shape, info):
            hint = " (add a batch dimension: x[None])" if arr.shape == info.shape[1:] else ""
            raise InputError(f"input {info.name!r} has shape {list(arr.shape)}",
                             f"the model expects {list(info.shape)}", f"reshape or resize the input{hint}")
        if arr.dtype == info.dtype:
            return arr
        kind, want = arr.dtype.kind, info.dtype.kind
        if info.quantized and kind == "f":
            return _quantize(info, arr)
        if (kind == want == "f") or (kind in "iu" and want in "iu" and _fits(arr, info.dtype)):
            return arr.astype(info.dtype)
        raise InputError(f"input {info.name!r} has dtype {arr.dtype.name}", f"the model expects {info.dtype.name}",
                         f"pass x.astype(np.{info.dtype.name})")


def _dynamic_note(info: TensorInfo, file: str) -> str:
    if info.dynamic == (0,):
        return f"input {info.name!r} of {file} has a dynamic dimension (the batch); edgekit runs it with " \
               f"shape {list(info.shape)}"
    return (f"input {info.name!r} of {file} has a dynamic dimension at axes {list(info.dynamic)}; run() takes any "
            f"size there, measurements without data use shape {list(info.shape)}")


def _fits_open(shape: tuple, info: TensorInfo) -> bool:
    """Same rank, and equal to the model's shape except at open dims past the batch (any size >= 1 there).

    The batch stays 1 even when open: a device runs one sample at a time (issue 2's rule)."""
    return bool(info.dynamic) and len(shape) == len(info.shape) and all(
        n == want or (0 < i and i in info.dynamic and n >= 1) for i, (n, want) in enumerate(zip(shape, info.shape)))


def _fits(arr: np.ndarray, dtype: np.dtype) -> bool:
    lim = np.iinfo(dtype)
    return arr.size == 0 or (arr.min() >= lim.min and arr.max() <= lim.max)


def _quantize(info: TensorInfo, x: np.ndarray) -> np.ndarray:
    # TFLite affine quantization: real = scale * (q - zero_point)  (tensorflow/lite/schema/schema.fbs)
    lim = np.iinfo(info.dtype)
    q = np.round(x / info.scale) + info.zero_point
    return np.clip(q, lim.min, lim.max).astype(info.dtype)


def _dequantize(info: TensorInfo, v: np.ndarray) -> np.ndarray:
    if not info.quantized:
        return v
    return ((v.astype(np.float32) - info.zero_point) * np.float32(info.scale)).astype(np.float32)
