"""InstanceNormalization and Dropout's mask output against onnxruntime.

InstanceNormalization is the two-pass formula in float32 (MEAN order differs from onnxruntime's):
the harness's 1e-5 of the output range. Dropout is exact (its mask must equal onnxruntime's)."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

rng = np.random.default_rng(0)


def _f(name, arr):
    return numpy_helper.from_array(np.asarray(arr), name)


@pytest.mark.parametrize("shape", [[2, 3, 7], [1, 4, 5, 6], [1, 2, 3, 4, 5]])
def test_instance_normalization(roundtrip, shape):
    c = shape[1]
    m = make_model([helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], epsilon=1e-3)],
                   [helper.make_tensor_value_info("x", TP.FLOAT, shape)],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)],
                   [_f("s", rng.random(c).astype(np.float32) + 0.5), _f("b", rng.standard_normal(c).astype(np.float32))])
    x = (3.0 * rng.standard_normal(shape) + 2.0).astype(np.float32)
    r = roundtrip(m, {"x": x})
    assert r.ops.get("RSQRT") == 1 and r.ops.get("MEAN") == 2


def test_instance_normalization_after_conv_stays_nhwc(roundtrip):
    """wav2vec2-style Conv -> InstanceNormalization: statistics over the physical H, W of the NHWC map,
    no TRANSPOSE between the two."""
    w = rng.standard_normal((4, 3, 3, 3)).astype(np.float32)
    m = make_model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                    helper.make_node("InstanceNormalization", ["c", "s", "b"], ["y"])],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 8, 8])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)],
                   [_f("w", w), _f("s", np.ones(4, np.float32)), _f("b", np.zeros(4, np.float32))])
    r = roundtrip(m)
    assert r.ops.get("TRANSPOSE") == 2   # the input to NHWC and the output back, nothing in between


def _dropout_model(opset, mask_as_output=True, **extra):
    inputs = ["x"] + (["ratio", "train"] if opset >= 12 else [])
    inits = [_f("ratio", np.array(0.3, np.float32)), _f("train", np.array(False))] if opset >= 12 else []
    nodes = [helper.make_node("Dropout", inputs, ["d", "mask"], **extra),
             helper.make_node("Cast", ["mask"], ["mf"], to=TP.FLOAT),
             helper.make_node("Mul", ["d", "mf"], ["y"])]
    outs = [helper.make_tensor_value_info("y", TP.FLOAT, None)]
    if mask_as_output:
        outs.append(helper.make_tensor_value_info("mask", TP.BOOL, None))
    return make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [2, 5])], outs, inits, opset=opset)


@pytest.mark.parametrize("opset", [10, 13])
def test_dropout_mask_is_a_constant_at_inference(roundtrip, opset):
    """Opset >= 12: all True (spec); before: all False, as onnxruntime writes it (spec: undefined)."""
    r = roundtrip(_dropout_model(opset))
    assert r.tflite["mask"].dtype == np.bool_ and (r.tflite["mask"] == (opset >= 12)).all()
    np.testing.assert_array_equal(r.tflite["mask"], r.onnx["mask"])


def test_dropout_in_training_mode_is_refused(tmp_path):
    import edgekit
    from edgekit.errors import UnsupportedOpError

    m = _dropout_model(13)
    for init in m.graph.initializer:
        if init.name == "train":
            init.CopyFrom(_f("train", np.array(True)))
    with pytest.raises(UnsupportedOpError, match="training_mode=1"):
        edgekit.convert(m, tmp_path / "o.tflite")
    assert not (tmp_path / "o.tflite").exists()
