"""edgekit.bundle writes a complete, verifiable directory; edgekit.load(DIR).predict classifies with it."""
from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from PIL import Image

import edgekit
from edgekit.errors import EdgekitWarning, InputError, ModelError

from .conftest import IN_SCALE, IN_ZP, LABELS, SPEC, colour_classifier, expected_probs, int8_pool_tflite

RED, GREEN = (220, 40, 30), (30, 200, 60)


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(d) -> dict:
    return json.loads((d / "edgekit.json").read_text())


def resum(d, _=None):
    """Rewrite edgekit.sha256 after an edit, as a tamperer who knows the format would."""
    from edgekit.runtime.bundle import SUMS, sums_text

    m = manifest(d)
    (d / SUMS).write_text(sums_text(d, ["edgekit.json", "labels.txt", *(e["file"] for e in m["models"])]))


@pytest.fixture
def pair(tmp_path, onnx_model):
    """The ONNX colour classifier and its TFLite conversion (edgekit's own converter)."""
    tfl = edgekit.convert(onnx_model, tmp_path / "colour.tflite")
    return onnx_model, tfl


def results_for(onnx_model, tfl):
    lat = {"mean": 1.1, "std": 0.1, "min": 0.9, "p50": 1.0, "p90": 1.3, "p99": 2.0, "max": 3.0}
    return [{"model": str(onnx_model), "samples": 50, "top1": 91.0, "top5": 100.0},
            {"model": str(tfl), "samples": 50, "top1": 90.0, "top5": 100.0, "agreement": 98.0},
            {"model": str(tfl), "format": "tflite", "target": "raspberry-pi-4", "measured_on": "host",
             "latency_ms": lat, "memory_mb": {"peak_rss": 50.0}, "model_bytes": 1, "threads": 4},
            {"model": str(onnx_model), "format": "onnx", "target": "x86_64", "measured_on": "host",
             "latency_ms": lat, "memory_mb": {"peak_rss": 40.0}, "model_bytes": 1, "threads": 2}]


def test_bundle_writes_models_labels_and_manifest(tmp_path, pair, labels_file):
    onnx_model, tfl = pair
    calib = tmp_path / "calib"
    (calib / "a").mkdir(parents=True)
    (calib / "a" / "1.png").write_bytes(b"one")
    (calib / "2.png").write_bytes(b"two")
    out = edgekit.bundle([onnx_model, tfl], tmp_path / "b", target="raspberry-pi-4", labels=labels_file,
                         results=results_for(onnx_model, tfl), source=onnx_model, calibration=calib)
    assert sorted(p.name for p in out.iterdir()) == ["colour.onnx", "colour.tflite", "edgekit.json",
                                                   "edgekit.sha256", "labels.txt"]
    assert (out / "labels.txt").read_text().split() == LABELS
    m = manifest(out)
    assert m["target"]["name"] == "raspberry-pi-4" and m["target"]["format"] == "tflite"
    onnx_e, tfl_e = m["models"]
    for entry, src in ((onnx_e, onnx_model), (tfl_e, tfl)):
        assert entry["sha256"] == sha(src) == sha(out / entry["file"])  # copied byte for byte
        assert entry["preprocess"]["mean"] == list(SPEC.mean) and entry["preprocess"]["std"] == list(SPEC.std)
        assert entry["inputs"][0]["shape"] == list(edgekit.load(src).inputs[0].shape)
        assert entry["inputs"][0]["scale"] is None  # float I/O: nothing to quantize
    prov = m["provenance"]
    assert prov["edgekit_version"] == edgekit.__version__
    assert prov["source_model"]["sha256"] == sha(onnx_model)
    assert prov["calibration_set"]["files"] == 2
    assert tfl_e["source_sha256"] == sha(onnx_model)  # the converter's provenance metadata, read back
    # accuracy is the model's wherever measured; latency only from this bundle's target
    assert onnx_e["metrics"]["top1"] == 91.0 and "latency_ms" not in onnx_e["metrics"]
    assert tfl_e["metrics"]["top1"] == 90.0 and tfl_e["metrics"]["latency_ms"]["p99"] == 2.0
    assert tfl_e["metrics"]["target"] == "raspberry-pi-4"


def test_calibration_hash_follows_content(tmp_path, onnx_model):
    calib = tmp_path / "calib"
    calib.mkdir()
    (calib / "x.npy").write_bytes(b"abc")
    first = manifest(edgekit.bundle(onnx_model, tmp_path / "b1", labels=LABELS, calibration=calib))
    (calib / "x.npy").write_bytes(b"abd")
    second = manifest(edgekit.bundle(onnx_model, tmp_path / "b2", labels=LABELS, calibration=calib))
    h1, h2 = (x["provenance"]["calibration_set"]["sha256"] for x in (first, second))
    assert len(h1) == 64 and h1 != h2


