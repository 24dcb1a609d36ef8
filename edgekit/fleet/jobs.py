"""Jobs: one model on one device, addressed by what decides its result.

The key hashes the model's bytes, the target's settings, the measurement protocol, the runtime and
edgekit versions of this host, and the device (name and address). The same key means the same
measurement, so a stored result is reused; any change (a re-converted model, another --runs, a new
onnxruntime) makes a new job.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

RUNTIMES = ("onnxruntime", "ai-edge-litert")


@dataclass(frozen=True)
class ModelFile:
    path: str
    sha256: str
    size: int
    fmt: str


@dataclass(frozen=True)
class Job:
    key: str
    model: ModelFile
    device: str  # the fleet device's name

    @property
    def label(self) -> str:
        return f"{Path(self.model.path).name} on {self.device}"


def prepare_model(path: str) -> ModelFile:
    """Check the file is a model edgekit can run (before any runtime sees it) and hash its bytes.

    Host-side work: on Ray it runs as a task, so a long list of big models is hashed in parallel."""
    from ..profile import resolve_model
    from ..runtime.device import detect_format

    p = resolve_model(path)
    fmt = detect_format(str(p))  # a ModelError for a file that is neither .onnx nor a TFLite flatbuffer
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return ModelFile(str(p), h.hexdigest(), p.stat().st_size, fmt)


def versions() -> dict:
    """The runtime and edgekit versions of this host, without importing the runtimes."""
    from importlib.metadata import PackageNotFoundError, version

    from .. import __version__

    out = {"edgekit": __version__}
    for name in RUNTIMES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def job_key(model: ModelFile, device, proto, host_versions: dict) -> str:
    target = dataclasses.asdict(device.target)
    target.pop("source", None)  # where the toml lives does not change the measurement
    facts = {"model": model.sha256, "target": target, "protocol": dataclasses.asdict(proto),
             "versions": host_versions, "device": {"name": device.name, "address": device.address,
                                                   "python": device.python}}
    return hashlib.sha256(json.dumps(facts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def plan(models: list[ModelFile], devices, proto) -> list[Job]:
    """models x devices, model-major (so the table reads like today's --targets matrix)."""
    host_versions = versions()
    return [Job(job_key(m, d, proto, host_versions), m, d.name) for m in models for d in devices]
