"""Issue 17 item 9: a bundle's manifest is schema-checked and hashed, its files are its own, and a
signed bundle loads only when its Ed25519 signature verifies with a trusted key."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
from PIL import Image

import edgekit
from edgekit.cli import main
from edgekit.errors import InputError, ModelError
from edgekit.runtime.device import thread_limit

from .conftest import LABELS, colour_classifier
from .test_bundle import manifest, resum, sha


def _edit_manifest(d, change):
    m = manifest(d)
    change(m)
    (d / "edgekit.json").write_text(json.dumps(m))


@pytest.fixture
def keys(tmp_path):
    assert main(["keygen", "-o", str(tmp_path / "key")]) == 0
    assert main(["keygen", "-o", str(tmp_path / "other")]) == 0
    return tmp_path / "key", tmp_path / "key.pub", tmp_path / "other.pub"


def test_the_manifest_bytes_are_covered_by_the_checksums(tmp_path, onnx_model):
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS)
    _edit_manifest(out, lambda m: m["target"].update(threads=3))
    with pytest.raises(ModelError, match="edgekit.json does not match edgekit.sha256"):
        edgekit.load(out)


@pytest.mark.parametrize("change, key", [
    (lambda m: m["target"].update(threads=1_000_000), "target.threads"),  # made edgekit.load segfault
    (lambda m: m["models"][0]["preprocess"].update(size=[100_000, 100_000]), "models[0].preprocess.size[0]"),
    (lambda m: m.update(num_labels="3"), "num_labels"),
    (lambda m: m.update(extra={"x": 1}), "extra"),
    (lambda m: m["models"][0].update(sha256="abc"), "models[0].sha256"),
    (lambda m: m["models"][0].update(metrics={"top1": {"a": {"b": 1}}}), "models[0].metrics.top1"),
], ids=["threads", "preprocess size", "type", "unknown key", "hash", "depth"])
def test_the_manifest_follows_its_schema_even_with_rewritten_checksums(tmp_path, onnx_model, change, key):
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS)
    _edit_manifest(out, change)
    resum(out)
    with pytest.raises(ModelError) as exc:
        edgekit.load(out)
    text = str(exc.value)
    assert "not a valid bundle manifest" in text and f"key '{key}'" in text and "\n" not in text


def test_deeply_nested_json_is_one_line(tmp_path, onnx_model):
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS)
    (out / "edgekit.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(ModelError, match="nested too deeply"):
        edgekit.load(out)


def test_a_bundles_threads_are_bounded_for_this_machine(tmp_path, onnx_model):
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS)
    _edit_manifest(out, lambda m: m["target"].update(threads=16_000))  # a valid count for a huge server
    resum(out)
    assert edgekit.load(out).threads == thread_limit()


def test_a_symlinked_model_is_refused_even_when_its_hash_matches(tmp_path, onnx_model):
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS)
    outside = tmp_path / "elsewhere.onnx"
    shutil.copyfile(out / "colour.onnx", outside)
    (out / "colour.onnx").unlink()
    os.symlink(outside, out / "colour.onnx")
    with pytest.raises(ModelError, match="colour.onnx is a symbolic link"):
        edgekit.load(out)


def _replace_model(out, tmp_path):
    """A different model with every hash updated: passes integrity checks, fails a signature."""
    other = colour_classifier(tmp_path / "evil.onnx")
    shutil.copyfile(other, out / "colour.onnx")
    _edit_manifest(out, lambda m: m["models"][0].update(sha256=sha(out / "colour.onnx")))
    resum(out)


def test_signed_bundle_loads_with_its_key_and_refuses_others(tmp_path, onnx_model, keys):
    private, public, other = keys
    assert oct(private.stat().st_mode & 0o777) == "0o600"
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS, sign=private)
    assert (out / "edgekit.sig").is_file()
    model = edgekit.load(out, trusted_keys=[public])
    assert model.predict(Image.new("RGB", (8, 8), (220, 40, 30)))[0][0] == "red"
    with pytest.raises(ModelError, match="does not verify with any trusted key"):
        edgekit.load(out, trusted_keys=[other])
    unsigned = edgekit.bundle(onnx_model, tmp_path / "u", labels=LABELS)
    with pytest.raises(ModelError, match="is not signed"):
        edgekit.load(unsigned, trusted_keys=[public])
    with pytest.raises(InputError, match="bare model file"):
        edgekit.load(onnx_model, trusted_keys=[public])


def test_a_replaced_model_with_updated_hashes_fails_the_signature(tmp_path, onnx_model, keys, capsys):
    private, public, _ = keys
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS, sign=private)
    _replace_model(out, tmp_path)
    edgekit.load(out)  # integrity alone cannot tell: every hash matches
    with pytest.raises(ModelError, match="signature does not verify"):
        edgekit.load(out, trusted_keys=[public])
    code = main(["profile", str(out), "--trusted-key", str(public), "--runs", "1", "--warmup", "0"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "signature does not verify" in err[0]


def test_cli_signs_and_keys_from_openssl_work(tmp_path, onnx_model, capsys):
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed")
    key, pub = tmp_path / "ossl.pem", tmp_path / "ossl.pub"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(key)], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(pub)], check=True)
    assert main(["bundle", str(onnx_model), "--target", "x86_64", "--labels", str(_labels(tmp_path)), "--sign", str(key), "-o", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert edgekit.load(tmp_path / "b", trusted_keys=[pub]).bundle is not None
    assert main(["keygen", "-o", str(key)]) == 2  # a key is never overwritten
    assert "exists" in capsys.readouterr().err and key.read_bytes().startswith(b"-----BEGIN PRIVATE KEY")


def _labels(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("\n".join(LABELS) + "\n")
    return path
