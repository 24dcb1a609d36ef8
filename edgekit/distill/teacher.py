"""The teacher: an ONNX model run in onnxruntime, or a torch module; its logits cached on disk.

The cache key is (teacher hash, data hash, preprocessing spec, augmentation, seed, view), so the
teacher runs once per dataset and view, never once per epoch, and a changed file or flag misses.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .._io import atomic_path
from ..errors import InputError, ModelError


def default_cache_dir() -> Path:
    """``$EDGEKIT_CACHE/distill``, else ``$XDG_CACHE_HOME/edgekit/distill``, else ``~/.cache/edgekit/distill``."""
    if os.environ.get("EDGEKIT_CACHE"):
        return Path(os.environ["EDGEKIT_CACHE"]) / "distill"
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "edgekit" / "distill"


class Teacher:
    """What distillation needs from a teacher: input shape, class count, a hash, and batched logits."""

    def __init__(self, source, spec=None):
        self.source = source
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            if not path.is_file():
                raise InputError(f"teacher {path} not found", "no such file", "check the --teacher path")
            if path.suffix.lower() == ".onnx":
                self._init_onnx(path)
            elif path.suffix.lower() in (".pt", ".pth"):
                self._init_torch(_load_torch(path), spec, hashlib.sha256(path.read_bytes()).hexdigest())
            else:
                raise InputError(f"teacher {path.name} is neither .onnx nor .pt", f"suffix {path.suffix!r}",
                                 "export the teacher to ONNX or save it with torch.save(model, 'teacher.pt')")
        else:
            self._init_torch(source, spec, None)

    # -- ONNX -------------------------------------------------------------------------------------
    def _init_onnx(self, path: Path) -> None:
        import onnxruntime as ort

        data = path.read_bytes()
        self.digest = hashlib.sha256(data).hexdigest()
        from ..runtime.device import session_options

        opts = session_options(ort, min(2, os.cpu_count() or 1))
        try:
            self._session = ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"cannot load teacher {path.name} in onnxruntime", str(exc).splitlines()[0],
                             "check that it is a valid ONNX model") from exc
        inp, out = self._session.get_inputs()[0], self._session.get_outputs()[0]
        self.input_name, self.output_name = inp.name, out.name
        self.input_shape = tuple(d if isinstance(d, int) and d > 0 else None for d in inp.shape)
        self._batch = 256 if self.input_shape[0] is None else self.input_shape[0]
        self.path = path
        self.num_classes = None
        self.params = _onnx_params(path)
        self.kind = "onnx"

    # -- torch ------------------------------------------------------------------------------------
    def _init_torch(self, module, spec, digest) -> None:
        import torch

        if not isinstance(module, torch.nn.Module):
            raise InputError("the teacher must be an .onnx path, a .pt path or a torch.nn.Module",
                             f"got {type(module).__name__}", "pass one of those")
        module.eval()
        self._module = module
        shape = getattr(module, "zoo_input_shape", None)
        if shape is None:
            if spec is None or spec.size is None:
                raise InputError("cannot tell the torch teacher's input size", "it is not a zoo model",
                                 "pass a preprocessing spec with a size (e.g. --preprocess spec.json)")
            shape = (1, spec.channels, *spec.size)
        self.input_shape = tuple(shape)
        self.input_name = "input"
        self._batch = 256
        self.digest = digest or _state_digest(module)
        self.path = None
        self.num_classes = None
        self.params = sum(int(p.numel()) for p in module.parameters())
        self.kind = "torch"

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Teacher logits (N, K) float32 for preprocessed images x (N, C, H, W)."""
        out = []
        for i in range(0, len(x), self._batch):
            chunk = np.ascontiguousarray(x[i:i + self._batch], dtype=np.float32)
            if self.kind == "onnx":
                res = self._session.run([self.output_name], {self.input_name: chunk})[0]
            else:
                import torch

                with torch.no_grad():
                    res = self._module(torch.from_numpy(chunk)).numpy()
            out.append(np.asarray(res, np.float32).reshape(len(chunk), -1))
        return np.concatenate(out)

    def count_classes(self, sample: np.ndarray) -> int:
        """Classes = the teacher's output width: from the ONNX output shape when static, else one run."""
        if self.num_classes is None:
            if self.kind == "onnx":
                dims = self._session.get_outputs()[0].shape
                if dims and isinstance(dims[-1], int) and dims[-1] > 0:
                    self.num_classes = int(dims[-1])
                    return self.num_classes
            self.num_classes = int(self.logits(sample[:1]).shape[1])
        return self.num_classes


def _load_torch(path: Path):
    """A pickled module (``torch.save(model, path)``; the user's own file, so trusted) or TorchScript."""
    import warnings

    import torch

    try:
        module = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as first:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # torch 2.9+: jit.load is deprecated
                return torch.jit.load(str(path), map_location="cpu")
        except Exception:
            raise ModelError(f"cannot load teacher {path.name}", str(first).splitlines()[0],
                             "save the whole module with torch.save(model, path) or use ONNX") from first
    if isinstance(module, dict):
        raise ModelError(f"teacher {path.name} holds a state_dict, not a model", "the architecture is unknown",
                         "save the module itself (torch.save(model, path)) or export it to ONNX")
    return module


def _state_digest(module) -> str:
    import torch

    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in module.state_dict().items()}, buf)
    return hashlib.sha256(type(module).__name__.encode() + buf.getvalue()).hexdigest()


def _onnx_params(path: Path) -> int | None:
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        return None
    return int(sum(int(np.prod(t.dims)) for t in model.graph.initializer))


def cache_key(teacher: Teacher, data_digest: str, spec, aug, seed: int, view: int) -> str:
    blob = json.dumps({"teacher": teacher.digest, "data": data_digest, "spec": spec.to_json(),
                       "augment": asdict(aug), "seed": seed, "view": view, "v": 1}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def cached_logits(teacher: Teacher, x_view: np.ndarray, key: str, cache_dir: Path | None) -> tuple[np.ndarray, bool]:
    """The teacher's logits for one view, from the cache if present; returns (logits, was_cached)."""
    path = cache_dir / f"logits-{key}.npy" if cache_dir else None
    if path is not None and path.is_file():
        try:
            arr = np.load(path)
            if arr.shape[0] == len(x_view):
                return arr, True
        except (OSError, ValueError):
            pass  # a damaged cache entry is recomputed and overwritten
    arr = teacher.logits(x_view)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, arr)
    return arr, False
