"""Graph preparation: shape chains fold to constants, Identity/Dropout vanish, BN folds."""
import numpy as np
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from edgekit.convert.graph import from_onnx
from edgekit.convert.prepare import prepare

from .conftest import make_model

rng = np.random.default_rng(0)


def shape_chain_model():
    """x -> Shape -> Gather(0) -> Unsqueeze -> Concat([-1]) -> Reshape(x): the torch flatten idiom,
    plus a ConstantOfShape-made bias and an Identity and a Dropout in between."""
    i64 = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)  # noqa: E731
    nodes = [
        helper.make_node("Identity", ["x"], ["xi"]),
        helper.make_node("Shape", ["xi"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes0"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["xi", "target"], ["flat"]),
        helper.make_node("Dropout", ["flat"], ["d"]),
        helper.make_node("ConstantOfShape", ["bias_shape"], ["bias"],
                         value=numpy_helper.from_array(np.array([0.25], np.float32))),
        helper.make_node("Add", ["d", "bias"], ["y"]),
    ]
    inits = [i64("zero", 0), i64("axes0", [0]), i64("minus1", [-1]), i64("bias_shape", [48])]
    return make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [2, 3, 4, 4])],
                      [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)


def test_shape_chain_folds_to_constants_and_passthroughs_vanish():
    graph = from_onnx(shape_chain_model())
    stats = prepare(graph)
    assert [n.op_type for n in graph.nodes] == ["Reshape", "Add"]
    assert stats["passthrough"] == 2 and stats["folded"] == 5
    assert graph.consts[graph.nodes[0].inputs[1]].tolist() == [2, -1]


def test_shape_chain_model_converts(roundtrip):
    assert roundtrip(shape_chain_model()).ops == {"RESHAPE": 1, "ADD": 1}


def test_batchnorm_after_conv_transpose_folds(roundtrip):
    bn = [numpy_helper.from_array(v.astype(np.float32), n) for v, n in (
        (rng.random(4) + 0.5, "g"), (rng.standard_normal(4), "be"), (rng.standard_normal(4), "mu"), (rng.random(4) + 0.5, "var"))]
    w = numpy_helper.from_array(rng.standard_normal((3, 4, 3, 3)).astype(np.float32), "w")
    m = make_model([helper.make_node("ConvTranspose", ["x", "w"], ["c"], strides=[2, 2]),
                    helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["y"])],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 4, 4])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], [w] + bn)
    r = roundtrip(m)
    assert "MUL" not in r.ops and r.ops["TRANSPOSE_CONV"] == 1


def test_batchnorm_not_folded_when_conv_output_is_shared(roundtrip):
    """The conv output also feeds the graph output: folding would change it, so BN stays (MUL+ADD)."""
    bn = [numpy_helper.from_array(v.astype(np.float32), n) for v, n in (
        (rng.random(4) + 0.5, "g"), (rng.standard_normal(4), "be"), (rng.standard_normal(4), "mu"), (rng.random(4) + 0.5, "var"))]
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 1, 1)).astype(np.float32), "w")
    m = make_model([helper.make_node("Conv", ["x", "w"], ["c"]),
                    helper.make_node("BatchNormalization", ["c", "g", "be", "mu", "var"], ["y"])],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 4, 4])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None), helper.make_tensor_value_info("c", TP.FLOAT, None)],
                   [w] + bn)
    r = roundtrip(m)
    assert r.ops["MUL"] == 1 and r.ops["ADD"] == 1


def test_torch_style_hard_swish_becomes_one_op(roundtrip):
    """Mul(x, HardSigmoid(x, 1/6, 0.5)) (torch's export of nn.Hardswish before opset 14)."""
    m = make_model([helper.make_node("HardSigmoid", ["x"], ["h"], alpha=1 / 6, beta=0.5),
                    helper.make_node("Mul", ["x", "h"], ["y"])],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, 4, 4])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)])
    assert roundtrip(m, inputs={"x": np.linspace(-5, 5, 48, dtype=np.float32).reshape(1, 3, 4, 4)}).ops == {"HARD_SWISH": 1}


def test_tensor_and_empty_list_attributes_survive_shape_inference():
    """Typed attributes go back to onnx's shape inference intact: a TENSOR value (ConstantOfShape's
    int64 fill -> int64 output) and an empty INTS list (no inferable type: dropped, not a crash)."""
    from edgekit.convert.graph import infer_shapes

    m = make_model([helper.make_node("Shape", ["x"], ["s"]),
                    helper.make_node("ConstantOfShape", ["s"], ["c"], value=numpy_helper.from_array(np.array([7], np.int64))),
                    helper.make_node("Relu", ["x"], ["y"])],
                   [helper.make_tensor_value_info("x", TP.FLOAT, [1, 2, 4, 4])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None), helper.make_tensor_value_info("c", TP.INT64, None)])
    graph = from_onnx(m)
    graph.nodes[2].attrs["unused_list"] = ()
    infer_shapes(graph)
    assert graph.shapes["c"] == (1, 2, 4, 4) and graph.dtypes["c"] == np.int64
