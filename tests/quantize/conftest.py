"""Tiny real graphs for quantization tests: a small conv classifier built with onnx.helper."""
import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper


def conv_classifier(path, opset=13, classes=4, seed=0, size=8, weights=True):
    """x[1,3,size,size] -> Conv(8) -> Relu -> Conv(8) -> Relu -> GlobalAveragePool -> Flatten -> Gemm -> logits."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.normal(0, 0.4, (8, 3, 3, 3)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.normal(0, 0.3, (8, 8, 3, 3)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(0, 0.1, (8,)).astype(np.float32), "b2"),
        numpy_helper.from_array(rng.normal(0, 0.5, (classes, 8)).astype(np.float32), "wf"),
        numpy_helper.from_array(rng.normal(0, 0.1, (classes,)).astype(np.float32), "bf"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("GlobalAveragePool", ["r2"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "wf", "bf"], ["logits"], name="fc", transB=1),
    ]
    if not weights:  # same graph shape, but every weight is an int64 index table: nothing float to quantize
        nodes = [helper.make_node("Relu", ["x"], ["logits"], name="relu")]
        inits = []
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, size, size])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                             [1, classes] if weights else [1, 3, size, size])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=7)
    import onnx
    onnx.save(model, str(path))
    return path


@pytest.fixture
def tiny_model(tmp_path):
    return conv_classifier(tmp_path / "tiny.onnx")


@pytest.fixture
def calib_npy(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "calib.npy"
    np.save(path, rng.random((12, 3, 8, 8), dtype=np.float32))
    return path


def mlp(path, seed=0, width=64, hidden=128, classes=10, gemm=True):
    """x[1,width] -> Gemm(hidden, transB) -> Relu -> MatMul(width) -> Add(x) -> MatMul(classes) -> logits: the
    matrix multiplies of a transformer block, small. Every weight's input dimension is a multiple of 32."""
    rng = np.random.default_rng(seed)
    inits = [
        numpy_helper.from_array(rng.normal(0, 1 / np.sqrt(width), (hidden, width)).astype(np.float32), "w1"),
        numpy_helper.from_array(rng.normal(0, 0.1, (hidden,)).astype(np.float32), "b1"),
        numpy_helper.from_array(rng.normal(0, 1 / np.sqrt(hidden), (hidden, width)).astype(np.float32), "w2"),
        numpy_helper.from_array(rng.normal(0, 1 / np.sqrt(width), (width, classes)).astype(np.float32), "w3"),
    ]
    first = (helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1", transB=1) if gemm else
             helper.make_node("Relu", ["x"], ["h"], name="fc1"))
    nodes = [first, helper.make_node("Relu", ["h"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "w2"], ["m"], name="fc2"),
             helper.make_node("Add", ["m", "x"], ["a"], name="residual"),
             helper.make_node("MatMul", ["a", "w3"], ["logits"], name="head")]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, classes])], inits)
    import onnx
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    return path


def token_model(path, vocab=100, width=64, classes=10, seed=0):
    """ids[1,8] int64 -> Gather(embedding table) -> MatMul -> logits[1,8,classes]: an embedding to int4."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.normal(0, 1, (vocab, width)).astype(np.float32), "table"),
             numpy_helper.from_array(rng.normal(0, 1 / np.sqrt(width), (width, classes)).astype(np.float32), "w")]
    nodes = [helper.make_node("Gather", ["table", "ids"], ["e"], name="embed"),
             helper.make_node("MatMul", ["e", "w"], ["logits"], name="head")]
    graph = helper.make_graph(nodes, "tokens", [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 8])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 8, classes])], inits)
    import onnx
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7), str(path))
    return path
