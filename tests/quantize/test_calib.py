"""edgekit's MinMax calibration must give exactly the quantization onnxruntime's own calibrator gives."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from edgekit.data import open_source
from edgekit.quantize import Method
from edgekit.quantize.static import DatasetReader, preprocess, quantize_static

from .conftest import conv_classifier


def residual_model(path):
    """Conv -> Clip(0,6) -> Conv (linear) -> Add(residual) -> Relu -> GlobalAveragePool -> Gemm: every probe kind."""
    rng = np.random.default_rng(3)
    t = lambda a, n: numpy_helper.from_array(a.astype(np.float32), n)  # noqa: E731
    inits = [t(rng.normal(0, .5, (4, 4, 3, 3)), "w1"), t(rng.normal(0, .1, (4,)), "b1"),
             t(rng.normal(0, .5, (4, 4, 1, 1)), "w2"), t(rng.normal(0, .1, (4,)), "b2"),
             t(np.array(0.0), "lo"), t(np.array(6.0), "hi"), t(rng.normal(0, .5, (3, 4)), "wf"), t(np.zeros(3), "bf")]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="c1"),
             helper.make_node("Clip", ["c1", "lo", "hi"], ["a1"], name="clip"),
             helper.make_node("Conv", ["a1", "w2", "b2"], ["c2"], name="c2"),
             helper.make_node("Add", ["c2", "x"], ["s"], name="add"),
             helper.make_node("Relu", ["s"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
             helper.make_node("Flatten", ["p"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "wf", "bf"], ["y"], transB=1, name="fc")]
    g = helper.make_graph(nodes, "res", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    return path


def silu_model(path):
    """Conv -> x * Sigmoid(x) (SiLU) -> Conv -> Tanh -> GlobalAveragePool: outputs whose ranges come from inputs."""
    rng = np.random.default_rng(4)
    t = lambda a, n: numpy_helper.from_array(a.astype(np.float32), n)  # noqa: E731
    inits = [t(rng.normal(0, .8, (4, 4, 3, 3)), "w1"), t(rng.normal(0, .1, (4,)), "b1"),
             t(rng.normal(0, .8, (4, 4, 1, 1)), "w2"), t(rng.normal(0, .1, (4,)), "b2")]
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="c1"),
             helper.make_node("Sigmoid", ["c1"], ["s1"], name="sig"),
             helper.make_node("Mul", ["c1", "s1"], ["m1"], name="silu"),
             helper.make_node("Conv", ["m1", "w2", "b2"], ["c2"], name="c2"),
             helper.make_node("Tanh", ["c2"], ["t2"], name="tanh"),
             helper.make_node("GlobalAveragePool", ["t2"], ["y"], name="gap")]
    g = helper.make_graph(nodes, "silu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 1, 1])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    return path


def shuffle_model(path):
    """Two Conv branches -> Concat -> channel shuffle (Reshape -> Transpose -> Reshape) -> Conv: outputs that
    only rearrange values."""
    rng = np.random.default_rng(6)
    t = lambda a, n: numpy_helper.from_array(a, n)  # noqa: E731
    inits = [t(rng.normal(0, .5, (4, 4, 3, 3)).astype(np.float32), "wa"), t(rng.normal(0, .5, (4, 4, 1, 1)).astype(
        np.float32), "wb"), t(rng.normal(0, .5, (4, 8, 1, 1)).astype(np.float32), "wc"),
        t(np.array([1, 2, 4, 6, 6], np.int64), "s5"), t(np.array([1, 8, 6, 6], np.int64), "s4"),
        t(np.full(4, 20, np.float32), "bb")]  # b sits above a: Concat's range is neither branch's alone
    nodes = [helper.make_node("Conv", ["x", "wa"], ["a"], pads=[1, 1, 1, 1], name="ca"),
             helper.make_node("Conv", ["x", "wb", "bb"], ["b"], name="cb"),
             helper.make_node("Concat", ["a", "b"], ["cat"], axis=1, name="cat"),
             helper.make_node("Reshape", ["cat", "s5"], ["r5"], name="r5"),
             helper.make_node("Transpose", ["r5"], ["tr"], perm=[0, 2, 1, 3, 4], name="tr"),
             helper.make_node("Reshape", ["tr", "s4"], ["r4"], name="r4"),
             helper.make_node("Conv", ["r4", "wc"], ["y"], name="cc")]
    g = helper.make_graph(nodes, "shuffle", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 6, 6])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 6, 6])], inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    return path


def _qparams(path):
    m = onnx.load(str(path))
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    return {n.input[0]: (float(inits[n.input[1]]), int(inits[n.input[2]])) for n in m.graph.node
            if n.op_type == "QuantizeLinear"}


def _ort_reader(data):
    """onnxruntime's own CalibrationDataReader over the rows of ``data`` (input "x"), one sample per call."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(data[i:i + 1] for i in range(len(data)))

        def get_next(self):
            x = next(self.it, None)
            return None if x is None else {"x": x}

    return Reader()


