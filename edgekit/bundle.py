"""``edgekit.bundle``: one directory holding everything an app needs to run a model on a device.

The directory has the model file(s), ``labels.txt`` and ``edgekit.json``: per model its sha256,
preprocessing spec, I/O tensors with their quantization, and accuracy/latency figures; the target;
provenance. ``edgekit.load(DIR)`` reads it back (``edgekit/runtime/bundle.py``). See docs/bundle.md.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import warnings
from pathlib import Path

from .errors import EdgekitWarning, InputError, ModelError
from .metadata import PREPROCESS as SPEC_KEY, PROVENANCE as PROVENANCE_KEY
from .runtime.bundle import KIND, LABELS, MANIFEST, SCHEMA_VERSION, SIGNATURE, SUMS, sha256_file

__all__ = ["bundle"]


def bundle(models, output, *, target=None, labels=None, results=None, source=None, calibration=None,
           spec=None, sign=None) -> Path:
    """Write a bundle directory at ``output`` for ``models`` (a path or list; the first is the default).

    ``target``: name/path/Target (default: this host's). ``labels``: a text file (one per line), a
    class-per-subfolder data directory, or a list of strings (default: class indices). ``results``:
    profile/eval records or JSON files (as ``edgekit.report`` takes) whose figures go into the manifest.
    ``source``: the model these were derived from; ``calibration``: the calibration file or folder;
    both are hashed for provenance. ``spec``: a PreprocessSpec overriding the one stored in the models.
    The directory is built beside ``output`` and renamed into place, so it is complete or absent.
    ``sign``: an Ed25519 private key (PEM file path; `edgekit keygen`) that signs ``edgekit.sha256``,
    the checksums of every file including the manifest (docs/bundle.md, "Signing").
    """
    from . import __version__, load
    from .targets import get_target

    paths = _model_paths(models)
    out = Path(output)
    _check_output(out, [*paths, labels, source, calibration, sign, *_files(results)])
    key = None
    if sign is not None:  # before any work: a wrong key or a missing cryptography fails now
        from .runtime.signing import private_key

        key = private_key(sign)
    tgt = get_target(target)
    loaded = [load(p) for p in paths]
    metas = [_metadata(p) for p in paths]
    label_list = _labels(labels, loaded)
    base = spec if spec is not None else _stored_spec(paths, metas, source)
    rows = _rows(results)
    entries = [_entry(p, m, meta, base, rows, tgt.name, paths) for p, m, meta in zip(paths, loaded, metas)]
    manifest = {
        "kind": KIND, "schema": SCHEMA_VERSION, "labels": LABELS, "num_labels": len(label_list),
        "target": {"name": tgt.name, "arch": tgt.arch, "format": tgt.runtime.format.value,
                   "runtime": tgt.runtime.name, "threads": tgt.threads},
        "models": entries,
        "provenance": {"edgekit_version": __version__, "source_model": _source(source, metas),
                       "calibration_set": _calibration(calibration) if calibration is not None else None},
    }
    tokenizer = next((m["edgekit.tokenizer"] for m in metas if m.get("edgekit.tokenizer")), None)
    if tokenizer is not None:  # a text model's bundle carries its tokenizer: predict takes strings
        manifest["tokenizer"] = "tokenizer.json"
    _write(out, paths, entries, label_list, manifest, key, {"tokenizer.json": tokenizer} if tokenizer else {})
    return out


def _model_paths(models) -> list[Path]:
    items = [models] if isinstance(models, (str, os.PathLike)) else list(models or [])
    if not items:
        raise InputError("no model to bundle", "the model list is empty", "give at least one .onnx or .tflite file")
    paths = [Path(m) for m in items]
    for p in paths:
        if not p.is_file():
            raise InputError(f"model {p} not found", "no such file", "check the path")
    names = [p.name for p in paths]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise InputError(f"two models are named {dup}", "bundle files keep their names", "rename one of them")
    if {MANIFEST, LABELS, SUMS, SIGNATURE} & set(names):
        raise InputError(f"a model may not be named {MANIFEST}, {LABELS}, {SUMS} or {SIGNATURE}",
                         "the bundle uses those names",
                         "rename the model file")
    return paths


def _files(results) -> list:
    items = [results] if isinstance(results, (str, os.PathLike, dict)) else list(results or [])
    return [r for r in items if isinstance(r, (str, os.PathLike))]


def _check_output(out: Path, inputs=()) -> None:
    """Replace only an earlier bundle: never wipe an arbitrary directory someone pointed -o at.

    Nor one holding an input of this bundle: replacing the directory would delete what was read.
    """
    for src in (s for s in inputs if isinstance(s, (str, os.PathLike))):  # a labels list is not a path
        if out.resolve() in (Path(src).resolve(), *Path(src).resolve().parents):
            raise InputError(f"output {out} holds an input of this bundle ({src})",
                             "the directory is replaced as a whole", "give another directory with -o")
    if out.is_symlink() or (out.exists() and not out.is_dir()):  # a file, FIFO or device: never replaced
        raise InputError(f"output {out} is a file", "a bundle is a directory", "give a new directory name with -o")
    if out.is_dir() and any(out.iterdir()):
        try:  # any earlier bundle, also of an older schema or a damaged one: only its kind is looked at
            earlier = json.loads((out / MANIFEST).read_text(encoding="utf-8")).get("kind") == KIND
        except (OSError, ValueError, AttributeError, RecursionError):
            earlier = False
        if not earlier:
            raise InputError(f"output directory {out} is not empty and not an edgekit bundle",
                             "edgekit replaces only an earlier bundle", "give a new directory with -o") from None


def _metadata(path: Path) -> dict[str, str]:
    """String metadata stored in the model: ONNX metadata_props or TFLite Model.metadata buffers."""
    from . import metadata

    if path.suffix.lower() == ".onnx":
        import onnx

        proto = onnx.load(str(path), load_external_data=False)
        if any(t.data_location == onnx.TensorProto.EXTERNAL for t in proto.graph.initializer):
            raise InputError(f"{path.name} keeps its weights in external data files", "a bundle copies and "
                             "hashes one file per model", "save it as a single file: onnx.save(model, path, "
                             "save_as_external_data=False)")
        return metadata.onnx_all(proto)
    return metadata.tflite_all(path.read_bytes())


def _stored_spec(paths, metas, source):
    """The first spec stored in the source model or any bundled model, else None (with a warning)."""
    from .data import PreprocessSpec, read_spec

    if source is not None and Path(source).suffix.lower() == ".onnx":
        found = read_spec(source)
        if found is not None:
            return found
    for path, meta in zip(paths, metas):
        if SPEC_KEY in meta:
            return PreprocessSpec.from_json(meta[SPEC_KEY], f"the {SPEC_KEY} metadata of {path.name}")
    if any(meta.get("edgekit.tokenizer") for meta in metas):
        return None  # a text model: its tokenizer is its preprocessing (docs/lm.md)
    warnings.warn("no preprocessing spec is stored in the model(s): the bundle uses defaults from the input "
                  "shape (pixels scaled to 0..1, no mean/std); pass --preprocess/--mean/--std if the model was "
                  "trained otherwise", EdgekitWarning, stacklevel=3)
    return None


def _classes(model) -> int:
    shape = model.outputs[0].shape
    n = 1
    for d in (shape[1:] if len(shape) > 1 else shape):
        n *= d
    return n


def _labels(labels, loaded) -> list[str]:
    counts = {_classes(m) for m in loaded}
    if len(counts) > 1:
        raise InputError("the bundled models disagree on the class count",
                         f"their first outputs have {sorted(counts)} values", "bundle variants of one model only")
    n = counts.pop()
    if labels is None:
        warnings.warn(f"no labels given: labels.txt holds class indices 0..{n - 1}; pass --labels FILE",
                      EdgekitWarning, stacklevel=3)
        return [str(i) for i in range(n)]
    if isinstance(labels, (str, os.PathLike)):
        items, origin = _read_labels(Path(labels)), str(labels)
    else:
        items, origin = [str(v) for v in labels], "the labels list"
    bad = next((i for i, v in enumerate(items) if not v.strip() or "\n" in v or "\r" in v), None)
    if bad is not None:
        raise InputError(f"label {bad + 1} in {origin} is empty or spans lines", f"got {items[bad]!r}",
                         "give one non-empty label per class")
    if len(items) != n:
        raise InputError(f"{origin} has {len(items)} labels", f"the model outputs {n} classes",
                         "give exactly one label per class, in class-index order")
    return items


def _read_labels(path: Path) -> list[str]:
    if path.is_dir():  # class-per-subfolder data: sorted names, as edgekit.data.FolderDataset numbers them
        return sorted(d.name for d in path.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not path.is_file():
        raise InputError(f"labels file {path} not found", "no such file or directory", "check the path")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"labels file {path} is not UTF-8 text", str(exc), "save it as UTF-8, one label per line") from exc
    return [line.strip() for line in text.rstrip("\r\n").splitlines()]


def _rows(results):
    if results is None:
        return []
    from .report.records import read_rows

    return read_rows(results)


def _figures(path: Path, rows, target: str, paths: list[Path]) -> dict:
    """Accuracy (any target) and latency (this target only) recorded for ``path`` in the results."""
    def same(row) -> bool:
        return os.path.normpath(row.model) == os.path.normpath(path) or (
            Path(row.model).exists() and Path(row.model).resolve() == path.resolve())

    mine = [r for r in rows if same(r)]
    if not mine and [p.name for p in paths].count(path.name) == 1:  # results written elsewhere: match by name
        mine = [r for r in rows if r.name == path.name]
    out = {}
    for row in mine:
        fig = row.figures()
        if row.profiled and row.target != target:  # another device's latency is not this bundle's
            fig = {k: v for k, v in fig.items() if k in ("samples", "top1", "top5", "agreement", "sqnr_db",
                                                         "max_abs_error")}
        out.update(fig)
    return {k: (str(v) if isinstance(v, float) and v in (float("inf"), float("-inf")) else v) for k, v in out.items()}


def _entry(path, model, meta, base, rows, target, paths) -> dict:
    from .evaluate import model_spec

    spec = model_spec(model, base)  # the one rule: given > stored > the input's defaults
    prov = _json(meta.get(PROVENANCE_KEY))
    return {"file": path.name, "format": model.format, "sha256": sha256_file(path), "bytes": path.stat().st_size,
            "preprocess": spec.to_dict() if spec is not None else None,
            "inputs": [i.to_dict() for i in model.inputs], "outputs": [o.to_dict() for o in model.outputs],
            "source_sha256": prov.get("source_sha256"), "metrics": _figures(path, rows, target, paths)}


def _json(text) -> dict:
    try:
        value = json.loads(text) if text else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _source(source, metas) -> dict | None:
    if source is not None:
        path = Path(source)
        if not path.is_file():
            raise InputError(f"source model {path} not found", "no such file", "check the path")
        return {"file": path.name, "sha256": sha256_file(path), "from": "given"}
    for meta in metas:  # edgekit.convert records the ONNX model a .tflite came from
        prov = _json(meta.get(PROVENANCE_KEY))
        if prov.get("source_sha256"):
            return {"file": prov.get("source_name"), "sha256": prov["source_sha256"], "from": "model metadata"}
    return None


def _calibration(calibration) -> dict:
    """sha256 of a file, or of a folder's sorted (relative path, file sha256) list."""
    path = Path(calibration)
    if path.is_file():
        return {"name": path.name, "sha256": sha256_file(path), "files": 1}
    if not path.is_dir():
        raise InputError(f"calibration data {path} not found", "no such file or directory", "check the path")
    files = sorted(p for p in path.rglob("*") if p.is_file() and not any(s.startswith(".") for s in
                                                                          p.relative_to(path).parts))
    digest = hashlib.sha256()
    for f in files:
        digest.update(f"{f.relative_to(path).as_posix()}\0{sha256_file(f)}\n".encode())
    return {"name": path.name, "sha256": digest.hexdigest(), "files": len(files)}


def _write(out: Path, paths, entries, labels, manifest, key=None, extra: dict | None = None) -> None:
    from ._io import atomic_dir
    from .runtime.bundle import sums_text

    with atomic_dir(out) as tmp:
        for path, entry in zip(paths, entries):
            shutil.copyfile(path, tmp / entry["file"])
            if sha256_file(tmp / entry["file"]) != entry["sha256"]:
                raise ModelError(f"model {path} changed while it was being bundled", "its sha256 differs from "
                                 "the one just computed", "wait until whatever writes it has finished")
        (tmp / LABELS).write_text("\n".join(labels) + "\n", encoding="utf-8")
        for name, text in (extra or {}).items():
            (tmp / name).write_text(text, encoding="utf-8")
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        sums = sums_text(tmp, [MANIFEST, LABELS, *(e["file"] for e in entries), *(extra or {})])
        (tmp / SUMS).write_text(sums, encoding="utf-8")
        if key is not None:
            from .runtime.signing import sign

            (tmp / SIGNATURE).write_text(sign(sums.encode("utf-8"), key), encoding="utf-8")
        _fsync_tree(tmp)


def _fsync_tree(root: Path) -> None:
    """Flush the files to disk before the rename makes the bundle visible (as atomic_write does)."""
    for f in root.iterdir():
        with open(f, "rb") as fh:
            os.fsync(fh.fileno())
