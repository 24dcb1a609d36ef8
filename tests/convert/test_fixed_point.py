"""Shape inference and constant folding iterate to a fixed point.

Swin's TorchScript export pads each window partition up to a multiple of the window size with pads
computed from the input's shape (Shape -> Gather -> Mod -> Sub -> Mod -> Concat -> Pad) and then
reshapes with targets read from the *padded* tensor's shape. A Shape of a Pad/Reshape output can only
fold once the pads/targets are constants AND shape inference has run again on them, so each window
level needs about three rounds; the graph below nests three levels (the old prepare stopped after
five rounds and left Shape/Mod nodes, refused by the support check)."""
import numpy as np
from onnx import TensorProto as TP
from onnx import helper, numpy_helper

from edgekit.convert.graph import from_onnx
from edgekit.convert.prepare import prepare

from .conftest import make_model


def _i64(name, v):
    return numpy_helper.from_array(np.array(v, np.int64), name)


def _window_level(nodes, inits, x, k, win):
    """x (1, H, W, C) -> padded to multiples of ``win`` -> (1, H/win, win, W/win, win, C) -> swap the
    window axes and back -> merged to (1, Hp, Wp, C) + 1, every shape read from Shape nodes."""
    p = f"l{k}_"
    inits += [_i64(p + "win", win), _i64(p + "zeros5", [0, 0, 0, 0, 0]), _i64(p + "zero1", [0]),
              _i64(p + "one1", [1]), _i64(p + "ax0", [0])]
    for i in range(1, 4):
        inits.append(_i64(f"{p}i{i}", i))
    mk = helper.make_node

    def gather(src, i, out):
        nodes.append(mk("Gather", [src, f"{p}i{i}"], [out], axis=0))

    def unsq(src):
        nodes.append(mk("Unsqueeze", [src, p + "ax0"], [src + "_u"]))
        return src + "_u"

    nodes.append(mk("Shape", [x], [p + "s"]))
    for d, i in (("h", 1), ("w", 2)):
        gather(p + "s", i, p + d)
        nodes += [mk("Mod", [p + d, p + "win"], [p + d + "m"]), mk("Sub", [p + "win", p + d + "m"], [p + d + "r"]),
                  mk("Mod", [p + d + "r", p + "win"], [p + d + "pad"])]
    nodes.append(mk("Concat", [p + "zeros5", unsq(p + "hpad"), unsq(p + "wpad"), p + "zero1"], [p + "pads"], axis=0))
    nodes.append(mk("Pad", [x, p + "pads"], [p + "xp"]))
    nodes.append(mk("Shape", [p + "xp"], [p + "s2"]))
    for d, i in (("H", 1), ("W", 2), ("C", 3)):
        gather(p + "s2", i, p + d)
    nodes += [mk("Div", [p + "H", p + "win"], [p + "nh"]), mk("Div", [p + "W", p + "win"], [p + "nw"])]
    parts = [p + "one1", unsq(p + "nh"), unsq(p + "win"), unsq(p + "nw"), p + "win_u", unsq(p + "C")]
    nodes += [mk("Concat", parts, [p + "t6"], axis=0), mk("Reshape", [p + "xp", p + "t6"], [p + "x6"]),
              mk("Transpose", [p + "x6"], [p + "x6t"], perm=[0, 1, 3, 2, 4, 5]),
              mk("Shape", [p + "x6t"], [p + "s3"])]
    for i in range(1, 6):
        nodes.append(mk("Gather", [p + "s3", f"{p}j{i}"], [f"{p}g{i}"], axis=0))
        inits.append(_i64(f"{p}j{i}", i))
    nodes += [mk("Mul", [p + "g1", p + "g3"], [p + "hh"]), mk("Mul", [p + "g2", p + "g4"], [p + "ww"]),
              mk("Concat", [p + "one1", unsq(p + "hh"), unsq(p + "ww"), unsq(p + "g5")], [p + "t4"], axis=0),
              mk("Reshape", [p + "x6t", p + "t4"], [p + "x4"]),
              mk("Add", [p + "x4", "one"], [p + "out"])]
    return p + "out"


def nested_window_model():
    nodes, inits = [], [numpy_helper.from_array(np.array(1.0, np.float32), "one")]
    v = "x"
    for k, win in enumerate((2, 3, 4)):
        v = _window_level(nodes, inits, v, k, win)
    nodes.append(helper.make_node("Identity", [v], ["y"]))
    return make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [1, 5, 7, 3])],
                      [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)


def test_nested_shape_chains_fold_completely():
    graph = from_onnx(nested_window_model())
    stats = prepare(graph)
    ops = [n.op_type for n in graph.nodes]
    assert "Shape" not in ops and "Mod" not in ops and "Gather" not in ops
    assert ops.count("Pad") == 3 and ops.count("Reshape") == 6
    assert stats["rounds"] > 5   # more rounds than the old fixed bound of 1 + 4
    # 5x7 -> pad to 6x8 (win 2) -> 6x9 (win 3) -> 8x12 (win 4)
    assert graph.shapes["y"] == (1, 8, 12, 3)


def test_nested_shape_chains_convert_and_match(roundtrip):
    r = roundtrip(nested_window_model())
    assert r.tflite["y"].shape == (1, 8, 12, 3)
    assert r.ops.get("PAD", 0) == 3


def test_fusions_run_after_folding():
    """A torch-style GELU (opset 13: no Gelu op) in front of a window level: fused before the loop,
    the Gelu node would stop onnx's shape inference (unknown at opset 13) and leave the level's Shape
    nodes unfolded (BERT's TorchScript export with a dynamic sequence axis did exactly that)."""
    mk = helper.make_node
    nodes = [mk("Div", ["x", "sqrt2"], ["g0"]), mk("Erf", ["g0"], ["g1"]), mk("Add", ["g1", "one"], ["g2"]),
             mk("Mul", ["x", "g2"], ["g3"]), mk("Mul", ["g3", "half"], ["g"])]
    inits = [numpy_helper.from_array(np.array(v, np.float32), k) for k, v in
             (("one", 1.0), ("sqrt2", np.sqrt(2.0)), ("half", 0.5))]
    y = _window_level(nodes, inits, "g", 0, 2)
    nodes.append(helper.make_node("Identity", [y], ["y"]))
    m = make_model(nodes, [helper.make_tensor_value_info("x", TP.FLOAT, [1, 5, 7, 3])],
                   [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    graph = from_onnx(m)
    stats = prepare(graph)
    ops = [n.op_type for n in graph.nodes]
    assert stats["gelu"] == 1 and "Gelu" in ops
    assert "Shape" not in ops and "Mod" not in ops
