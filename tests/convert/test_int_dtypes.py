"""Integer, bool and float16 operands of the elementwise, comparison, min/max, clip, pow, mod and reduction
lowerings, on tiny generated graphs, against onnxruntime (the onnx reference evaluator where onnxruntime
has no kernel for the dtype, named in the assertion): integers and bools must match EXACTLY, float16
within one float16 unit of the output range (2**-10 * max(1, range)), both kernel sets (XNNPACK and
TFLite's builtin kernels). Values include negatives, narrow-type wrap-around and truncating division."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from .conftest import make_model, run_tflite, tflite_ops

NARROW = ["int8", "uint8", "int16", "uint16"]
INTS = NARROW + ["int32", "uint32", "int64"]


def tp(dtype):
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


def values(dtype, shape=(2, 6), seed=0, nonzero=False):
    """Values spanning the type (narrow types: the whole range, so sums and products wrap)."""
    rng = np.random.default_rng(seed)
    d = np.dtype(dtype)
    if d == np.bool_:
        return rng.random(shape) < 0.5
    if d.kind == "f":
        return (rng.standard_normal(shape) * 4).astype(d)
    info = np.iinfo(d)
    lo, hi = (info.min, info.max) if d.itemsize <= 2 else (max(info.min, -1000), 1000)
    v = rng.integers(lo, hi, size=shape, endpoint=True).astype(d)
    if nonzero:
        v[v == 0] = 1
    return v


def reference(model, feeds):
    """onnxruntime, or onnx's reference evaluator where onnxruntime has no kernel for these dtypes."""
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
        return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds))), "onnxruntime"
    except Exception as exc:  # noqa: BLE001  (NOT_IMPLEMENTED: no kernel for the dtype)
        if "NOT_IMPLEMENTED" not in str(exc) and "Could not find an implementation" not in str(exc):
            raise
    from onnx.reference import ReferenceEvaluator

    ref = ReferenceEvaluator(model)
    return dict(zip([o.name for o in model.graph.output], ref.run(None, feeds))), "onnx reference"


def check(tmp_path, model, feeds, name="m"):
    import edgekit

    path = edgekit.convert(model, tmp_path / f"{name}.tflite")
    want, source = reference(model, feeds)
    for builtin in (False, True):
        got = run_tflite(path, feeds, reference=builtin)
        for key, w in want.items():
            have, w = got[key], np.asarray(w)
            where = f"{'builtin' if builtin else 'XNNPACK'} kernels vs {source}, {key}"
            assert have.dtype == w.dtype and have.shape == w.shape, (where, have.dtype, w.dtype, have.shape, w.shape)
            if w.dtype == np.float16:
                tol = 2.0 ** -10 * max(1.0, float(np.ptp(w.astype(np.float64))))
                assert np.max(np.abs(have.astype(np.float64) - w)) <= tol, where
            else:
                np.testing.assert_array_equal(have, w, err_msg=where)
    return tflite_ops(path)


def binary_model(op, dtype, out_dtype=None, shape=(2, 6), b_shape=None, opset=14, **attrs):
    b_shape = b_shape or shape
    return make_model([helper.make_node(op, ["a", "b"], ["y"], **attrs)],
                      [helper.make_tensor_value_info("a", tp(dtype), shape),
                       helper.make_tensor_value_info("b", tp(dtype), b_shape)],
                      [helper.make_tensor_value_info("y", tp(out_dtype or dtype), None)], opset=opset)


@pytest.mark.parametrize("dtype", INTS)
@pytest.mark.parametrize("op", ["Add", "Sub", "Mul"])
def test_integer_arithmetic_wraps_like_onnx(tmp_path, op, dtype):
    feeds = {"a": values(dtype, seed=1), "b": values(dtype, (1, 6), seed=2)}
    ops = check(tmp_path, binary_model(op, dtype, b_shape=(1, 6)), feeds)
    wide = dtype in NARROW or dtype == "uint32"
    assert ops.get("CAST", 0) == (3 if wide else 0)   # two operands widened, one result narrowed


