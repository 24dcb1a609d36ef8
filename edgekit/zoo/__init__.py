"""Model zoo: torch architectures for students, tests and benchmarks.

``build(name, ...)`` returns a ``torch.nn.Module`` in eval mode with random but seed-deterministic
weights, and BatchNorm layers whose running statistics and affine parameters are not the identity
(so a converter's BatchNorm folding is exercised for real). ``export_onnx`` writes it to ONNX.

torch is an optional extra (``pip install 'edgekit[distill]'``): this module imports it only inside
functions, so ``import edgekit.zoo`` and ``edgekit.zoo.names()`` work without it.
"""
from __future__ import annotations

import importlib
import os
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

from edgekit.errors import DependencyError, InputError, ModelError
from edgekit.limits import calm_thread_pools

calm_thread_pools()  # torch is imported below, inside functions: its OpenMP pool must not spin when idle


@dataclass(frozen=True)
class ZooEntry:
    module: str          # submodule of edgekit.zoo holding the builder
    builder: str         # function(in_channels, num_classes, width, input_size) -> nn.Module
    default_size: int    # default spatial size (CNNs) or sequence length (transformer)
    kind: str            # "image" (float NCHW input) or "tokens" (int64 token ids)
    summary: str


_ZOO: dict[str, ZooEntry] = {
    "mobilenet_v2": ZooEntry("_cnn", "mobilenet_v2", 224, "image", "MobileNetV2 (Sandler et al. 2018)"),
    "resnet18": ZooEntry("_cnn", "resnet18", 224, "image", "ResNet-18 (He et al. 2016)"),
    "efficientnet_b0": ZooEntry("_cnn", "efficientnet_b0", 224, "image", "EfficientNet-B0 (Tan & Le 2019)"),
    "shufflenet_v2": ZooEntry("_cnn", "shufflenet_v2", 224, "image", "ShuffleNetV2 1.0x (Ma et al. 2018)"),
    "tiny-mobilenet": ZooEntry("_students", "tiny_mobilenet", 32, "image",
                               "depthwise-separable student for 32-64 px images"),
    "tiny-resnet": ZooEntry("_students", "tiny_resnet", 32, "image", "ResNet-8 style student for 32-64 px images"),
    "tiny-transformer": ZooEntry("_transformer", "tiny_transformer", 32, "tokens",
                                 "2-layer DistilBERT-like encoder classifier (vocab 1000)"),
    "tiny-lm": ZooEntry("_lm", "zoo_tiny_lm", 128, "lm",
                        "4-layer Llama/Qwen-style decoder LM (RMSNorm, rotary, SwiGLU, GQA); edgekit.zoo.lm"),
}

DISTILL_FIX = "install it with: pip install 'edgekit[distill]'"


def names() -> list[str]:
    """The architecture names ``build`` accepts."""
    return list(_ZOO)


def entry(name: str, kind: str | None = None) -> ZooEntry:
    """The zoo entry ``name``; with ``kind`` ("image", "tokens") the error lists only that kind's names."""
    try:
        return _ZOO[name]
    except KeyError:
        choices = [n for n, e in _ZOO.items() if kind is None or e.kind == kind]
        raise InputError(f"unknown model architecture {name!r}", "it is not in the edgekit zoo"
                         + (f" of {kind} models" if kind else ""), f"choose one of: {', '.join(choices)}") from None


def require_torch():
    """Import torch or raise a DependencyError that says how to install it."""
    try:
        import torch
    except ImportError as exc:
        raise DependencyError("torch is not installed", f"the model zoo needs it ({exc})", DISTILL_FIX) from None
    return torch


def input_shape(name: str, in_channels: int = 3, input_size: int | None = None) -> tuple[int, ...]:
    """The batch-1 input shape the zoo model ``name`` is exported with."""
    e = entry(name)
    size = input_size or e.default_size
    return (1, size) if e.kind in ("tokens", "lm") else (1, in_channels, size, size)


