"""A real OpenSSH server on 127.0.0.1 for the remote-profiling tests (see helpers/sshd.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from helpers.sshd import SshServer, available, start_sshd


@pytest.fixture(scope="session")
def sshd(tmp_path_factory) -> SshServer:
    if not available():
        pytest.skip("OpenSSH server/client not installed: apt-get install -y openssh-server openssh-client "
                    "(.ci/run does this)")
    try:
        server = start_sshd(tmp_path_factory.mktemp("sshd"))
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def onnx_model(tmp_path_factory) -> Path:
    """y = relu(x @ W + b) with x: [1, 16] float: a few microseconds per run."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "W")
    b = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["h"]), helper.make_node("Add", ["h", "b"], ["a"]),
         helper.make_node("Relu", ["a"], ["y"])], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], initializer=[w, b])
    # ir_version=10: onnx 1.23 writes IR 14 by default, which onnxruntime 1.31 cannot load.
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    path = tmp_path_factory.mktemp("models") / "tiny.onnx"
    onnx.save(model, str(path))
    return path