def test_load_picks_the_targets_format(tmp_path, pair):
    out = edgekit.bundle(list(pair), tmp_path / "b", target="raspberry-pi-4", labels=LABELS)
    default = edgekit.load(out)
    assert default.format == "tflite" and default.threads == 4  # the Pi 4 target: LiteRT, 4 threads
    assert edgekit.load(out, threads=1).threads == 1
    onnx_side = edgekit.load(out, target="x86_64")  # an onnxruntime target picks the .onnx
    assert onnx_side.format == "onnx" and onnx_side.bundle.target == "raspberry-pi-4"
    only_onnx = edgekit.bundle(pair[0], tmp_path / "b2", target="raspberry-pi-4", labels=LABELS)
    assert edgekit.load(only_onnx).format == "onnx"  # no match: the first model


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_predict_applies_preprocessing_and_softmax(tmp_path, pair, fmt):
    out = edgekit.bundle(list(pair), tmp_path / "b", target="raspberry-pi-4", labels=LABELS)
    model = edgekit.load(out, target="x86_64" if fmt == "onnx" else None)
    assert model.format == fmt
    img = Image.new("RGB", (20, 14), RED)  # not the model's 8x8: the spec resizes
    img.save(tmp_path / "red.png")
    got = model.predict(img)
    want = expected_probs(RED)
    assert [g[0] for g in got] == [LABELS[i] for i in np.argsort(-want)]
    # float32 model arithmetic vs the float64 reference: agree to 1e-5
    np.testing.assert_allclose([g[1] for g in got], np.sort(want)[::-1], atol=1e-5)
    from_path = model.predict(tmp_path / "red.png")  # a path works like a PIL image (PNG is lossless)
    assert [g[0] for g in from_path] == [g[0] for g in got]
    np.testing.assert_allclose([g[1] for g in from_path], [g[1] for g in got], atol=1e-7)
    assert model.predict(Image.new("RGB", (8, 8), GREEN), top_k=1)[0][0] == "green"
    assert len(model.predict(img, top_k=2)) == 2 and len(model.predict(img, top_k=10)) == 3


def test_probabilities_are_not_softmaxed_twice(tmp_path):
    src = colour_classifier(tmp_path / "soft.onnx", softmax=True)
    model = edgekit.load(edgekit.bundle(src, tmp_path / "b", labels=LABELS))
    got = dict(model.predict(Image.new("RGB", (8, 8), RED)))
    want = expected_probs(RED)  # the model's own softmax; a second one would flatten it
    np.testing.assert_allclose([got[l] for l in LABELS], want, atol=1e-5)


def test_quantized_io_is_recorded_and_predict_quantizes(tmp_path):
    src = int8_pool_tflite(tmp_path / "pool.tflite")
    with pytest.warns(EdgekitWarning, match="no preprocessing spec"):
        out = edgekit.bundle(src, tmp_path / "b", target="raspberry-pi-4", labels=["r", "g", "b"])
    entry = manifest(out)["models"][0]
    assert entry["inputs"][0]["dtype"] == "int8"
    assert entry["inputs"][0]["scale"] == pytest.approx(IN_SCALE) and entry["inputs"][0]["zero_point"] == IN_ZP
    assert entry["outputs"][0]["zero_point"] == IN_ZP
    assert entry["preprocess"]["layout"] == "nhwc" and entry["preprocess"]["dtype"] == "float32"
    got = edgekit.load(out).predict(Image.new("RGB", (8, 8), GREEN))
    # pixels c/255 quantize exactly (scale 1/255); the pool of a constant is exact: scores = softmax(means)
    z = np.asarray(GREEN) / 255
    want = np.exp(z) / np.exp(z).sum()
    assert got[0][0] == "g"
    np.testing.assert_allclose(dict(got)["r"], want[0], atol=1e-6)


def test_tampered_model_file_is_rejected(tmp_path, onnx_model):
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS)
    data = bytearray((out / "colour.onnx").read_bytes())
    data[-5] ^= 0x01  # one bit of a weight: still a loadable model, only the hash can tell
    (out / "colour.onnx").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="colour.onnx does not match edgekit.json") as exc:
        edgekit.load(out)
    assert "sha256" in str(exc.value) and "\n" not in str(exc.value)