def build(name: str, in_channels: int = 3, num_classes: int = 1000, input_size: int | None = None,
          width: float = 1.0, seed: int = 0):
    """Build zoo architecture ``name`` as an eval-mode ``torch.nn.Module``.

    ``input_size`` is the image side (CNNs are fully convolutional, so it only sets the shape used to
    warm up BatchNorm and ``module.zoo_input_shape``) or the fixed sequence length of
    ``tiny-transformer``; ``None`` means the architecture's default. ``width`` multiplies channels.
    """
    e = entry(name)
    if in_channels < 1 or num_classes < 1:
        raise InputError(f"cannot build {name!r} with in_channels={in_channels}, num_classes={num_classes}",
                         "both must be >= 1", "pass positive values")
    if not width > 0:
        raise InputError(f"cannot build {name!r} with width={width}", "width must be > 0", "pass e.g. --width 0.5")
    size = input_size or e.default_size
    if e.kind == "image" and size < 16:
        raise InputError(f"cannot build {name!r} for {size}x{size} images", "the network downsamples by up to 32",
                         "use an input size of at least 16")
    torch = require_torch()
    builder = getattr(importlib.import_module(f"edgekit.zoo.{e.module}"), e.builder)
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG untouched
        torch.manual_seed(seed)
        model = builder(in_channels=in_channels, num_classes=num_classes, width=width, input_size=size)
        shape = input_shape(name, in_channels, size)
        if e.kind != "lm":  # the LM initialises itself as Llama does (no biases, no BatchNorm)
            from ._init import init_weights, warm_up_batchnorm
            init_weights(model)
            warm_up_batchnorm(model, shape, e.kind)
    model.eval()
    model.zoo_name = name
    model.zoo_input_shape = shape
    model.zoo_input_dtype = "float32" if e.kind == "image" else "int64"
    return model


def param_count(module) -> int:
    return sum(int(p.numel()) for p in module.parameters())


def export_onnx(module, path: str | os.PathLike, input_shape: Sequence[int] | None = None, opset: int = 17,
                metadata: Mapping[str, str] | None = None, input_name: str = "input",
                output_name: str = "logits", keep_batchnorm: bool = True):
    """Export ``module`` (batch 1, fixed shape) to ONNX at ``path`` atomically; return the path.

    ``keep_batchnorm`` exports BatchNormalization nodes as such (torch's eval-mode exporter would fold
    them into the convolutions, hiding them from the converter under test); False gives the usual
    torch export. ``metadata`` goes into the model's metadata_props.
    """
    torch = require_torch()
    from edgekit._io import atomic_path

    shape = tuple(int(d) for d in (input_shape or getattr(module, "zoo_input_shape", ()) or ()))
    if not shape:
        raise InputError("cannot export to ONNX without an input shape", "the module is not from the zoo",
                         "pass input_shape=(1, C, H, W)")
    if opset < 17:
        raise InputError(f"cannot export with opset {opset}", "edgekit needs opset >= 17", "pass opset=17 or higher")
    dtype = getattr(module, "zoo_input_dtype", "float32")
    if dtype == "int64":
        vocab = getattr(module, "vocab_size", 2)
        dummy = torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(0), dtype=torch.int64)
    else:
        dummy = torch.zeros(shape, dtype=torch.float32)
    was_training = module.training
    module.eval()
    mode = torch.onnx.TrainingMode.PRESERVE if keep_batchnorm else torch.onnx.TrainingMode.EVAL
    try:
        with atomic_path(path) as tmp, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch 2.9+: DeprecationWarning for the TorchScript exporter
            with torch.no_grad():
                torch.onnx.export(module, (dummy,), str(tmp), dynamo=False, opset_version=opset,
                                  input_names=[input_name], output_names=[output_name],
                                  training=mode, do_constant_folding=True)
            if metadata:
                _add_metadata(tmp, metadata)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise ModelError(f"torch.onnx.export failed for {type(module).__name__}", str(exc).splitlines()[0],
                         "run with --debug for the traceback") from exc
    finally:
        module.train(was_training)
    return path


def _add_metadata(path, metadata: Mapping[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    existing = {p.key: p for p in model.metadata_props}
    for key, value in metadata.items():
        prop = existing.get(key) or model.metadata_props.add()
        prop.key, prop.value = str(key), str(value)
    onnx.save(model, str(path))
