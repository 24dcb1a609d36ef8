"""edgekit.load / Model.run on real onnxruntime and the real LiteRT interpreter, with tiny self-built models."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import version

import numpy as np
import pytest

import edgekit
from edgekit.errors import EdgekitWarning, InputError, ModelError
from helpers import onnx_builder, tflite_builder

BUILDERS = {"onnx": onnx_builder, "tflite": tflite_builder}
A = np.array([[1.5, -2.0, 3.0, -4.0]], np.float32)
B = np.array([[0.5, 1.0, -5.0, 2.0]], np.float32)


@pytest.fixture(params=["onnx", "tflite"])
def add_relu(request, tmp_path):
    fmt = request.param
    return fmt, edgekit.load(BUILDERS[fmt].add_relu_model(tmp_path / f"m.{fmt}"))


@pytest.fixture(params=["onnx", "tflite"])
def fc(request, tmp_path):
    fmt = request.param
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    return edgekit.load(BUILDERS[fmt].fc_model(tmp_path / f"fc.{fmt}", w, b)), w, b


def test_load_both_formats_run_dict_in_model_output_order(add_relu):
    fmt, model = add_relu
    assert model.format == fmt
    assert [i.name for i in model.inputs] == ["a", "b"]
    assert [(o.name, o.shape, o.dtype) for o in model.outputs] == [("z_relu", (1, 4), np.float32),
                                                                    ("a_sum", (1, 4), np.float32)]
    out = model.run({"b": B, "a": A})  # dict order of the caller must not matter
    assert list(out) == ["z_relu", "a_sum"]  # the model's order, not alphabetical, not the feed order
    # add/relu of float32 values that are exact in binary: results are exact
    np.testing.assert_array_equal(out["a_sum"], A + B)
    np.testing.assert_array_equal(out["z_relu"], np.maximum(A + B, 0))


def test_run_with_single_array_matches_numpy(fc):
    model, w, b = fc
    x = np.random.default_rng(2).standard_normal((1, 4)).astype(np.float32)
    (name, y), = model.run(x).items()
    assert name == "y" and y.dtype == np.float32
    # float32 dot products of 4 terms: backends may sum in another order, so allow float32 rounding only
    np.testing.assert_allclose(y, x @ w.T + b, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(model(x)["y"], y)  # __call__ is run


def test_float64_and_list_inputs_are_cast_to_the_model_dtype(fc):
    model, w, b = fc
    x = [[0.25, -1.0, 2.0, 0.5]]
    np.testing.assert_allclose(model.run(x)["y"], model.run(np.array(x, np.float32))["y"], rtol=0, atol=0)


def test_runtime_names_backend_and_version(add_relu):
    fmt, model = add_relu
    if fmt == "onnx":
        import onnxruntime

        assert model.runtime == {"name": "onnxruntime", "version": onnxruntime.__version__}
    else:  # ai_edge_litert is the first choice of the import order and is installed here
        assert model.runtime == {"name": "ai_edge_litert", "version": version("ai-edge-litert")}


def test_tflite_signature_names_are_the_io_names(tmp_path):
    model = edgekit.load(tflite_builder.add_relu_model(tmp_path / "s.tflite", signature=True))
    assert [i.name for i in model.inputs] == ["x1", "x2"]
    out = model.run({"x1": A, "x2": B})
    assert list(out) == ["out_relu", "out_sum"]
    np.testing.assert_array_equal(out["out_sum"], A + B)


def test_threads_default_to_the_targets(tmp_path):
    path = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    assert edgekit.load(path, target="raspberry-pi-4").threads == edgekit.get_target("raspberry-pi-4").threads
    assert edgekit.load(path, threads=2, target="raspberry-pi-4").threads == 2


# ----------------------------------------------------------------------------- quantized I/O
def _int8_fc(tmp_path, dtype="int8"):
    rng = np.random.default_rng(3)
    wq = rng.integers(-127, 128, (3, 4)).astype(np.int8)
    q = dict(w_scale=0.02, bias_q=np.array([10, -20, 30], np.int32), x_scale=0.05, x_zp=-3,
             y_scale=0.1, y_zp=5)
    return tflite_builder.int8_fc_model(tmp_path / "q.tflite", wq, **q), wq, q


def test_int8_float_input_is_quantized_and_output_dequantized(tmp_path):
    path, wq, q = _int8_fc(tmp_path)
    model = edgekit.load(path)
    (xi,), (yo,) = model.inputs, model.outputs
    assert (xi.dtype, xi.scale, xi.zero_point) == (np.int8, pytest.approx(0.05), -3)
    assert (yo.dtype, yo.scale, yo.zero_point) == (np.int8, pytest.approx(0.1), 5)

    x = np.array([[0.1, 0.52, -1.0, 2.03]], np.float32)  # inside int8 range for scale 0.05, zp -3
    # by hand, from the affine rule real = scale * (q - zero_point) (TFLite quantization spec)
    x_q = (np.round(x / 0.05) - 3).astype(np.int8)
    raw = model.run(x, raw=True)["y"]
    assert raw.dtype == np.int8
    # a float input must give exactly what the hand-quantized int8 input gives
    np.testing.assert_array_equal(raw, model.run(x_q, raw=True)["y"])

    x_real = 0.05 * (x_q.astype(np.float64) + 3)
    y_real = x_real @ (0.02 * wq.astype(np.float64)).T + 0.05 * 0.02 * q["bias_q"]
    y_q = np.round(y_real / 0.1) + 5
    # TFLite requantizes the int32 accumulator with a fixed-point multiplier (gemmlowp-style rounding),
    # which can land one step away from exact float rounding: tolerance = one quantization step (1 LSB)
    assert np.abs(raw.astype(np.int64) - y_q).max() <= 1
    deq = model.run(x)["y"]
    assert deq.dtype == np.float32
    np.testing.assert_allclose(deq, 0.1 * (raw.astype(np.float32) - 5), rtol=1e-6)  # exact dequantization
    # real-valued: 0.5 step from rounding + 1 step from the fixed-point multiplier
    assert np.abs(deq - y_real).max() <= 1.5 * 0.1 + 1e-6


def test_uint8_round_trip(tmp_path):
    s_in, zp_in, s_out, zp_out = 0.1, 128, 0.2, 100
    model = edgekit.load(tflite_builder.uint8_add_model(tmp_path / "u.tflite", 4, s_in, zp_in, s_out, zp_out))
    assert model.inputs[0].dtype == np.uint8 and model.inputs[0].zero_point == 128
    x = np.array([[0.13, 0.5, -1.04, 2.0]], np.float32)
    x_q = np.clip(np.round(x / s_in) + zp_in, 0, 255)
    y_q = np.round(2 * s_in * (x_q - zp_in) / s_out) + zp_out  # ADD(x, x) = 2x, requantized
    raw = model.run(x, raw=True)["y"]
    assert raw.dtype == np.uint8
    assert np.abs(raw.astype(np.int64) - y_q).max() <= 1  # one step: fixed-point requantization (see int8)
    assert np.abs(model.run(x)["y"] - 2 * x).max() <= s_in + 1.5 * s_out  # input + output rounding


def test_float_input_outside_the_int8_range_saturates(tmp_path):
    path, _, _ = _int8_fc(tmp_path)
    model = edgekit.load(path)
    big = np.array([[100.0, -100.0, 0.0, 0.0]], np.float32)  # 100 / 0.05 is far beyond int8
    np.testing.assert_array_equal(model.run(big, raw=True)["y"],
                                  model.run(np.array([[127, -128, -3, -3]], np.int8), raw=True)["y"])


def test_integer_input_outside_the_dtype_range_is_refused(tmp_path):
    path, _, _ = _int8_fc(tmp_path)
    with pytest.raises(InputError, match=r"dtype int64.*expects int8"):
        edgekit.load(path).run(np.array([[300, 0, 0, 0]]))


# ----------------------------------------------------------------------------- bad input (issue section 5)
def test_missing_file(tmp_path):
    with pytest.raises(InputError, match=r"nope\.onnx not found.*Check the path"):
        edgekit.load(tmp_path / "nope.onnx")


@pytest.mark.parametrize("name", ["notes.txt", "notes.onnx", "notes.tflite"])
def test_not_a_model_file(tmp_path, name):
    p = tmp_path / name
    p.write_text("hello, I am not a network\n" * 10)
    with pytest.raises(ModelError) as exc:
        edgekit.load(p)
    assert name in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
def test_truncated_or_corrupt_model(tmp_path, fmt, damage):
    rng = np.random.default_rng(0)
    good = BUILDERS[fmt].fc_model(tmp_path / f"good.{fmt}", rng.standard_normal((64, 64)), np.zeros(64))
    data = good.read_bytes()
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:  # keep the first 8 bytes (the TFLite identifier) so the file still looks like its format
        data = data[:8] + rng.integers(0, 256, len(data) - 8, dtype=np.uint8).tobytes()
    bad = tmp_path / f"bad.{fmt}"
    bad.write_bytes(data)
    with pytest.raises(ModelError, match=r"cannot load .*bad\.%s.*valid" % fmt) as exc:
        edgekit.load(bad)
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_dynamic_batch_runs_with_one_and_says_so(tmp_path, fmt):
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    batch = "N" if fmt == "onnx" else -1
    path = BUILDERS[fmt].fc_model(tmp_path / f"d.{fmt}", w, np.ones(3), batch=batch)
    with pytest.warns(EdgekitWarning, match=r"'x' .*dynamic dimension.*\[1, 4\]"):
        model = edgekit.load(path)
    assert model.inputs[0].shape == (1, 4) and model.inputs[0].dynamic
    x = np.ones((1, 4), np.float32)
    np.testing.assert_allclose(model.run(x)["y"], x @ w.T + 1, rtol=1e-6)
    with pytest.raises(InputError, match=r"shape \[2, 4\].*expects \[1, 4\]"):
        model.run(np.ones((2, 4), np.float32))


def test_wrong_shape_dtype_name(add_relu):
    _, model = add_relu
    with pytest.raises(InputError, match=r"'a' has shape \[4\].*expects \[1, 4\].*x\[None\]"):
        model.run({"a": A[0], "b": B})
    with pytest.raises(InputError, match=r"'a' has dtype int64.*expects float32.*astype\(np.float32\)"):
        model.run({"a": A.astype(np.int64), "b": B})
    with pytest.raises(InputError, match=r"unknown input name 'c'.*a \[1, 4\] float32, b \[1, 4\] float32"):
        model.run({"a": A, "c": B})
    with pytest.raises(InputError, match=r"missing model input\(s\) \['b'\]"):
        model.run({"a": A})
    with pytest.raises(InputError, match=r"2 inputs.*Pass a dict"):
        model.run(A)


@pytest.mark.parametrize("threads", [0, -1, 1.5, True])
def test_bad_threads(tmp_path, threads):
    path = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    with pytest.raises(InputError, match=r"threads must be a whole number from 1 to \d+.*got"):
        edgekit.load(path, threads=threads)


def test_unknown_target(tmp_path):
    from edgekit.errors import TargetError

    with pytest.raises(TargetError, match=r"unknown target 'pi-9'.*raspberry-pi-4"):
        edgekit.load(onnx_builder.add_relu_model(tmp_path / "m.onnx"), target="pi-9")


def test_directory_that_is_not_a_bundle(tmp_path):
    from edgekit.errors import EdgekitError

    (tmp_path / "empty").mkdir()
    with pytest.raises(EdgekitError) as exc:  # ModelError before bundles exist, the bundle's own error after
        edgekit.load(tmp_path / "empty")
    assert "empty" in str(exc.value) and "\n" not in str(exc.value)


# ----------------------------------------------------------------------------- import hygiene
def test_import_and_load_do_not_import_onnx_pillow_torch(tmp_path):
    """On a device only numpy and one backend exist; a fresh interpreter proves nothing else is pulled in."""
    onnx_path = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    tfl_path = tflite_builder.add_relu_model(tmp_path / "m.tflite")
    code = textwrap.dedent(f"""
        import sys, numpy as np
        import edgekit
        for p in ({str(onnx_path)!r}, {str(tfl_path)!r}):
            m = edgekit.load(p)
            m.run({{"a": np.ones((1, 4), np.float32), "b": np.ones((1, 4), np.float32)}})
        heavy = sorted(k for k in sys.modules if k.split(".")[0] in ("onnx", "PIL", "torch"))
        print("HEAVY", heavy, "ORT" if "onnxruntime" in sys.modules else "")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "HEAVY [] ORT" in out.stdout  # ORT marker: the check ran after a real load


