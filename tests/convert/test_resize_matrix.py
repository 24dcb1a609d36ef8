"""Resize cubic and antialiased downsampling as constant interpolation matrices (``_resize_matrix.py``).

Each output is a short weighted sum of inputs computed in float32 in a different order than
onnxruntime: the harness's 1e-5 of the output range."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model


def _resize(shape, *, scales=None, sizes=None, **attrs):
    inits, ins = [], ["x", ""]
    if scales is not None:
        inits.append(numpy_helper.from_array(np.array(scales, np.float32), "scales"))
        ins.append("scales")
    else:
        inits.append(numpy_helper.from_array(np.array(sizes, np.int64), "sizes"))
        ins += ["", "sizes"]
    return make_model([helper.make_node("Resize", ins, ["y"], **attrs)],
                      [helper.make_tensor_value_info("x", TP.FLOAT, shape)],
                      [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits, opset=18)


@pytest.mark.parametrize("ctm", ["half_pixel", "align_corners", "asymmetric", "pytorch_half_pixel"])
def test_cubic_upsample(roundtrip, ctm):
    r = roundtrip(_resize([1, 2, 5, 6], scales=[1, 1, 2, 1.5], mode="cubic", coordinate_transformation_mode=ctm))
    assert r.tflite["y"].shape == (1, 2, 10, 9)


def test_cubic_exclude_outside_and_coeff(roundtrip):
    roundtrip(_resize([1, 3, 6, 6], sizes=[1, 3, 9, 4], mode="cubic", cubic_coeff_a=-0.5, exclude_outside=1))


@pytest.mark.parametrize("mode", ["linear", "cubic"])
def test_antialiased_downsample(roundtrip, mode):
    r = roundtrip(_resize([1, 2, 12, 10], sizes=[1, 2, 5, 4], mode=mode, antialias=1))
    assert r.ops.get("RESIZE_BILINEAR") is None


def test_cubic_after_conv_keeps_nhwc(roundtrip):
    """Resizing an NHWC feature map: the resized axes are middle axes -> BATCH_MATMUL, no TRANSPOSE
    between the conv and the resize."""
    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    m = make_model([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                    helper.make_node("Resize", ["c", "", "scales"], ["y"], mode="cubic")],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 6, 6])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)],
                   [w, numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")], opset=18)
    r = roundtrip(m)
    assert r.ops.get("TRANSPOSE") == 2 and r.ops.get("BATCH_MATMUL") == 2


def test_cubic_tf_crop_and_resize_is_refused(tmp_path):
    import edgekit
    from edgekit.errors import UnsupportedOpError

    m = _resize([1, 1, 4, 4], scales=[1, 1, 2, 2], mode="cubic", coordinate_transformation_mode="tf_crop_and_resize")
    with pytest.raises(UnsupportedOpError, match="tf_crop_and_resize"):
        edgekit.convert(m, tmp_path / "o.tflite")
    assert not (tmp_path / "o.tflite").exists()


def test_linear_with_scale_not_out_over_in(roundtrip):
    """scale 0.7 on 4 -> floor(2.8) = 2: ONNX steps by 1/0.7, TFLite would step by 4/2: matrix path."""
    r = roundtrip(_resize([1, 1, 4, 4], scales=[1, 1, 0.7, 0.7], mode="linear"))
    assert r.ops.get("RESIZE_BILINEAR") is None and r.tflite["y"].shape == (1, 1, 2, 2)


def test_linear_on_the_channel_axis(roundtrip):
    roundtrip(_resize([1, 4, 3, 3], sizes=[1, 7, 3, 3], mode="linear"))
