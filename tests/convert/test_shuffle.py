"""Channel shuffles (edgekit/convert/shuffle.py): the interleaving TRANSPOSE goes away where the readers'
weights can take permuted channels, and stays where they cannot. Every graph runs in onnxruntime and
LiteRT (``roundtrip``: XNNPACK and builtin kernels, default tolerance 1e-5 of the range: the rewrite
only changes the summation order inside convs)."""
import numpy as np
import pytest
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from .conftest import make_model

rng = np.random.default_rng(0)
C, G = 8, 2          # channels, shuffle groups
SHAPE = (1, C, 6, 6)


def w(name, *shape):
    return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)


def i64(name, values):
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def shuffle(x, y, c=C):
    """torchvision's channel_shuffle as exported: Reshape -> Transpose -> Reshape."""
    return ([helper.make_node("Reshape", [x, f"{y}_s5"], [f"{y}_r"]),
             helper.make_node("Transpose", [f"{y}_r"], [f"{y}_t"], perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", [f"{y}_t", f"{y}_s4"], [y])],
            [i64(f"{y}_s5", [1, G, c // G, 6, 6]), i64(f"{y}_s4", [1, c, 6, 6])])


def build(nodes, inits, outs=("y",)):
    """``nodes`` read "x", the output of a 1x1 Conv (carried NHWC like ShuffleNet's concat output)."""
    nodes = [helper.make_node("Conv", ["image", "w0"], ["x"])] + nodes
    return make_model(nodes, [helper.make_tensor_value_info("image", TP.FLOAT, list(SHAPE))],
                      [helper.make_tensor_value_info(o, TP.FLOAT, None) for o in outs], [w("w0", C, C, 1, 1), *inits])


def test_shuffle_read_by_convs_disappears(roundtrip):
    """Stage end of ShuffleNetV2: the shuffle feeds a 1x1 conv and Pad -> depthwise -> Relu -> conv."""
    sh, inits = shuffle("x", "s")
    nodes = sh + [helper.make_node("Conv", ["s", "w1"], ["a"]),
                  helper.make_node("Pad", ["s", "pads"], ["p"]),
                  helper.make_node("Conv", ["p", "wd", "bd"], ["d"], group=C, kernel_shape=[3, 3], strides=[2, 2]),
                  helper.make_node("Relu", ["d"], ["dr"]),
                  helper.make_node("Conv", ["dr", "w2"], ["b"]),
                  helper.make_node("GlobalAveragePool", ["a"], ["y1"]),
                  helper.make_node("GlobalAveragePool", ["b"], ["y2"])]
    inits += [w("w1", 5, C, 1, 1), w("wd", C, 1, 3, 3), w("bd", C), w("w2", 3, C, 1, 1),
              i64("pads", [0, 0, 1, 1, 0, 0, 1, 1])]
    r = roundtrip(build(nodes, inits, ("y1", "y2")))
    assert r.ops["TRANSPOSE"] == 3      # the input's and the two 4-D outputs': no shuffle TRANSPOSE left
    assert r.ops["DEPTHWISE_CONV_2D"] == 1


def test_shuffle_then_chunk_keeps_half_the_interleave(roundtrip):
    """Inner ShuffleNetV2 block: chunk(2) after the shuffle; one half feeds a conv (permuted weights, no
    TRANSPOSE), the other is concatenated (must keep the ONNX channel order: one TRANSPOSE of its channels)."""
    sh, inits = shuffle("x", "s")
    nodes = sh + [helper.make_node("Split", ["s", "sizes"], ["h1", "h2"], axis=1),
                  helper.make_node("Conv", ["h2", "w1"], ["c"]),
                  helper.make_node("Relu", ["c"], ["cr"]),
                  helper.make_node("Concat", ["h1", "cr"], ["y"], axis=1)]
    inits += [i64("sizes", [C // 2, C // 2]), w("w1", C // 2, C // 2, 1, 1)]
    r = roundtrip(build(nodes, inits))
    # input + output + the pass-through half's interleave; SPLIT became two SLICEs of the grouped view
    assert r.ops["TRANSPOSE"] == 3 and r.ops["SLICE"] == 2


@pytest.mark.parametrize("torch_style", [True, False])
def test_shufflenet_like_stage(roundtrip, torch_style):
    """Three blocks (chunk -> branch -> concat -> shuffle) and a conv head: only the inner blocks'
    pass-through halves keep a TRANSPOSE. ``torch_style`` chunks with Slice (static export), else Split."""
    nodes, inits = [], [w("head", 4, C, 1, 1)]
    x = "x"
    for i in range(3):
        a, b = f"a{i}", f"b{i}"
        if torch_style:
            nodes += [helper.make_node("Slice", [x, "z", "h", "one"], [a]),
                      helper.make_node("Slice", [x, "h", "c", "one"], [b])]
        else:
            nodes.append(helper.make_node("Split", [x, "sizes"], [a, b], axis=1))
        nodes += [helper.make_node("Conv", [b, f"p{i}"], [f"c{i}"]), helper.make_node("Relu", [f"c{i}"], [f"r{i}"]),
                  helper.make_node("Conv", [f"r{i}", f"d{i}"], [f"e{i}"], group=C // 2, kernel_shape=[3, 3],
                                   pads=[1, 1, 1, 1]),
                  helper.make_node("Conv", [f"e{i}", f"q{i}"], [f"f{i}"]), helper.make_node("Relu", [f"f{i}"], [f"g{i}"]),
                  helper.make_node("Concat", [a, f"g{i}"], [f"cat{i}"], axis=1)]
        sh, extra = shuffle(f"cat{i}", f"s{i}")
        nodes += sh
        inits += extra + [w(f"p{i}", C // 2, C // 2, 1, 1), w(f"d{i}", C // 2, 1, 3, 3), w(f"q{i}", C // 2, C // 2, 1, 1)]
        x = f"s{i}"
    nodes.append(helper.make_node("Conv", [x, "head"], ["y"]))
    inits += [i64("z", [0]), i64("h", [C // 2]), i64("c", [C]), i64("one", [1]), i64("sizes", [C // 2, C // 2])]
    r = roundtrip(build(nodes, inits))
    # input + output + one per block whose pass-through half is concatenated again (blocks 0 and 1;
    # block 2's shuffle feeds only the head conv and vanishes)
    assert r.ops["TRANSPOSE"] == 4


def test_shuffle_kept_when_a_reader_needs_the_order(roundtrip):
    """An elementwise Add with an unshuffled tensor cannot take permuted channels: the shuffle stays."""
    sh, inits = shuffle("x", "s")
    nodes = sh + [helper.make_node("Conv", ["s", "w1"], ["c"]), helper.make_node("Add", ["s", "x"], ["a"]),
                  helper.make_node("Concat", ["c", "a"], ["y"], axis=1)]
    r = roundtrip(build(nodes, inits + [w("w1", C, C, 1, 1)]))
    assert r.ops["TRANSPOSE"] == 3              # input, the shuffle, output


@pytest.mark.parametrize("reader", ["grouped_conv", "channel_pad"])
def test_shuffle_kept_for_readers_that_mix_fixed_channels(roundtrip, reader):
    """A grouped conv sums within fixed channel groups, a Pad of the channel axis adds channels at fixed
    places: neither can read permuted channels, so the shuffle stays (and the result is right)."""
    sh, inits = shuffle("x", "s")
    if reader == "grouped_conv":
        nodes = sh + [helper.make_node("Conv", ["s", "wg"], ["y"], group=2)]
        inits.append(w("wg", 4, C // 2, 1, 1))
    else:
        nodes = sh + [helper.make_node("Pad", ["s", "pads"], ["p"]), helper.make_node("Conv", ["p", "w1"], ["y"])]
        inits += [i64("pads", [0, 1, 0, 0, 0, 1, 0, 0]), w("w1", 3, C + 2, 1, 1)]
    r = roundtrip(build(nodes, inits))
    assert r.ops["TRANSPOSE"] == 3