@pytest.mark.parametrize("dtype", NARROW + ["int32"])
def test_integer_div_truncates_toward_zero(tmp_path, dtype):
    feeds = {"a": values(dtype, seed=3), "b": values(dtype, seed=4, nonzero=True)}
    check(tmp_path, binary_model("Div", dtype), feeds)


def test_litert_int32_div_truncates(tmp_path):
    """ONNX integer Div truncates (-7 / 2 = -3); LiteRT's int32 DIV does too, so it is used directly."""
    feeds = {"a": np.array([[-7, 7, -7, 7, -1, 0]], np.int32), "b": np.array([[2, 2, -2, -2, 3, 5]], np.int32)}
    import edgekit

    path = edgekit.convert(binary_model("Div", "int32", shape=(1, 6)), tmp_path / "d.tflite")
    assert tflite_ops(path) == {"DIV": 1}
    np.testing.assert_array_equal(run_tflite(path, feeds)["y"], [[-3, 3, 3, -3, 0, 0]])


# ONNX requires fmod=1 for floating point Mod
@pytest.mark.parametrize("dtype,fmod", [(t, f) for t in ["int8", "uint8", "int16", "int32", "int64", "uint32"]
                                        for f in (0, 1)] + [("float32", 1), ("float16", 1)])
def test_mod(tmp_path, dtype, fmod):
    feeds = {"a": values(dtype, seed=5), "b": values(dtype, seed=6, nonzero=True)}
    check(tmp_path, binary_model("Mod", dtype, fmod=fmod), feeds)


# ONNX defines only Equal for bool operands
@pytest.mark.parametrize("op,dtype", [(op, t) for op in ["Less", "Greater", "Equal", "LessOrEqual", "GreaterOrEqual"]
                                      for t in INTS + ["float16"] + (["bool"] if op == "Equal" else [])])
def test_comparisons(tmp_path, op, dtype):
    a = values(dtype, seed=7)
    b = a.copy()
    b[:, ::2] = values(dtype, seed=8)[:, ::2]     # half equal, half random
    check(tmp_path, binary_model(op, dtype, out_dtype="bool", opset=16), {"a": a, "b": b})


def test_xor(tmp_path):
    feeds = {"a": values("bool", seed=9), "b": values("bool", seed=10)}
    assert check(tmp_path, binary_model("Xor", "bool"), feeds) == {"NOT_EQUAL": 1}


@pytest.mark.parametrize("dtype", INTS + ["float16"])
@pytest.mark.parametrize("op", ["Max", "Min"])
def test_max_min_three_inputs(tmp_path, op, dtype):
    m = make_model([helper.make_node(op, ["a", "b", "c"], ["y"])],
                   [helper.make_tensor_value_info(k, tp(dtype), (2, 6)) for k in "abc"],
                   [helper.make_tensor_value_info("y", tp(dtype), None)])
    ops = check(tmp_path, m, {k: values(dtype, seed=11 + i) for i, k in enumerate("abc")})
    assert ops.get("CAST", 0) == (0 if dtype in ("int8", "uint8", "int16", "int32", "int64") else 4)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int16", "int32", "int64", "uint32", "float16"])
def test_clip_constant_bounds(tmp_path, dtype):
    lo, hi = (np.array(v, dtype) for v in ((3, 100) if np.dtype(dtype).kind == "u" else (-20, 30)))
    m = make_model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])],
                   [helper.make_tensor_value_info("x", tp(dtype), (2, 6))],
                   [helper.make_tensor_value_info("y", tp(dtype), None)],
                   [numpy_helper.from_array(lo, "lo"), numpy_helper.from_array(hi, "hi")])
    check(tmp_path, m, {"x": values(dtype, seed=14)})


@pytest.mark.parametrize("dtype", ["int32", "int64"])   # ONNX Pow's integer types
def test_integer_pow_constant_exponents(tmp_path, dtype):
    x = values(dtype, seed=15) % 50 - 25   # negative bases, odd and even exponents
    e = np.array([[0, 1, 2, 3, 5, 6]], dtype)
    m = make_model([helper.make_node("Pow", ["x", "e"], ["y"])], [helper.make_tensor_value_info("x", tp(dtype), (2, 6))],
                   [helper.make_tensor_value_info("y", tp(dtype), None)], [numpy_helper.from_array(e, "e")], opset=15)
    check(tmp_path, m, {"x": x.astype(dtype)})