def _open_width_relu(path, fmt):
    """y = relu(x) with x of shape [1, open]: ONNX symbolic dim "n", TFLite shape_signature -1."""
    if fmt == "onnx":
        import onnx
        from onnx import TensorProto, helper

        g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "r",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "n"])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, "n"])])
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
        return path
    g = tflite_builder.Graph()
    x, y = g.tensor("x", [1, -1]), g.tensor("y", [1, -1])
    g.op("RELU", [x], [y])
    g.inputs, g.outputs = [x], [y]
    return g.write(path)


@pytest.mark.parametrize("fmt", ["onnx", "tflite"])
def test_open_dims_past_the_batch_take_any_size(tmp_path, fmt):
    with pytest.warns(EdgekitWarning, match=r"'x' .*dynamic dimension at axes \[1\]"):
        model = edgekit.load(_open_width_relu(tmp_path / f"r.{fmt}", fmt))
    assert model.inputs[0].shape == (1, 1) and model.inputs[0].dynamic == (1,)
    for n in (4, 7, 4):  # a new size resizes the TFLite tensors; going back works too
        x = np.linspace(-1, 1, n, dtype=np.float32)[None]
        np.testing.assert_array_equal(model.run(x)["y"], np.maximum(x, 0))  # relu is exact
    with pytest.raises(InputError, match=r"shape \[2, 4\]"):  # the batch stays 1 (issue 2's rule)
        model.run(np.ones((2, 4), np.float32))
    with pytest.raises(InputError, match=r"shape \[1, 4, 1\]"):  # the rank is not open
        model.run(np.ones((1, 4, 1), np.float32))
