import argparse
import json

import pytest

from edgekit.data import (METADATA_KEY, Color, Layout, PreprocessSpec, add_preprocess_args, imagenet, read_spec,
                          spec_for_input, spec_from_args, write_spec)
from edgekit.errors import InputError


def _parse(argv):
    p = argparse.ArgumentParser()
    add_preprocess_args(p)
    return p.parse_args(argv)


def test_json_round_trip_keeps_every_field():
    spec = PreprocessSpec(color=Color.GRAY, size=(10, 12), resize_shorter=14, center_crop=False, scale=False,
                          mean=(0.5,), std=(0.25,), layout=Layout.NHWC, dtype="float16")
    assert PreprocessSpec.from_json(spec.to_json()) == spec


@pytest.mark.parametrize("shape,color,layout,size", [
    ((1, 3, 32, 48), Color.RGB, Layout.NCHW, (32, 48)),
    ((1, 1, 28, 28), Color.GRAY, Layout.NCHW, (28, 28)),
    ((1, 20, 30, 3), Color.RGB, Layout.NHWC, (20, 30)),
    ((20, 30, 1), Color.GRAY, Layout.NHWC, (20, 30)),
])
def test_defaults_follow_the_input_shape(shape, color, layout, size):
    spec = spec_for_input(shape)
    assert (spec.color, spec.layout, spec.size, spec.scale) == (color, layout, size, True)


def test_non_image_input_has_no_spec():
    assert spec_for_input((1, 128)) is None
    assert spec_for_input((1, 80, 100, 7)) is None


def test_bad_spec_values_are_one_line_errors():
    with pytest.raises(InputError, match="std must not contain 0"):
        PreprocessSpec(std=(0.0,))
    with pytest.raises(InputError, match="mean/std need 1 or 3"):
        PreprocessSpec(mean=(0.1, 0.2))
    with pytest.raises(InputError, match="unknown preprocessing key 'colour'"):
        PreprocessSpec.from_dict({"colour": "rgb"})


def test_precedence_flags_over_file_over_stored_over_shape(tmp_path):
    import onnx
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 8, 8])])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    stored = PreprocessSpec(mean=(0.1,), std=(0.2,), resize_shorter=9, size=(8, 8))
    write_spec(model, stored)
    write_spec(model, stored)  # replacing, not duplicating
    assert [p.key for p in model.metadata_props].count(METADATA_KEY) == 1
    path = tmp_path / "m.onnx"
    onnx.save(model, path)
    assert read_spec(path) == stored

    assert spec_from_args(_parse([]), (1, 3, 8, 8), path) == stored
    cfg = tmp_path / "pp.toml"
    cfg.write_text('mean = [0.3, 0.3, 0.3]\nlayout = "nhwc"\n')
    got = spec_from_args(_parse(["--preprocess", str(cfg), "--layout", "nchw", "--std", "0.5"]), (1, 3, 8, 8), path)
    assert got.mean == (0.3, 0.3, 0.3)      # from the file, over the stored spec
    assert got.layout is Layout.NCHW        # the flag, over the file
    assert got.std == (0.5,) and got.resize_shorter == 9  # flag; stored
    assert got.size == (8, 8)               # the model's fixed size


def test_imagenet_preset_takes_the_model_size(tmp_path):
    got = spec_from_args(_parse(["--preprocess", "imagenet"]), (1, 3, 160, 160))
    assert got.size == (160, 160) and got.mean == imagenet.mean and got.resize_shorter == 256


def test_json_preprocess_file_and_bad_file(tmp_path):
    cfg = tmp_path / "pp.json"
    cfg.write_text(json.dumps({"color": "gray", "resize": 40}))
    got = spec_from_args(_parse(["--preprocess", str(cfg)]), (1, 1, 32, 32))
    assert got.color is Color.GRAY and got.resize_shorter == 40
    with pytest.raises(InputError, match="not found"):
        spec_from_args(_parse(["--preprocess", str(tmp_path / "nope.json")]), (1, 3, 8, 8))
    with pytest.raises(InputError, match="--mean"):
        spec_from_args(_parse(["--mean", "a,b"]), (1, 3, 8, 8))
