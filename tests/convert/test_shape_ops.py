"""Shape and data-movement lowerings: Transpose, Concat, Split, Slice, Pad, Squeeze, Unsqueeze, Gather,
Cast, Expand. Each runs in onnxruntime and LiteRT (``roundtrip``; default tolerance: these ops move
data, so results are bit-exact in practice). Most graphs are tested twice: on a plain input (ONNX
layout) and after a 1x1 Conv (value carried NHWC), where the lowering must remap its axes instead
of adding TRANSPOSEs -- the op counts check that."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

rng = np.random.default_rng(0)
C = 4


def const(name, value, dtype=np.int64):
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def model(nodes, inits=(), shape=(1, C, 6, 8), after_conv=False, opset=13, out="y", in_type=TP.FLOAT, outs=None,
          out_type=TP.FLOAT):
    """``nodes`` read "x"; with after_conv, "x" is the output of a 1x1 Conv (carried NHWC)."""
    inits = list(inits)
    if after_conv:
        nodes = [helper.make_node("Conv", ["image", "cw"], ["x"])] + list(nodes)
        inits.append(numpy_helper.from_array(rng.standard_normal((C, shape[1], 1, 1)).astype(np.float32), "cw"))
        shape = (shape[0], shape[1], *shape[2:])
    name = "image" if after_conv else "x"
    return make_model(nodes, [helper.make_tensor_value_info(name, in_type, list(shape))],
                      [helper.make_tensor_value_info(o, out_type, None) for o in (outs or [out])], inits, opset=opset)


def transposes(r):
    return r.ops.get("TRANSPOSE", 0)


@pytest.mark.parametrize("after_conv", [False, True])
def test_transpose_is_a_relabeling(roundtrip, after_conv):
    m = model([helper.make_node("Transpose", ["x"], ["t"], perm=[0, 2, 3, 1]), helper.make_node("Relu", ["t"], ["y"])],
              after_conv=after_conv)
    r = roundtrip(m)
    # zero ops for the Transpose itself: without a conv the one TRANSPOSE is the output's; after a conv
    # (value carried NHWC) the NHWC result IS the conv output, so the one TRANSPOSE is the input's and
    # the Relu fuses into the conv
    assert r.ops == ({"TRANSPOSE": 1, "CONV_2D": 1} if after_conv else {"TRANSPOSE": 1, "RELU": 1})


def test_transpose_default_perm_reverses(roundtrip):
    r = roundtrip(model([helper.make_node("Transpose", ["x"], ["y"])], shape=(2, 3, 4)))
    assert r.ops == {"TRANSPOSE": 1}


@pytest.mark.parametrize("after_conv", [False, True])
def test_concat_channels_keeps_layout(roundtrip, after_conv):
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Concat", ["x", "r", "k"], ["y"], axis=1)]
    k = numpy_helper.from_array(rng.standard_normal((1, 2, 6, 8)).astype(np.float32), "k")
    r = roundtrip(model(nodes, [k], after_conv=after_conv))
    assert r.ops["CONCATENATION"] == 1
    assert transposes(r) == (2 if after_conv else 0)   # input + output only


@pytest.mark.parametrize("opset,after_conv", [(11, False), (13, False), (13, True), (18, False)])
def test_split(roundtrip, opset, after_conv):
    if opset == 11:
        node = helper.make_node("Split", ["x"], ["a", "b"], axis=1, split=[1, 3])
        inits = []
    elif opset == 18:
        node = helper.make_node("Split", ["x"], ["a", "b", "c"], axis=-1, num_outputs=3)   # 8 -> 3, 3, 2
        inits = []
    else:
        node = helper.make_node("Split", ["x", "s"], ["a", "b"], axis=1)
        inits = [const("s", [2, 2])]
    outs = [o for o in node.output]
    r = roundtrip(model([node], inits, after_conv=after_conv, opset=opset, outs=outs))
    assert r.ops.get("SPLIT", 0) + r.ops.get("SPLIT_V", 0) == 1


@pytest.mark.parametrize("after_conv", [False, True])
@pytest.mark.parametrize("starts,ends,axes,steps", [
    ([1], [3], [1], None),                      # plain channel slice (ShuffleNet)
    ([0, -3], [1, 100], [2, 3], None),           # negative start, INT_MAX-like end
    ([-1], [-9], [3], [-2]),                     # negative step running to the start
    ([1, 0], [6, 8], [2, 3], [2, 3]),            # strides
])
def test_slice(roundtrip, after_conv, starts, ends, axes, steps):
    names = ["x", "st", "en", "ax"] + (["sp"] if steps else [])
    inits = [const("st", starts), const("en", ends), const("ax", axes)] + ([const("sp", steps)] if steps else [])
    r = roundtrip(model([helper.make_node("Slice", names, ["y"])], inits, after_conv=after_conv))
    assert r.ops.get("SLICE", 0) + r.ops.get("STRIDED_SLICE", 0) == 1
    assert transposes(r) == (2 if after_conv else 0)


def test_slice_opset9_attributes(roundtrip):
    r = roundtrip(model([helper.make_node("Slice", ["x"], ["y"], starts=[1, 2], ends=[3, -1], axes=[1, 3])], opset=9))
    assert r.ops == {"SLICE": 1}


@pytest.mark.parametrize("mode,value", [("constant", 0.0), ("constant", 1.5), ("reflect", 0.0), ("edge", 0.0)])
@pytest.mark.parametrize("after_conv", [False, True])
def test_pad(roundtrip, mode, value, after_conv):
    inits = [const("p", [0, 0, 1, 2, 0, 1, 2, 1]), numpy_helper.from_array(np.array(value, np.float32), "v")]
    r = roundtrip(model([helper.make_node("Pad", ["x", "p", "v"], ["y"], mode=mode)], inits, after_conv=after_conv))
    expected = {"constant": "PADV2" if value else "PAD", "reflect": "MIRROR_PAD", "edge": "GATHER"}[mode]
    assert expected in r.ops
    assert transposes(r) == (2 if after_conv else 0)


def test_pad_opset2_attribute(roundtrip):
    r = roundtrip(model([helper.make_node("Pad", ["x"], ["y"], pads=[0, 1, 0, 0, 0, 2, 0, 0], value=-1.0)], opset=2))
    assert r.ops == {"PADV2": 1}


@pytest.mark.parametrize("opset", [11, 13])
def test_squeeze_unsqueeze_after_global_pool(roundtrip, opset):
    """GlobalAveragePool (NHWC) -> Squeeze -> Unsqueeze: only reshapes, no TRANSPOSE anywhere but the input."""
    if opset == 11:
        sq = helper.make_node("Squeeze", ["g"], ["s"], axes=[2, 3])
        un = helper.make_node("Unsqueeze", ["s"], ["y"], axes=[0])
        inits = []
    else:
        sq = helper.make_node("Squeeze", ["g", "a"], ["s"])
        un = helper.make_node("Unsqueeze", ["s", "b"], ["y"])
        inits = [const("a", [-1, -2]), const("b", [0])]
    r = roundtrip(model([helper.make_node("GlobalAveragePool", ["x"], ["g"]), sq, un], inits, after_conv=True,
                        opset=opset))
    assert transposes(r) == 1


def test_squeeze_without_axes(roundtrip):
    r = roundtrip(model([helper.make_node("Squeeze", ["x"], ["y"])], shape=(1, 3, 1, 5)))
    assert r.ops == {"RESHAPE": 1}


@pytest.mark.parametrize("after_conv", [False, True])
def test_gather_constant_index(roundtrip, after_conv):
    """x[:, :, 2] and x[..., [0, 5, -1]]: scalar index drops the axis, vector index keeps it."""
    nodes = [helper.make_node("Gather", ["x", "i"], ["y"], axis=2),
             helper.make_node("Gather", ["x", "j"], ["z"], axis=3)]
    r = roundtrip(model(nodes, [const("i", 2), const("j", [0, 5, -1])], after_conv=after_conv, outs=["y", "z"]))
    assert r.ops["GATHER"] == 2


def test_gather_embedding_runtime_ids(roundtrip):
    table = numpy_helper.from_array(rng.standard_normal((50, 16)).astype(np.float32), "table")
    m = make_model([helper.make_node("Gather", ["table", "ids"], ["y"])],
                   [helper.make_tensor_value_info("ids", TP.INT64, [1, 7])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], [table])
    ids = {"ids": rng.integers(0, 50, (1, 7)).astype(np.int64)}
    r = roundtrip(m, ids)
    assert r.ops == {"GATHER": 1}


@pytest.mark.parametrize("src,dst", [(TP.FLOAT, TP.INT32), (TP.INT64, TP.FLOAT), (TP.FLOAT, TP.BOOL),
                                     (TP.INT32, TP.INT64), (TP.FLOAT, TP.FLOAT)])
def test_cast(roundtrip, src, dst):
    m = make_model([helper.make_node("Cast", ["x"], ["y"], to=dst)], [helper.make_tensor_value_info("x", src, [2, 5])],
                   [helper.make_tensor_value_info("y", dst, None)])
    np_src = helper.tensor_dtype_to_np_dtype(src)
    x = (rng.standard_normal((2, 5)) * 4).astype(np_src)   # float -> int truncates toward zero in both
    r = roundtrip(m, {"x": x})
    # a cast to the same type is no op (the RESHAPE is the copy an output aliasing the input gets)
    assert r.ops == ({"RESHAPE": 1} if src == dst else {"CAST": 1})


@pytest.mark.parametrize("shape,target", [((3, 1), (2, 3, 4)), ((1, C, 1, 1), (1, C, 6, 8))])
def test_expand(roundtrip, shape, target):
    m = make_model([helper.make_node("Expand", ["x", "s"], ["y"])],
                   [helper.make_tensor_value_info("x", TP.FLOAT, shape)],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], [const("s", target)])
    r = roundtrip(m)
    assert r.ops == {"BROADCAST_TO": 1}


@pytest.mark.parametrize("after_conv", [False, True])
def test_tile(roundtrip, after_conv):
    m = model([helper.make_node("Tile", ["x", "r"], ["y"])], [const("r", [1, 2, 1, 3])], after_conv=after_conv)
    r = roundtrip(m)
    assert r.ops["TILE"] == 1 and transposes(r) == (2 if after_conv else 0)


def test_channel_shuffle_pattern(roundtrip):
    """ShuffleNet's Reshape -> Transpose -> Reshape after NHWC convs, then a channel Slice + Concat."""
    nodes = [helper.make_node("Reshape", ["x", "s5"], ["r5"]),
             helper.make_node("Transpose", ["r5"], ["t5"], perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", ["t5", "s4"], ["sh"]),
             helper.make_node("Slice", ["sh", "st", "en", "ax"], ["half"]),
             helper.make_node("Relu", ["half"], ["rh"]),
             helper.make_node("Concat", ["half", "rh"], ["y"], axis=1)]
    inits = [const("s5", [1, 2, 2, 6, 8]), const("s4", [1, 4, 6, 8]), const("st", [0]), const("en", [2]),
             const("ax", [1])]
    r = roundtrip(model(nodes, inits, after_conv=True))
    assert transposes(r) <= 3   # input, the shuffle itself, output


def test_shape_of_value_whose_shape_needs_folding_first(roundtrip):
    """Pad whose pads come from a ConstantOfShape chain (torch's F.pad export): its output shape is only
    known after the first folding round, then Shape -> Gather -> Concat -> Reshape must fold too."""
    one = numpy_helper.from_array(np.array([1], np.int64))
    nodes = [helper.make_node("ConstantOfShape", ["n8"], ["pads"], value=one),
             helper.make_node("Pad", ["x", "pads"], ["p"]),
             helper.make_node("Shape", ["p"], ["s"]),
             helper.make_node("Gather", ["s", "zero"], ["s0"], axis=0),
             helper.make_node("Unsqueeze", ["s0", "ax0"], ["s0v"]),
             helper.make_node("Concat", ["s0v", "minus1"], ["target"], axis=0),
             helper.make_node("Reshape", ["p", "target"], ["y"])]
    inits = [const("n8", [8]), const("zero", 0), const("ax0", [0]), const("minus1", [-1])]
    r = roundtrip(model(nodes, inits, shape=(1, 2, 3, 4)))
    assert r.onnx["y"].shape == (3, 4 * 5 * 6) and r.ops == {"PAD": 1, "RESHAPE": 1}