def test_float_base_integer_exponent(tmp_path):
    e = np.array([0, 1, 2, 3], np.int64)
    m = make_model([helper.make_node("Pow", ["x", "e"], ["y"])],
                   [helper.make_tensor_value_info("x", tp("float16"), (2, 4))],
                   [helper.make_tensor_value_info("y", tp("float16"), None)], [numpy_helper.from_array(e, "e")], opset=15)
    check(tmp_path, m, {"x": values("float16", (2, 4), seed=16)})


# Sign of int64 has no TFLite kernel nor wider type: test_refusals
@pytest.mark.parametrize("op,dtype", [(op, t) for op in ["Neg", "Abs", "Sign"]
                                      for t in ["int8", "int16", "int32", "int64", "float16"]
                                      if (op, t) != ("Sign", "int64")])
def test_unary(tmp_path, op, dtype):
    m = make_model([helper.make_node(op, ["x"], ["y"])], [helper.make_tensor_value_info("x", tp(dtype), (2, 6))],
                   [helper.make_tensor_value_info("y", tp(dtype), None)])
    x = values(dtype, seed=17)
    if dtype == "int8":
        x[0, 0] = -128   # -(-128) and |-128| wrap to -128, as in numpy
    check(tmp_path, m, {"x": x})


# ONNX's types of each reduction (opset 18) that are not float32
REDUCE_TYPES = {"ReduceSum": ["int32", "int64", "uint32", "float16"], "ReduceProd": ["int32", "int64", "uint32"],
                "ReduceMean": ["int32", "int64", "uint32", "float16"],
                "ReduceMax": ["int8", "uint8", "int32", "int64", "uint32", "float16"],
                "ReduceMin": ["int8", "uint8", "int32", "int64", "uint32", "float16"]}


@pytest.mark.parametrize("op,dtype", [(op, t) for op, ts in REDUCE_TYPES.items() for t in ts])
def test_integer_reductions(tmp_path, op, dtype):
    m = make_model([helper.make_node(op, ["x", "axes"], ["y"], keepdims=0)],
                   [helper.make_tensor_value_info("x", tp(dtype), (2, 3, 4))],
                   [helper.make_tensor_value_info("y", tp(dtype), None)],
                   [numpy_helper.from_array(np.array([1], np.int64), "axes")], opset=18)
    x = values(dtype, (2, 3, 4), seed=18)
    if op == "ReduceProd":
        x = (x % 7).astype(dtype)
    if dtype == "float16" and op in ("ReduceSum", "ReduceMean"):
        x = np.round(x * 4).astype(dtype) / 4   # quarters: float16 sums of them are exact in any order
    check(tmp_path, m, {"x": x})


@pytest.mark.parametrize("op,opcodes", [("ReduceL1", {"ABS", "SUM"}), ("ReduceL2", {"MUL", "SUM", "SQRT"}),
                                        ("ReduceSumSquare", {"MUL", "SUM"}), ("ReduceLogSum", {"SUM", "LOG"}),
                                        ("ReduceLogSumExp", {"EXP", "SUM", "LOG"})])
def test_composite_reductions(roundtrip, op, opcodes):
    m = make_model([helper.make_node(op, ["x", "axes"], ["y"], keepdims=1)],
                   [helper.make_tensor_value_info("x", tp("float32"), (1, 3, 4, 5))],
                   [helper.make_tensor_value_info("y", tp("float32"), None)],
                   [numpy_helper.from_array(np.array([1, 3], np.int64), "axes")], opset=18)
    x = np.random.default_rng(19).random((1, 3, 4, 5)).astype(np.float32) + 0.1   # > 0: LogSum is defined
    assert set(roundtrip(m, {"x": x}).ops) == opcodes


CASTABLE = ["float32", "float16", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "bool"]


