"""Tiny ONNX graphs for the INT8 TFLite tests (built with onnx.helper; no torch)."""
from __future__ import annotations

import numpy as np

SIZE = 16
CLASSES = 10


def _w(rng, name, shape, scale=0.3):
    from onnx import numpy_helper

    return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)


def cnn(path, seed: int = 0):
    """The CNN op set in one graph: Conv+Relu, depthwise Conv+Clip(0,6), residual Add, MaxPool,
    AveragePool, 1x1 Conv, x*Sigmoid(x) (SiLU), Concat, GlobalAveragePool, Flatten, Gemm, Softmax."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    n = helper.make_node
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]), n("Relu", ["c1"], ["r1"]),
        n("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1], group=8), n("Clip", ["c2", "lo", "hi"], ["r2"]),
        n("Add", ["r1", "r2"], ["a1"]),
        n("MaxPool", ["a1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        n("AveragePool", ["p1"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Conv", ["p2", "w3", "b3"], ["c3"]), n("Sigmoid", ["c3"], ["s3"]), n("Mul", ["c3", "s3"], ["m3"]),
        n("Concat", ["m3", "p2"], ["cat"], axis=1), n("GlobalAveragePool", ["cat"], ["g"]),
        n("Flatten", ["g"], ["f"]), n("Gemm", ["f", "wf", "bf"], ["logits"], transB=1),
        n("Softmax", ["logits"], ["y"], axis=1),
    ]
    inits = [_w(rng, "w1", (8, 3, 3, 3)), _w(rng, "b1", (8,)), _w(rng, "w2", (8, 1, 3, 3)), _w(rng, "b2", (8,)),
             _w(rng, "w3", (8, 8, 1, 1)), _w(rng, "b3", (8,)), _w(rng, "wf", (CLASSES, 16)), _w(rng, "bf", (CLASSES,)),
             numpy_helper.from_array(np.array(0, np.float32), "lo"),
             numpy_helper.from_array(np.array(6, np.float32), "hi")]
    graph = helper.make_graph(nodes, "cnn", [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10)
    onnx.save(model, str(path))
    return path


def outlier_net(path, seed: int = 0):
    """Conv -> Relu -> GlobalAveragePool -> Flatten -> Gemm where one conv channel carries a bias of 400
    that the classifier ignores: per-tensor int8 ranges of everything up to the Gemm are set by that
    channel (step ~1.6), so the informative channels (|x| < ~1) round to zero in int8. Quantized
    predictions collapse; only keeping ops float restores them (accuracy-aware mode test)."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    b1 = np.zeros(8, np.float32)
    b1[0] = 400.0
    wf = (rng.standard_normal((CLASSES, 8)) * 2).astype(np.float32)
    wf[:, 0] = 0.0
    n = helper.make_node
    nodes = [n("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]), n("Relu", ["c1"], ["r1"]),
             n("GlobalAveragePool", ["r1"], ["g"]), n("Flatten", ["g"], ["f"]),
             n("Gemm", ["f", "wf", "bf"], ["y"], transB=1)]
    inits = [_w(rng, "w1", (8, 3, 3, 3)), numpy_helper.from_array(b1, "b1"), numpy_helper.from_array(wf, "wf"),
             numpy_helper.from_array(np.zeros(CLASSES, np.float32), "bf")]
    graph = helper.make_graph(nodes, "outlier", [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), str(path))
    return path


def calib_npy(path, n: int = 16, seed: int = 1, shape=(3, SIZE, SIZE)):
    np.save(path, np.random.default_rng(seed).random((n, *shape), dtype=np.float32))
    return path


def tflite_tensors(path):
    """(model, subgraph, op name list) read back from the written flatbuffer."""
    from ai_edge_litert import schema_py_generated as fb

    model = fb.ModelT.InitFromObj(fb.Model.GetRootAs(open(path, "rb").read(), 0))
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    sg = model.subgraphs[0]
    ops = [names[max(model.operatorCodes[o.opcodeIndex].builtinCode,
                     model.operatorCodes[o.opcodeIndex].deprecatedBuiltinCode)] for o in sg.operators]
    return model, sg, ops


def cnn_extra(path, seed: int = 0):
    """The rest of the CNN activation set, including the ops ai-edge-quantizer leaves float (LeakyRelu,
    PRelu, Clip(-1,1), LogSoftmax), plus HardSwish, Tanh, ConvTranspose, Resize, Pad, Split, Sub,
    GlobalMaxPool and ReduceMean."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    n = helper.make_node
    c = lambda v, name, dt=np.float32: numpy_helper.from_array(np.asarray(v, dt), name)  # noqa: E731
    nodes = [
        n("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]), n("LeakyRelu", ["c1"], ["l1"], alpha=0.1),
        n("PRelu", ["l1", "slope"], ["pr"]), n("HardSwish", ["pr"], ["hs"]), n("Tanh", ["hs"], ["th"]),
        n("Clip", ["th", "lo", "hi"], ["r1"]),
        n("ConvTranspose", ["r1", "wt", "bt"], ["ct"], strides=[2, 2], kernel_shape=[2, 2]),
        n("Resize", ["ct", "", "scales"], ["rs"], mode="nearest"),
        n("MaxPool", ["rs"], ["mp"], kernel_shape=[4, 4], strides=[4, 4]), n("Pad", ["mp", "pads"], ["pd"]),
        n("Split", ["pd"], ["s1", "s2"], axis=1), n("Sub", ["s1", "s2"], ["sb"]),
        n("GlobalMaxPool", ["sb"], ["gm"]), n("ReduceMean", ["sb"], ["rm"], axes=[2, 3]), n("Add", ["gm", "rm"], ["ga"]),
        n("Flatten", ["ga"], ["f"]), n("Gemm", ["f", "wf", "bf"], ["logits"], transB=1),
        n("LogSoftmax", ["logits"], ["y"], axis=1),
    ]
    inits = [_w(rng, "w1", (8, 3, 3, 3)), _w(rng, "b1", (8,)), _w(rng, "slope", (8, 1, 1)), _w(rng, "wt", (8, 8, 2, 2)),
             _w(rng, "bt", (8,)), c(-1, "lo"), c(1, "hi"), c([1, 1, 2, 2], "scales"),
             c([0, 0, 1, 1, 0, 0, 1, 1], "pads", np.int64), _w(rng, "wf", (CLASSES, 4)), _w(rng, "bf", (CLASSES,))]
    graph = helper.make_graph(nodes, "extra", [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)], ir_version=10), str(path))
    return path


def big_mlp(path, seed: int = 0, width: int = 640):
    """Flatten -> Gemm(640) -> Relu -> Gemm: > 256 KB of int8 weights, so ai-edge-quantizer stores the
    constants after the flatbuffer (Buffer.offset/size) instead of inline."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper

    rng = np.random.default_rng(seed)
    n = helper.make_node
    nodes = [n("Flatten", ["x"], ["f"]), n("Gemm", ["f", "w1", "b1"], ["h"], transB=1), n("Relu", ["h"], ["r"]),
             n("Gemm", ["r", "w2", "b2"], ["y"], transB=1)]
    inits = [_w(rng, "w1", (width, 3 * SIZE * SIZE), 0.05), _w(rng, "b1", (width,)), _w(rng, "w2", (CLASSES, width), 0.05),
             _w(rng, "b2", (CLASSES,))]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), str(path))
    return path


