"""edgekit.validate: malformed ONNX models are refused in one line by load, convert, quantize and profile
before onnxruntime or the converter sees them (issue 17, item 5)."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgekit
from edgekit.errors import ModelError

HOST = None  # profile's default target: this host


def _model(nodes, inits=(), opset=13, ir=10, out_shape=(1, 4), inputs=None):
    inputs = inputs if inputs is not None else [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])]
    g = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                          list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)], ir_version=ir)


def _relu(**kw):
    return _model([helper.make_node("Relu", ["x"], ["y"])], **kw)


def _conv(**attrs):
    w = numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")
    return _model([helper.make_node("Conv", ["x", "w"], ["y"], name="c1", **attrs)], [w], out_shape=None,
                  inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 8, 8])])


def _gather_out_of_range():
    from helpers.onnx_builder import gather_out_of_range_graph

    return helper.make_model(gather_out_of_range_graph(), opset_imports=[helper.make_opsetid("", 13)], ir_version=10)


def _add_const(tensor):
    return _model([helper.make_node("Add", ["x", tensor.name], ["y"])], [tensor])


def _short_raw():
    t = numpy_helper.from_array(np.ones((1, 4), np.float32), "c")
    t.raw_data = t.raw_data[:10]  # 10 bytes for 4 float32
    return _add_const(t)


def _huge_dim():
    t = numpy_helper.from_array(np.ones((1, 4), np.float32), "c")
    t.dims[1] = 2**31 + 5
    return _add_const(t)


def _unknown_dtype():
    t = numpy_helper.from_array(np.ones((1, 4), np.float32), "c")
    t.data_type = 77
    return _add_const(t)


def _no_outputs():
    m = _relu()
    del m.graph.output[:]
    return m


def _no_nodes():
    m = _relu()
    del m.graph.node[:]
    return m


CASES = {
    "empty ModelProto": (onnx.ModelProto(), "is empty"),
    "opset 1": (_relu(opset=1), r"cannot load .*bad.onnx: Could not find an implementation for Relu\(1\)"),
    "opset 99": (_relu(opset=99), "uses opset 99"),
    "ir_version 999": (_relu(ir=999), "IR version 999"),
    "Conv group 0": (_conv(group=0), r"node 'c1' \(Conv\) has group=\[0\]"),
    "negative pads": (_conv(pads=[-1, -1, -1, -1]), "has pads="),
    "raw data shorter than dims": (_short_raw(), "holds 10 bytes of data: its dims \\[1, 4\\] need 16"),
    "dim beyond int32": (_huge_dim(), "has dimension 2147483653"),
    "unknown elem_type": (_unknown_dtype(), "element type 77"),
    "no outputs": (_no_outputs(), "has no outputs"),
    "no nodes": (_no_nodes(), "has no nodes"),
    "out-of-range Gather": (_gather_out_of_range(), "onnxruntime failed running node 'pick'"),
}


@pytest.fixture(params=sorted(CASES))
def bad(request, tmp_path):
    model, message = CASES[request.param]
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    return path, message


def _one_line(exc) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_load_refuses(bad):
    path, message = bad
    with pytest.raises(ModelError, match=message) as exc:
        edgekit.load(path)
    _one_line(exc)


def test_convert_refuses_and_writes_nothing(bad, tmp_path):
    path, message = bad
    out = tmp_path / "out.tflite"
    with pytest.raises(ModelError, match=message) as exc:
        edgekit.convert(path, out)
    _one_line(exc)
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bad.onnx"]


@pytest.mark.parametrize("case", ["ir_version 999", "Conv group 0", "out-of-range Gather", "empty ModelProto"])
def test_cli_convert_quantize_profile_one_line(case, tmp_path, capsys):
    from edgekit.cli import main

    model, message = CASES[case]
    path = tmp_path / "bad.onnx"
    path.write_bytes(model.SerializeToString())
    before = path.read_bytes()
    for argv in (["convert", str(path), "-o", str(tmp_path / "o.tflite")],
                 ["quantize", str(path), "--mode", "dynamic", "-o", str(tmp_path / "o.onnx")],
                 ["profile", str(path), "--runs", "1"]):
        assert main(argv) != 0, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "error:" in err and "Traceback" not in err, (argv, err)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.onnx"]


def test_zero_byte_file(tmp_path):
    for name in ("z.onnx", "z.tflite"):
        (tmp_path / name).write_bytes(b"")
        with pytest.raises(ModelError, match=r"is empty \(0 bytes\)"):
            edgekit.load(tmp_path / name)
        with pytest.raises(ModelError, match=r"is empty \(0 bytes\)"):
            edgekit.profile(tmp_path / name, HOST, runs=1)


def test_valid_models_pass_and_shipped_models_too(tmp_path):
    from pathlib import Path

    from edgekit.validate import check_file

    shipped = sorted((Path(__file__).resolve().parents[1] / "models").glob("*.onnx"))
    assert shipped
    for path in shipped:
        assert check_file(path, probe=False) == "onnx"
    good = tmp_path / "good.onnx"
    good.write_bytes(_relu(out_shape=None).SerializeToString())  # an output without a shape is fine
    assert check_file(good) == "onnx"


def test_external_data_outside_the_model_folder_is_refused(tmp_path):
    from edgekit.validate import check_file

    (tmp_path / "m").mkdir()
    path = tmp_path / "m" / "m.onnx"
    model = _add_const(numpy_helper.from_array(np.ones((1, 4), np.float32), "c"))
    onnx.save(model, str(path), save_as_external_data=True, location="w.bin", size_threshold=0)
    assert check_file(path, probe=False) == "onnx"
    proto = onnx.load(str(path), load_external_data=False)
    for e in proto.graph.initializer[0].external_data:
        if e.key == "location":
            e.value = "../../etc/passwd"
    path.write_bytes(proto.SerializeToString())
    with pytest.raises(ModelError, match="relative path inside the model's folder"):
        check_file(path, probe=False)


@pytest.mark.parametrize("damage", ["deep manifest", "labels not UTF-8", "mistyped models list"])
def test_malformed_bundles_are_one_line(tmp_path, damage):
    import json
    import warnings

    from helpers import tflite_builder

    model = tflite_builder.fc_model(tmp_path / "m.tflite", np.ones((4, 4)), np.zeros(4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bundle = edgekit.bundle([model], tmp_path / "b")
    if damage == "deep manifest":
        (bundle / "edgekit.json").write_text("[" * 100_000)
    elif damage == "labels not UTF-8":
        (bundle / "labels.txt").write_bytes(b"\xff\xfe cat\n")
    else:
        manifest = json.loads((bundle / "edgekit.json").read_text())
        manifest["models"] = [7]
        (bundle / "edgekit.json").write_text(json.dumps(manifest))
    opens = [lambda: edgekit.load(bundle)]
    if damage != "labels not UTF-8":  # profile measures the model file and never reads the labels
        opens.append(lambda: edgekit.profile(bundle, HOST, runs=1))
    for open_it in opens:
        with pytest.raises(edgekit.EdgekitError) as exc:
            open_it()
        _one_line(exc)


def test_converter_writer_refuses_what_tflite_cannot_hold():
    """Past validation, the writer still says in one line what a TFLite file cannot store."""
    from edgekit.convert.ir import TTensor
    from edgekit.convert.writer import _shape, tensor_type
    from edgekit.errors import ConvertError

    with pytest.raises(ConvertError, match="a tensor of dtype complex64 cannot be written to TFLite"):
        tensor_type(np.dtype(np.complex64))
    big = TTensor("t", (1, 2**31), np.float32)
    with pytest.raises(ConvertError, match=r"tensor 't' has shape \[1, 2147483648\]"):
        _shape(big)


def test_non_utf8_metadata_is_one_line(tmp_path):
    m = _relu()
    p = m.metadata_props.add()
    p.key, p.value = "edgekit.preprocess", "MARKERMARKER"
    path = tmp_path / "m.onnx"
    path.write_bytes(m.SerializeToString().replace(b"MARKERMARKER", b"\xff\xfe\xfdMARKERMA"))
    for fn in (lambda: edgekit.load(path), lambda: edgekit.convert(path, tmp_path / "o.tflite")):
        with pytest.raises(ModelError) as exc:
            fn()
        _one_line(exc)


def test_deeply_nested_target_file_is_one_target_error(tmp_path):
    from edgekit.errors import TargetError
    from edgekit.targets import get_target

    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(TargetError) as exc:
        get_target(path)
    _one_line(exc)