@pytest.mark.parametrize("build,shape", [(residual_model, (20, 4, 6, 6)), (conv_classifier, (20, 3, 8, 8)),
                                         (silu_model, (20, 4, 6, 6)), (shuffle_model, (20, 4, 6, 6))])
@pytest.mark.parametrize("act", ["uint8", "int8"])
def test_minmax_ranges_match_onnxruntime_calibrator(tmp_path, build, shape, act):
    from onnxruntime.quantization import QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    src = build(tmp_path / "m.onnx")
    pre = tmp_path / "pre.onnx"
    preprocess(src, pre)
    data = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    np.save(tmp_path / "c.npy", data)
    ours = tmp_path / "ours.onnx"
    quantize_static(pre, ours, DatasetReader(open_source(tmp_path / "c.npy", None, "x")), tmp_path / "r.json",
                    activations=act, weights="int8", fmt="qdq", per_channel=True, method=Method.MINMAX)

    theirs = tmp_path / "theirs.onnx"
    qt = QuantType.QUInt8 if act == "uint8" else QuantType.QInt8
    ort_quantize_static(str(pre), str(theirs), _ort_reader(data), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=qt, weight_type=QuantType.QInt8)
    assert not list(tmp_path.glob("*.probes.onnx"))  # the probed graph is deleted once loaded
    a, b = _qparams(ours), _qparams(theirs)
    assert a.keys() == b.keys() and len(a) >= 4
    for k in a:  # same float32 min/max in, same arithmetic out: equal to float32 rounding
        assert a[k][0] == pytest.approx(b[k][0], rel=1e-6) and a[k][1] == b[k][1], k


@pytest.mark.parametrize("method,rel", [
    # percentile reads one tail of the merged histogram: re-binning moves it by under a bin (~0.05 %)
    ("percentile", 1e-3),
    # entropy searches thresholds over the bins; merging chunk histograms re-bins them, which can move the
    # chosen threshold by a few bins out of the 128 it starts from (measured 6 % on one tensor here)
    ("entropy", 0.15)])
