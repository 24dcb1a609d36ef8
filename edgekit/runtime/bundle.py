"""Load a deployment bundle (a directory written by ``edgekit.bundle``) and classify images with it.

A bundle is ``edgekit.json`` (the manifest), ``labels.txt``, one or more model files, ``edgekit.sha256``
(the sha256 of each of those, the manifest's own bytes included; ``sha256sum -c`` reads it) and,
when signed, ``edgekit.sig`` (an Ed25519 signature over ``edgekit.sha256``). Loading checks the
manifest against its schema, every file against the checksums (regular files inside the bundle, no
symlinks), the signature when trusted keys are given, picks the model for the target, verifies it
and opens it with the normal runtime. Like the rest of ``edgekit.runtime`` this needs only the standard
library, numpy and one backend; pillow is imported by ``predict`` when it decodes an image.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError, ModelError

MANIFEST = "edgekit.json"
LABELS = "labels.txt"
SUMS = "edgekit.sha256"
SIGNATURE = "edgekit.sig"
KIND = "edgekit-bundle"  # manifest["kind"]: tells a bundle from any other edgekit.json
SCHEMA_VERSION = 2  # 2: edgekit.sha256 covers the manifest itself; the manifest follows runtime/manifest.py
MAX_MANIFEST_BYTES = 1 << 20
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Bundle:
    """What a bundle adds to a loaded model: where it came from, its labels and preprocessing."""

    path: Path
    manifest: dict
    entry: dict  # the manifest's record of the loaded model file
    labels: tuple[str, ...]
    spec: object | None  # edgekit.data.PreprocessSpec; None when the model does not take images

    @property
    def target(self) -> str | None:
        return (self.manifest.get("target") or {}).get("name")

    def predict(self, model, image, top_k: int = 5) -> list[tuple[str, float]]:
        """Preprocess ``image`` (path or PIL image), run ``model``, return the best ``top_k`` (label, score)."""
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise InputError("top_k must be a whole number >= 1", f"got {top_k!r}", "pass e.g. top_k=5")
        if isinstance(image, str) and self.manifest.get("tokenizer"):  # a text model: ``image`` is the text
            return self._rank(model, _text_feeds(model, member(self.path, self.manifest["tokenizer"]), image), top_k)
        if self.spec is None:
            raise InputError(f"{self.entry['file']} does not take images", "its bundle has no preprocessing spec",
                             "call model.run(x) with an array instead")
        if len(model.inputs) != 1:
            raise InputError(f"{self.entry['file']} has {len(model.inputs)} inputs", "predict feeds one image",
                             "call model.run with a dict of inputs instead")
        from ..data.image import preprocess_image  # imports pillow

        x = preprocess_image(image, self.spec)
        info = model.inputs[0]
        if x.dtype.kind in "iu" and info.dtype.kind == "f":  # raw-pixel spec feeding a float model
            x = x.astype(info.dtype)
        return self._rank(model, x, top_k)

    def _rank(self, model, x, top_k: int) -> list[tuple[str, float]]:
        out = model.outputs[0]
        scores = np.asarray(model.run(x)[out.name], dtype=np.float64).reshape(-1)
        if scores.size != len(self.labels):
            raise ModelError(f"{self.entry['file']} outputs {scores.size} scores", f"{LABELS} has {len(self.labels)} "
                             "labels", "rebuild the bundle with the right --labels")
        probs = scores if is_distribution(scores, out.scale) else softmax(scores)
        order = np.argsort(-probs, kind="stable")[:top_k]
        return [(self.labels[i], float(probs[i])) for i in order]


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max())  # shift by the max: exp never overflows
    return e / e.sum()


def is_distribution(scores: np.ndarray, scale: float | None = None) -> bool:
    """True when ``scores`` already are probabilities: all >= 0 and summing to 1.

    Float softmax sums to 1 within rounding (1e-3 is generous for float16 too). A quantized output
    holds each probability to within half a step, so n outputs may be off by n * scale / 2 in total.
    """
    tol = 1e-3 + (scores.size * scale / 2 if scale else 0.0)
    return bool(scores.size and np.all(scores >= -1e-6) and abs(scores.sum() - 1.0) <= tol)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(root: Path) -> dict:
    """The manifest, parsed and checked against the schema (runtime/manifest.py); not yet the checksums."""
    from .manifest import check_manifest

    path = member(root, MANIFEST)
    if not path.is_file():
        raise ModelError(f"{root} is a directory but not an edgekit bundle", f"it has no {MANIFEST}",
                         "give a .onnx/.tflite file or a directory made by `edgekit bundle`")
    if path.stat().st_size > MAX_MANIFEST_BYTES:
        raise ModelError(f"{path} is {path.stat().st_size} bytes", f"a manifest is at most {MAX_MANIFEST_BYTES}",
                         "rebuild the bundle with `edgekit bundle`")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path} is not valid JSON", str(exc), "rebuild the bundle with `edgekit bundle`") from exc
    except RecursionError:  # 100,000 nested brackets
        raise ModelError(f"{path} is nested too deeply", "a manifest is a few levels deep",
                         "rebuild the bundle with `edgekit bundle`") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != KIND or not manifest.get("models"):
        raise ModelError(f"{path} is not an edgekit bundle manifest", f"it lacks kind={KIND!r} or a models list",
                         "rebuild the bundle with `edgekit bundle`")
    schema = manifest.get("schema")
    if isinstance(schema, int) and not isinstance(schema, bool) and schema > SCHEMA_VERSION:
        raise ModelError(f"{path} uses bundle schema {schema}", f"this edgekit reads schema {SCHEMA_VERSION}",
                         "upgrade edgekit")
    if schema != SCHEMA_VERSION:
        raise ModelError(f"{path} uses bundle schema {schema!r}", f"this edgekit reads schema {SCHEMA_VERSION}, "
                         f"whose {SUMS} also covers the manifest", "rebuild the bundle with `edgekit bundle`")
    return check_manifest(manifest, path)


def sums_text(root: Path, names) -> str:
    """``edgekit.sha256`` for the files ``names`` of ``root``: "<sha256>  <name>" lines, as sha256sum writes."""
    return "".join(f"{sha256_file(root / n)}  {n}\n" for n in sorted(names))


def read_sums(root: Path) -> tuple[bytes, dict[str, str]]:
    path = member(root, SUMS)
    if not path.is_file():
        raise ModelError(f"bundle {root.name} has no {SUMS}", "it lists the sha256 of every file, the manifest "
                         "included", "rebuild the bundle with `edgekit bundle`")
    data = path.read_bytes()[:MAX_MANIFEST_BYTES + 1]
    sums = {}
    for i, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest) or name in sums:
            raise ModelError(f"bundle {root.name}: line {i} of {SUMS} is malformed", "expected '<sha256>  <file>'",
                             "rebuild the bundle with `edgekit bundle`")
        member(root, name)
        sums[name] = digest
    return data, sums


def open_bundle(root: Path, trusted_keys=None) -> dict:
    """The checked manifest of bundle ``root``: schema, checksums of the manifest and labels, model hashes
    matching the checksum file, and the signature when ``trusted_keys`` are given (model files
    themselves are hashed by ``verify`` when one is opened)."""
    manifest = read_manifest(root)
    data, sums = read_sums(root)
    labels = manifest.get("labels", LABELS)
    for name in (MANIFEST, labels):
        if name not in sums:
            raise ModelError(f"bundle {root.name}: {SUMS} does not list {name}", "every file must be covered",
                             "rebuild the bundle with `edgekit bundle`")
        if sha256_file(member(root, name)) != sums[name]:
            raise ModelError(f"bundle {root.name}: {name} does not match {SUMS}", "it changed after the bundle "
                             "was made", "copy the whole bundle directory again or rebuild it")
    for entry in manifest["models"]:
        member(root, entry["file"])
        if sums.get(entry["file"]) != entry["sha256"]:
            raise ModelError(f"bundle {root.name}: {entry['file']} is listed differently in {MANIFEST} and {SUMS}",
                             "one of them was edited", "copy the whole bundle directory again or rebuild it")
    if trusted_keys is not None:
        from .signing import verify as verify_signature

        sig = member(root, SIGNATURE)
        verify_signature(data, sig.read_text(encoding="utf-8", errors="replace") if sig.is_file() else None,
                         trusted_keys, root.name)
    return manifest


def member(root: Path, name) -> Path:
    """A file of the bundle: a plain name inside it (no ../, no absolute path) that is not a symlink."""
    if not isinstance(name, str) or not name or Path(name).name != name or name in (".", ".."):
        raise ModelError(f"{root / MANIFEST} names an invalid file {name!r}", "bundle files must be plain names",
                         "rebuild the bundle with `edgekit bundle`")
    path = root / name
    if path.is_symlink():  # its hash may match while it points anywhere: a bundle carries its own bytes
        raise ModelError(f"bundle {root.name}: {name} is a symbolic link", "every bundle file must be a regular "
                         "file inside the bundle", "copy the bundle with the files themselves (cp -rL)")
    return path


def choose(manifest: dict, target=None) -> dict:
    """The model entry for ``target`` (its runtime's format), else for the bundle's target, else the first."""
    want = (manifest.get("target") or {}).get("format")
    if target is not None:
        from ..targets import get_target

        want = get_target(target).runtime.format.value
    models = manifest["models"]
    return next((m for m in models if m.get("format") == want), models[0])


def verify(root: Path, entry: dict) -> Path:
    path = member(root, entry.get("file"))
    if not path.is_file():
        raise ModelError(f"bundle {root.name}: model file {path.name} is missing",
                         f"{MANIFEST} lists it but the directory does not hold it",
                         "copy the whole bundle directory again or rebuild it")
    actual = sha256_file(path)
    if actual != entry.get("sha256"):
        raise ModelError(f"bundle {root.name}: model file {path.name} does not match {MANIFEST}",
                         f"its sha256 is {actual[:12]}..., the manifest says {str(entry.get('sha256'))[:12]}... "
                         "(file changed or corrupted)", "copy the whole bundle directory again or rebuild it")
    return path


def read_labels(root: Path, manifest: dict) -> tuple[str, ...]:
    path = member(root, manifest.get("labels", LABELS))
    if not path.is_file():
        raise ModelError(f"bundle {root.name}: {path.name} is missing", f"{MANIFEST} refers to it",
                         "copy the whole bundle directory again or rebuild it")
    labels = tuple(path.read_text(encoding="utf-8").rstrip("\n").split("\n"))
    if len(labels) != manifest.get("num_labels", len(labels)):
        raise ModelError(f"bundle {root.name}: {path.name} has {len(labels)} labels",
                         f"{MANIFEST} says {manifest['num_labels']}", "restore labels.txt or rebuild the bundle")
    return labels


def load_bundle(path, threads: int | None = None, target=None, trusted_keys=None):
    """Open the bundle directory ``path``: the returned Model has ``.bundle`` and ``.predict``.

    ``trusted_keys`` (Ed25519 public keys: KEY.pub paths, PEM bytes or raw bytes): the bundle must carry a
    signature by one of them, else ModelError.
    """
    from . import Model
    from .device import open_backend, thread_limit

    root = Path(path)
    manifest = open_bundle(root, trusted_keys)
    entry = choose(manifest, target)
    file = verify(root, entry)
    labels = read_labels(root, manifest)
    spec = None
    if entry.get("preprocess"):
        from ..data.spec import PreprocessSpec

        spec = PreprocessSpec.from_dict(entry["preprocess"], f"the preprocessing of {file.name} in {MANIFEST}")
    if threads is None:  # the bundle's target setting: the one its latency figures were measured with
        threads = (manifest.get("target") or {}).get("threads")  # 1..MAX_THREADS by the schema
        threads = min(threads, thread_limit()) if threads else None  # a device's count, bounded for this one
    from ..validate import check_file

    backend, fmt = open_backend(str(file), threads, check_file(file))  # validated, run once in a child
    model = Model(file, backend, fmt, threads)
    model.bundle = Bundle(root, manifest, entry, labels, spec)
    return model


def _text_feeds(model, tokenizer_file: Path, text: str) -> dict:
    """One string as the model's inputs: token ids padded/truncated to its length (and a mask, if it takes one)."""
    import warnings

    from ..data.text import ids_input, load_tokenizer, pad_id
    from ..errors import EdgekitWarning

    tok = load_tokenizer(tokenizer_file)
    info = ids_input(list(model.inputs))
    ids = np.asarray(tok.encode(text).ids, np.int64)
    n = info.shape[1] if len(info.shape) == 2 and 1 not in info.dynamic else len(ids)
    if len(ids) > n:
        warnings.warn(f"the text has {len(ids)} tokens; {model.path.name} takes {n}: truncated", EdgekitWarning)
    length = min(len(ids), n)
    ids = np.concatenate([ids[:n], np.full(n - length, pad_id(tok), np.int64)])
    feeds = {info.name: ids[None]}
    names = {i.name for i in model.inputs}
    if "attention_mask" in names:
        feeds["attention_mask"] = (np.arange(n) < length).astype(np.int64)[None]
    if "token_type_ids" in names:
        feeds["token_type_ids"] = np.zeros((1, n), np.int64)
    return feeds
