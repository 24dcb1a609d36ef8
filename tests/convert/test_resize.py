"""Resize (opsets 10, 11+, 19) and Upsample against onnxruntime.

Nearest: every coordinate_transformation_mode / nearest_mode pair either maps onto TFLite's
RESIZE_NEAREST_NEIGHBOR flags (checked index-by-index at conversion) or falls back to exact GATHERs;
either way the output must equal onnxruntime's bit for bit (nearest copies values). Bilinear:
RESIZE_BILINEAR with align_corners / half_pixel_centers; default tolerance (1e-5 of the range:
interpolation weights are computed in float32 by both runtimes).
"""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from edgekit.errors import UnsupportedOpError

from .conftest import make_model

rng = np.random.default_rng(0)


def resize_model(shape, *, scales=None, sizes=None, opset=13, **attrs):
    inits = [numpy_helper.from_array(np.zeros(0, np.float32), "roi")]
    names = ["x", "roi"]
    if scales is not None:
        inits.append(numpy_helper.from_array(np.asarray(scales, np.float32), "scales"))
        names.append("scales")
    else:
        names.append("")
    if sizes is not None:
        inits.append(numpy_helper.from_array(np.asarray(sizes, np.int64), "sizes"))
        names.append("sizes")
    return make_model([helper.make_node("Resize", names, ["y"], **attrs)],
                      [helper.make_tensor_value_info("x", TP.FLOAT, list(shape))],
                      [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits, opset=opset)


def exact(roundtrip, m):
    r = roundtrip(m, rtol=0.0)
    np.testing.assert_array_equal(r.tflite["y"], r.onnx["y"])
    return r


@pytest.mark.parametrize("ctm,nearest_mode,expected", [
    ("asymmetric", "floor", "RESIZE_NEAREST_NEIGHBOR"),          # torch nn.Upsample(mode="nearest")
    ("half_pixel", "round_prefer_ceil", "RESIZE_NEAREST_NEIGHBOR"),
    ("align_corners", "round_prefer_ceil", "RESIZE_NEAREST_NEIGHBOR"),
    ("half_pixel", "round_prefer_floor", "RESIZE_NEAREST_NEIGHBOR"),  # no ties at integer upscales
    ("asymmetric", "ceil", "GATHER"),                             # TFLite cannot: exact gathers instead
    ("tf_half_pixel_for_nn", "floor", None),
])
def test_nearest_upsample(roundtrip, ctm, nearest_mode, expected):
    m = resize_model((1, 3, 4, 5), scales=[1, 1, 2, 3], mode="nearest", coordinate_transformation_mode=ctm,
                     nearest_mode=nearest_mode)
    r = exact(roundtrip, m)
    if expected:
        assert expected in r.ops


@pytest.mark.parametrize("ctm", ["asymmetric", "half_pixel", "align_corners"])
def test_nearest_sizes_downsample(roundtrip, ctm):
    m = resize_model((1, 2, 9, 7), sizes=[1, 2, 4, 3], mode="nearest", coordinate_transformation_mode=ctm)
    exact(roundtrip, m)


def test_nearest_on_channels_uses_gather(roundtrip):
    r = exact(roundtrip, resize_model((1, 3, 4, 4), scales=[1, 2, 1, 1], mode="nearest"))
    assert r.ops == {"GATHER": 1}


@pytest.mark.parametrize("ctm", ["align_corners", "half_pixel", "pytorch_half_pixel", "asymmetric"])
@pytest.mark.parametrize("scales", [[1, 1, 2, 2], [1, 1, 0.5, 0.5]])
def test_bilinear(roundtrip, ctm, scales):
    m = resize_model((1, 3, 8, 6), scales=scales, mode="linear", coordinate_transformation_mode=ctm)
    r = roundtrip(m)
    assert r.ops.get("RESIZE_BILINEAR") == 1


def test_bilinear_sizes_after_conv_no_extra_transpose(roundtrip):
    m = resize_model((1, 3, 5, 5), sizes=[1, 4, 10, 10], mode="linear")
    m.graph.node.insert(0, helper.make_node("Conv", ["img", "w"], ["x"]))
    m.graph.initializer.append(numpy_helper.from_array(rng.standard_normal((4, 3, 1, 1)).astype(np.float32), "w"))
    m.graph.input[0].name = "img"
    r = roundtrip(m)
    assert r.ops == {"TRANSPOSE": 2, "CONV_2D": 1, "RESIZE_BILINEAR": 1}


def test_resize_opset10_and_upsample(roundtrip):
    scales = numpy_helper.from_array(np.asarray([1, 1, 2, 2], np.float32), "s")
    for op, opset in (("Resize", 10), ("Upsample", 9)):
        m = make_model([helper.make_node(op, ["x", "s"], ["y"], mode="nearest")],
                       [helper.make_tensor_value_info("x", TP.FLOAT, [1, 2, 3, 4])],
                       [helper.make_tensor_value_info("y", TP.FLOAT, None)], [scales], opset=opset)
        r = exact(roundtrip, m)
        assert r.ops == {"TRANSPOSE": 2, "RESIZE_NEAREST_NEIGHBOR": 1}
    m = make_model([helper.make_node("Upsample", ["x", "s"], ["y"], mode="linear")],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 2, 3, 4])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], [scales], opset=9)
    assert roundtrip(m).ops.get("RESIZE_BILINEAR") == 1


@pytest.mark.parametrize("attrs,why", [
    ({"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"}, "tf_crop_and_resize"),
    ({"mode": "cubic", "coordinate_transformation_mode": "tf_crop_and_resize"}, "tf_crop_and_resize"),
])
def test_unsupported_resize_names_the_reason(tmp_path, attrs, why):
    import edgekit

    with pytest.raises(UnsupportedOpError, match=why):
        edgekit.convert(resize_model((1, 1, 4, 4), scales=[1, 1, 2, 2], **attrs), tmp_path / "m.tflite")
    assert not (tmp_path / "m.tflite").exists()


def test_nhwc_input_layout_needs_no_transpose(roundtrip):
    """With --input-layout nhwc the input is already what RESIZE_* wants: only the output TRANSPOSE."""
    m = resize_model((1, 3, 4, 5), scales=[1, 1, 2, 2], mode="linear")
    r = roundtrip(m, input_layout="nhwc")
    assert r.ops == {"RESIZE_BILINEAR": 1, "TRANSPOSE": 1}