def test_histogram_methods_fed_in_chunks_stay_close_to_one_pass(tmp_path, method, rel, capsys):
    """Entropy/percentile are fed to onnxruntime's HistogramCalibrater in CHUNK-sized calls (flat memory);
    the scales must stay close to onnxruntime's single collect_data pass over the whole set."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType
    from onnxruntime.quantization import quantize_static as ort_quantize_static

    from edgekit.quantize.calib import CHUNK

    src = conv_classifier(tmp_path / "m.onnx")
    pre = tmp_path / "pre.onnx"
    preprocess(src, pre)
    data = np.random.default_rng(0).normal(size=(3 * CHUNK, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "c.npy", data)
    ours = tmp_path / "ours.onnx"
    quantize_static(pre, ours, DatasetReader(open_source(tmp_path / "c.npy", None, "x")), tmp_path / "r.json",
                    activations="uint8", weights="int8", fmt="qdq", per_channel=True, method=Method(method))
    assert capsys.readouterr().out == ""  # onnxruntime's print()ed progress stays off edgekit's stdout

    theirs = tmp_path / "theirs.onnx"
    ort_quantize_static(str(pre), str(theirs), _ort_reader(data), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.Entropy if method == "entropy"
                        else CalibrationMethod.Percentile)
    a, b = _qparams(ours), _qparams(theirs)
    assert a.keys() == b.keys() and len(a) >= 4
    for k in a:
        assert a[k][0] == pytest.approx(b[k][0], rel=rel), k


def conv_chain(path, depth=6, channels=16):
    """x -> (Conv 3x3 -> Clip(0,6)) x depth -> GlobalAveragePool: 16 channels, so onnxruntime runs it in NCHWc."""
    rng = np.random.default_rng(5)
    inits = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in (("lo", 0.0), ("hi", 6.0))]
    nodes, x = [], "x"
    for i in range(depth):
        inits += [numpy_helper.from_array(rng.normal(0, .2, (channels, channels, 3, 3)).astype(np.float32), f"w{i}"),
                  numpy_helper.from_array(rng.normal(0, .1, (channels,)).astype(np.float32), f"b{i}")]
        nodes += [helper.make_node("Conv", [x, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1], name=f"conv{i}"),
                  helper.make_node("Clip", [f"c{i}", "lo", "hi"], [f"a{i}"], name=f"clip{i}")]
        x = f"a{i}"
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["y"], name="gap"))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, channels, 16, 16])
    g = helper.make_graph(nodes, "chain", [x], [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, channels, 1, 1])],
                          inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    return path


def test_each_probe_runs_right_after_its_tensor_is_made(tmp_path):
    """The probes are added so that onnxruntime runs each one next to its producer (calib._augment's comment),
    not all after the network, which keeps every activation alive and re-reads it cold. This reads
    onnxruntime's real execution order from its profiler: each Conv's output probe must run before the next Conv."""
    import json

    import onnxruntime as ort

    from edgekit.quantize.calib import RANGES, _augment

    pre = tmp_path / "pre.onnx"
    preprocess(conv_chain(tmp_path / "m.onnx"), pre)
    model, probes, _ = _augment(pre)
    assert {p[0] for p in probes} >= {f"a{i}" for i in range(6)}
    opts = ort.SessionOptions()
    opts.enable_profiling, opts.profile_file_prefix = True, str(tmp_path / "prof")
    onnx.save(model, str(tmp_path / "probes.onnx"))  # beside pre.onnx, whose side file holds the weights
    sess = ort.InferenceSession(str(tmp_path / "probes.onnx"), opts, providers=["CPUExecutionProvider"])
    sess.run([RANGES], {"x": np.ones((1, 16, 16, 16), np.float32)})
    events = json.loads(open(sess.end_profiling()).read())
    ops = [e["args"]["op_name"] for e in events if e.get("cat") == "Node" and e["name"].endswith("_kernel_time")]
    convs = [i for i, op in enumerate(ops) if op == "Conv"]
    assert len(convs) == 6, ops
    for a, b in zip(convs, convs[1:]):  # a max probe (GlobalMaxPool) between every two convolutions
        assert "GlobalMaxPool" in ops[a + 1:b], ops


def test_sigmoid_and_tanh_outputs_are_not_probed(tmp_path):
    """Their ranges follow from their inputs' (test above: same scales as onnxruntime's calibrator), so no probe
    runs on them, and onnxruntime can still fuse x * Sigmoid(x)."""
    from edgekit.quantize.calib import _augment

    pre = tmp_path / "pre.onnx"
    preprocess(silu_model(tmp_path / "m.onnx"), pre)
    _, probes, links = _augment(pre)
    probed = {p[0] for p in probes}
    assert links["s1"] == (("c1",), "Sigmoid") and links["t2"] == (("c2",), "Tanh")
    assert {"c1", "m1", "c2"} <= probed and not {"s1", "t2"} & probed


def test_rearranged_values_are_not_probed(tmp_path):
    """Concat and the shuffle's Reshape/Transpose hold exactly their inputs' values: no probe of their own."""
    from edgekit.quantize.calib import _augment

    pre = tmp_path / "pre.onnx"
    preprocess(shuffle_model(tmp_path / "m.onnx"), pre)
    _, probes, links = _augment(pre)
    assert links["cat"] == (("a", "b"), None) and links["r5"] == (("cat",), None) and links["r4"] == (("tr",), None)
    assert {"a", "b", "y"} <= {p[0] for p in probes}
    # and the linked ranges are the ranges: onnxruntime's own calibrator measures every tensor
    from onnxruntime.quantization.calibrate import CalibrationMethod, create_calibrator

    from edgekit.quantize.calib import _op_types, minmax_ranges

    data = np.random.default_rng(1).normal(size=(8, 4, 6, 6)).astype(np.float32)
    np.save(tmp_path / "c.npy", data)
    ours = minmax_ranges(pre, DatasetReader(open_source(tmp_path / "c.npy", None, "x")), tmp_path).data
    cal = create_calibrator(pre, _op_types(), augmented_model_path=str(tmp_path / "aug.onnx"),
                            calibrate_method=CalibrationMethod.MinMax)
    cal.collect_data(_ort_reader(data))
    theirs = cal.compute_data().data
    for t in links:  # 1e-6: onnxruntime's calibrator runs the graph unoptimized, other conv kernels, last bits differ
        assert [float(np.ravel(v)[0]) for v in ours[t].range_value] == \
            pytest.approx([float(np.ravel(v)[0]) for v in theirs[t].range_value], rel=1e-6), t