def compare_net(path, seed: int = 0):
    """ReduceMax, Min, Max, standalone Relu -> Clip(0,6), Sub, Exp: the comparison ops ai-edge-quantizer
    has no int8 rule for (REDUCE_MAX, MINIMUM, EXP) next to ones it has."""
    import onnx
    from onnx import TensorProto as TP
    from onnx import helper, numpy_helper

    rng = np.random.default_rng(seed)
    n = helper.make_node
    nodes = [n("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             n("ReduceMax", ["c1"], ["rmx"], axes=[1], keepdims=1), n("Min", ["c1", "rmx"], ["mn"]),
             n("Max", ["mn", "c1"], ["mx"]), n("Relu", ["mx"], ["rl"]), n("Clip", ["rl", "lo", "hi"], ["r6"]),
             n("Sub", ["r6", "rmx"], ["sb"]), n("Exp", ["sb"], ["ex"]), n("GlobalAveragePool", ["ex"], ["y"])]
    inits = [_w(rng, "w1", (8, 3, 3, 3)), numpy_helper.from_array(np.zeros(8, np.float32), "b1"),
             numpy_helper.from_array(np.array(0, np.float32), "lo"), numpy_helper.from_array(np.array(6, np.float32), "hi")]
    graph = helper.make_graph(nodes, "cmp", [helper.make_tensor_value_info("x", TP.FLOAT, [1, 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("y", TP.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), str(path))
    return path
