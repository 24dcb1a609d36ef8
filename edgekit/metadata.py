"""edgekit's metadata keys in ONNX and TFLite files: the one place that reads and writes them.

ONNX keeps them in ``ModelProto.metadata_props``; TFLite in ``Model.metadata`` entries whose buffer
holds UTF-8 text (schema.fbs). Values are strings; a dict is stored as JSON. Reading needs onnx
(ONNX) or ai-edge-litert's flatbuffer schema (TFLite), imported only when a file of that kind is read.
"""
from __future__ import annotations

import json
from pathlib import Path

PREPROCESS = "edgekit.preprocess"      # the PreprocessSpec the model takes (data/spec.py)
QUANTIZATION = "edgekit.quantization"  # the scheme a quantized file was made with
PROVENANCE = "edgekit.provenance"      # source hash, edgekit version, conversion options
LABELS = "edgekit.labels"


def _text(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


# ---- ONNX -------------------------------------------------------------------------------------------

def onnx_set(proto, key: str, value) -> None:
    """Add or replace one entry of ``proto.metadata_props``."""
    keep = [p for p in proto.metadata_props if p.key != key]
    del proto.metadata_props[:]
    proto.metadata_props.extend(keep)
    entry = proto.metadata_props.add()
    entry.key, entry.value = key, _text(value)


def onnx_all(proto) -> dict[str, str]:
    return {p.key: p.value for p in proto.metadata_props}


# ---- TFLite -----------------------------------------------------------------------------------------

def tflite_set(model, key: str, value) -> None:
    """Add or replace one entry on a flatbuffer object-API ``ModelT``."""
    import numpy as np
    from ai_edge_litert import schema_py_generated as fb

    model.metadata = [m for m in (model.metadata or []) if _name(m.name) != key]
    buf = fb.BufferT()
    buf.data = np.frombuffer(_text(value).encode("utf-8"), dtype=np.uint8)
    model.buffers.append(buf)
    md = fb.MetadataT()
    md.name, md.buffer = key, len(model.buffers) - 1
    model.metadata.append(md)


def tflite_all(data: bytes) -> dict[str, str]:
    """Every UTF-8 metadata entry of TFLite bytes (binary entries such as min_runtime_version are skipped)."""
    try:
        from ai_edge_litert import schema_py_generated as schema_fb
    except ImportError:  # tflite_runtime / tensorflow only: no schema module to read metadata with
        return {}
    model = schema_fb.Model.GetRootAs(data, 0)
    out = {}
    for i in range(model.MetadataLength()):
        meta = model.Metadata(i)
        buf = model.Buffers(meta.Buffer())
        raw = buf.DataAsNumpy()
        if isinstance(raw, int):  # 0 when the buffer is empty, or data stored after the flatbuffer
            if buf.Offset() > 1:
                raw = memoryview(data)[buf.Offset():buf.Offset() + buf.Size()]
            else:
                continue
        try:
            out[_name(meta.Name())] = bytes(raw).decode("utf-8")
        except UnicodeDecodeError:
            continue
    return out


def _name(name) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


# ---- either -----------------------------------------------------------------------------------------

def read_all(path) -> dict[str, str]:
    """Every string entry of an .onnx or .tflite file ({} for other files)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".onnx":
        import onnx

        return onnx_all(onnx.load(str(path), load_external_data=False))
    if suffix == ".tflite":
        return tflite_all(path.read_bytes())
    return {}


def read(path, key: str) -> str | None:
    return read_all(path).get(key)


def read_json(path, key: str) -> dict | None:
    text = read(path, key)
    if not text:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def read_spec(path):
    """The PreprocessSpec stored in an .onnx or .tflite file, or None (no spec, another kind of file)."""
    from .data.spec import PreprocessSpec
    from .errors import DataError

    path = Path(path)
    if path.suffix.lower() not in (".onnx", ".tflite") or not path.is_file():
        return None
    try:
        text = read(path, PREPROCESS)
    except Exception as exc:  # a broken file is the loader's error to report, not ours
        raise DataError(f"cannot read {path} to find its preprocessing spec", str(exc).splitlines()[0]
                        if str(exc) else type(exc).__name__, "check that it is a valid model file") from exc
    return PreprocessSpec.from_json(text, f"the {PREPROCESS} metadata of {path.name}") if text else None