def test_missing_model_file_is_rejected(tmp_path, onnx_model):
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS)
    (out / "colour.onnx").unlink()
    with pytest.raises(ModelError, match="model file colour.onnx is missing"):
        edgekit.load(out)


@pytest.mark.parametrize("edit, match", [
    (lambda d: (d / "edgekit.json").unlink(), "not an edgekit bundle"),
    (lambda d: (d / "edgekit.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "edgekit.json").write_text('{"kind": "other"}'), "not an edgekit bundle manifest"),
    (lambda d: (d / "labels.txt").write_text("red\ngreen\n"), "labels.txt does not match edgekit.sha256"),
    # the same edits by someone who also rewrites the checksums: the content checks still hold
    (lambda d: resum(d, (d / "labels.txt").write_text("red\ngreen\n")), "has 2 labels"),
    (lambda d: resum(d, (d / "edgekit.json").write_text((d / "edgekit.json").read_text().replace(
        '"file": "colour.onnx"', '"file": "../colour.onnx"'))), "invalid file"),
])
def test_broken_bundle_is_a_clear_model_error(tmp_path, onnx_model, edit, match):
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS)
    edit(out)
    with pytest.raises(ModelError, match=match):
        edgekit.load(out)


def test_labels_from_folder_and_defaults(tmp_path, onnx_model):
    data = tmp_path / "train"
    for name in ("b_green", "a_red", "c_blue", ".hidden"):
        (data / name).mkdir(parents=True)
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=data)
    assert (out / "labels.txt").read_text().split() == ["a_red", "b_green", "c_blue"]
    with pytest.warns(EdgekitWarning, match="class indices"):
        out2 = edgekit.bundle(onnx_model, tmp_path / "b2")
    assert (out2 / "labels.txt").read_text().split() == ["0", "1", "2"]


@pytest.mark.parametrize("labels, match", [(["a", "b"], "has 2 labels"), (["a", "", "c"], "label 2"),
                                           ("nope.txt", "not found")])
def test_bad_labels_leave_nothing_behind(tmp_path, onnx_model, labels, match):
    before = set(tmp_path.iterdir())
    with pytest.raises(InputError, match=match):
        edgekit.bundle(onnx_model, tmp_path / "b", labels=labels if labels != "nope.txt" else tmp_path / labels)
    assert set(tmp_path.iterdir()) == before  # no bundle, no temp directory


def test_output_must_be_new_or_an_earlier_bundle(tmp_path, onnx_model):
    other = tmp_path / "photos"
    other.mkdir()
    (other / "keep.jpg").write_bytes(b"x")
    with pytest.raises(InputError, match="not empty and not an edgekit bundle"):
        edgekit.bundle(onnx_model, other, labels=LABELS)
    assert (other / "keep.jpg").read_bytes() == b"x"
    out = edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS)
    (out / "stale.txt").write_text("old")
    edgekit.bundle(onnx_model, out, labels=["r", "g", "b"])  # replaced whole, not merged
    assert not (out / "stale.txt").exists() and (out / "labels.txt").read_text().split() == ["r", "g", "b"]


def test_bad_model_arguments(tmp_path, onnx_model):
    with pytest.raises(InputError, match="not found"):
        edgekit.bundle(tmp_path / "missing.onnx", tmp_path / "b", labels=LABELS)
    other = tmp_path / "x"
    other.mkdir()
    colour_classifier(other / "colour.onnx")
    with pytest.raises(InputError, match="two models are named colour.onnx"):
        edgekit.bundle([onnx_model, other / "colour.onnx"], tmp_path / "b", labels=LABELS)


def test_predict_needs_a_bundle_and_a_sane_top_k(tmp_path, onnx_model):
    with pytest.raises(InputError, match="bare model file"):
        edgekit.load(onnx_model).predict(Image.new("RGB", (8, 8)))
    model = edgekit.load(edgekit.bundle(onnx_model, tmp_path / "b", labels=LABELS))
    with pytest.raises(InputError, match="top_k"):
        model.predict(Image.new("RGB", (8, 8)), top_k=0)


def test_external_data_models_are_refused(tmp_path):
    import onnx

    src = colour_classifier(tmp_path / "ext.onnx")
    model = onnx.load(str(src))
    onnx.save(model, str(src), save_as_external_data=True, all_tensors_to_one_file=True, location="ext.data",
              size_threshold=0)  # the 3x3 weight moves to ext.data: copying ext.onnx alone would lose it
    with pytest.raises(InputError, match="external data"):
        edgekit.bundle(src, tmp_path / "b", labels=LABELS)
    assert not (tmp_path / "b").exists()