@pytest.mark.parametrize("src", CASTABLE)
def test_cast_every_pair(tmp_path, src):
    """One graph per source type casting to every other type LiteRT's CAST holds (in-range values)."""
    targets = [t for t in CASTABLE if t != src]
    m = make_model([helper.make_node("Cast", ["x"], [f"y_{t}"], to=tp(t)) for t in targets],
                   [helper.make_tensor_value_info("x", tp(src), (2, 6))],
                   [helper.make_tensor_value_info(f"y_{t}", tp(t), None) for t in targets])
    if src == "bool":
        x = values("bool", seed=20)
    elif np.dtype(src).kind == "f":
        x = np.array([[0.0, 1.5, 2.25, 100.75, 0.5, 3.0], [7.0, 0.0, 126.5, 1.0, 9.5, 60.0]], src)  # in every range
    else:
        x = np.array([[0, 1, 2, 100, 5, 3], [7, 0, 126, 1, 9, 60]], src)
    assert check(tmp_path, m, {"x": x}) == {"CAST": len(targets)}


def test_cast_bfloat16_round_trip(tmp_path):
    """float32 -> bfloat16 -> float32 (a bfloat16 tensor inside the graph; onnxruntime rounds the same)."""
    m = make_model([helper.make_node("Cast", ["x"], ["h"], to=TensorProto.BFLOAT16),
                    helper.make_node("Cast", ["h"], ["y"], to=tp("float32"))],
                   [helper.make_tensor_value_info("x", tp("float32"), (2, 6))],
                   [helper.make_tensor_value_info("y", tp("float32"), None)])
    x = values("float32", seed=21)
    check(tmp_path, m, {"x": x})


def test_castlike(tmp_path):
    like = numpy_helper.from_array(np.zeros(1, np.int16), "like")
    m = make_model([helper.make_node("CastLike", ["x", "like"], ["y"])],
                   [helper.make_tensor_value_info("x", tp("float32"), (2, 6))],
                   [helper.make_tensor_value_info("y", tp("int16"), None)], [like], opset=15)
    assert check(tmp_path, m, {"x": values("float32", seed=22)}) == {"CAST": 1}


def _sequence_input_model():
    seq = helper.make_tensor_sequence_value_info("s", tp("float32"), None)
    return make_model([helper.make_node("SequenceAt", ["s", "i"], ["y"])], [seq],
                      [helper.make_tensor_value_info("y", tp("float32"), None)],
                      [numpy_helper.from_array(np.array(0, np.int64), "i")])


def _refused_models():
    cast8 = make_model([helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT8E4M3FN)],
                       [helper.make_tensor_value_info("x", tp("float32"), (2, 3))],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT8E4M3FN, None)], opset=19)
    sign64 = make_model([helper.make_node("Sign", ["x"], ["y"])], [helper.make_tensor_value_info("x", tp("int64"), (4,))],
                        [helper.make_tensor_value_info("y", tp("int64"), None)])
    return {
        # an op in the registry with a dtype that is not: (model, words the one line must contain)
        "add_uint64": (binary_model("Add", "uint64"), ["Add", "node 'Add_0'", "opset 14", "uint64", "Cast"]),
        "div_int64": (binary_model("Div", "int64"), ["Div", "opset 14", "int64", "Cast the operands"]),
        "sign_int64": (sign64, ["Sign", "int64"]),
        "max_float64": (binary_model("Max", "float64"), ["Max", "float64"]),
        "cast_float8": (cast8, ["Cast", "node 'Cast_0'", "opset 19", "float8_e4m3fn"]),
        "sequence_input": (_sequence_input_model(), ["'s'", "sequence", "not a tensor"]),
    }


@pytest.mark.parametrize("case", sorted(_refused_models()))
def test_refusals_are_one_line_and_write_nothing(tmp_path, case):
    """Bad input through the real CLI: one line on stderr naming what to change, non-zero exit (edgekit's
    convention for every EdgekitError: 2), no output file, no traceback."""
    import subprocess
    import sys

    import onnx

    model, words = _refused_models()[case]
    src, out = tmp_path / "m.onnx", tmp_path / "out.tflite"
    onnx.save(model, str(src))
    proc = subprocess.run([sys.executable, "-m", "edgekit", "convert", str(src), "-o", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2 and proc.stdout == "", proc
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    for word in words:
        assert word in proc.stderr, (word, proc.stderr)
    assert not out.exists() and list(tmp_path.iterdir()) == [src]
