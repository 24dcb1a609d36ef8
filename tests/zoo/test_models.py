"""The model zoo (needs torch): every architecture builds, exports to ONNX, runs in onnxruntime like in torch."""
from __future__ import annotations

import numpy as np
import pytest

import edgekit.zoo as zoo
from edgekit.errors import InputError, ModelError

torch = pytest.importorskip("torch", reason="the zoo needs torch (pip install 'edgekit[distill]')")
ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

ALL = ["mobilenet_v2", "resnet18", "efficientnet_b0", "shufflenet_v2", "tiny-mobilenet", "tiny-resnet",
       "tiny-transformer"]
# Parameter counts of the reference implementations (torchvision 0.x model cards) at width 1.0 and
# 1000 classes: equal counts are a strong check that the layer structure follows the papers.
REFERENCE_PARAMS = {"mobilenet_v2": 3_504_872, "resnet18": 11_689_512, "efficientnet_b0": 5_288_548,
                    "shufflenet_v2": 2_278_604}
# torch and onnxruntime sum convolutions in different orders (float32, up to ~1e3-term dot products
# over ~50 layers); 1e-4 of the output's range is the converter's own accuracy target and leaves ~50x
# margin over the ~2e-6 seen.
REL_TOL = 1e-4


def _small(name: str) -> dict:
    """Build arguments that keep the test fast: the big CNNs at 64 px (they are fully convolutional)."""
    if name in REFERENCE_PARAMS:
        return {"input_size": 64, "num_classes": 20}
    return {"num_classes": 10}


def _input(model, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if model.zoo_input_dtype == "int64":
        return rng.integers(0, model.vocab_size, model.zoo_input_shape).astype(np.int64)
    return rng.random(model.zoo_input_shape, dtype=np.float32)  # images scaled to [0, 1]




@pytest.mark.parametrize("name", ALL)
def test_export_runs_in_onnxruntime_like_torch(name, tmp_path):
    model = zoo.build(name, **_small(name))
    path = zoo.export_onnx(model, tmp_path / f"{name}.onnx", metadata={"edgekit.arch": name})
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    assert {p.key: p.value for p in proto.metadata_props}["edgekit.arch"] == name
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) == 17
    # BatchNorm stays in the graph (keep_batchnorm=True) so the converter's folding is exercised
    n_bn = sum(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert sum(n.op_type == "BatchNormalization" for n in proto.graph.node) == n_bn
    x = _input(model)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"input": x})
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert got.shape == want.shape == (1, _small(name)["num_classes"])
    assert np.ptp(want) > 0.1, "degenerate output: random weights should give distinct logits"
    assert np.abs(got - want).max() <= REL_TOL * np.ptp(want)


@pytest.mark.parametrize("name", [n for n in ALL if n != "tiny-transformer"])
def test_batchnorm_is_non_trivial(name):
    model = zoo.build(name, **_small(name))
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert bns
    for bn in bns:
        assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))
        assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
        assert not torch.allclose(bn.weight, torch.ones_like(bn.weight))


def test_keep_batchnorm_false_gives_the_usual_folded_export(tmp_path):
    model = zoo.build("tiny-resnet")
    folded = onnx.load(str(zoo.export_onnx(model, tmp_path / "fold.onnx", keep_batchnorm=False)))
    assert not any(n.op_type == "BatchNormalization" for n in folded.graph.node)


@pytest.mark.parametrize("name", sorted(REFERENCE_PARAMS))
def test_paper_models_match_reference_parameter_counts(name):
    assert zoo.param_count(zoo.build(name, input_size=32)) == REFERENCE_PARAMS[name]


@pytest.mark.parametrize("name", ["tiny-mobilenet", "tiny-resnet", "tiny-transformer"])
def test_same_seed_same_weights_and_width_scales(name):
    a, b, c = zoo.build(name, seed=3), zoo.build(name, seed=3), zoo.build(name, seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa if sa[k].is_floating_point())
    assert zoo.param_count(zoo.build(name, width=0.5)) < zoo.param_count(a) < zoo.param_count(zoo.build(name, width=2))


def test_build_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    zoo.build("tiny-resnet", seed=9)
    assert torch.equal(torch.rand(3), expected)


def test_student_shapes_follow_the_teacher():
    model = zoo.build("tiny-resnet", in_channels=1, num_classes=7, input_size=48)
    assert model.zoo_input_shape == (1, 1, 48, 48)
    with torch.no_grad():
        assert model(torch.rand(1, 1, 48, 48)).shape == (1, 7)


def test_failed_export_leaves_no_file(tmp_path):
    class Broken(torch.nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    with pytest.raises(ModelError, match="boom"):
        zoo.export_onnx(Broken(), tmp_path / "broken.onnx", input_shape=(1, 3, 8, 8))
    with pytest.raises(InputError):
        zoo.export_onnx(zoo.build("tiny-resnet"), tmp_path / "old.onnx", opset=13)
    assert list(tmp_path.iterdir()) == []


def test_shufflenet_static_shapes_export_has_no_shape_ops(tmp_path):
    from edgekit.zoo._cnn import use_static_shapes

    model = zoo.build("shufflenet_v2", input_size=64, num_classes=20)
    dynamic = onnx.load(str(zoo.export_onnx(model, tmp_path / "dyn.onnx")))
    static_path = zoo.export_onnx(use_static_shapes(model), tmp_path / "static.onnx")
    assert any(n.op_type == "Shape" for n in dynamic.graph.node)  # torch.chunk / x.size() chains
    assert not any(n.op_type == "Shape" for n in onnx.load(str(static_path)).graph.node)
    x = _input(model)
    (got,) = ort.InferenceSession(str(static_path), providers=["CPUExecutionProvider"]).run(None, {"input": x})
    with torch.no_grad():
        want = model(torch.from_numpy(x)).numpy()
    assert np.abs(got - want).max() <= REL_TOL * np.ptp(want)
