"""Shared harness for converter tests: build a tiny ONNX graph, convert it, run both runtimes.

``roundtrip(model, inputs=None, **convert_kwargs)`` converts ``model`` (a ModelProto) under tmp_path,
runs it in onnxruntime and in the LiteRT interpreter (through the serving_default signature, so the
signature is checked on every test) and asserts the outputs agree. It returns a ``Result`` with the
output path, the TFLite op counts, and both outputs.

Tolerance: float32 lowering reorders sums (NHWC im2col / XNNPACK vs onnxruntime's MLAS), so results
differ by rounding only: |tflite - onnx| <= 1e-5 * max(1, range of the ONNX output) + 1e-6. The
``rtol`` argument overrides the 1e-5 (fp16 tests use 1e-2: float16 has an 11-bit mantissa).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest


@dataclass
class Result:
    path: Path
    ops: dict
    onnx: dict
    tflite: dict


def make_model(nodes, inputs, outputs, initializers=(), opset=13):
    """A ModelProto from onnx.helper pieces; IR 10 so onnxruntime 1.31 accepts it (see BRIEF gotchas)."""
    from onnx import helper

    graph = helper.make_graph(nodes, "test", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)


def tflite_ops(path) -> dict:
    """Op counts read back from the written flatbuffer (not from our IR: tests see what a user gets)."""
    from ai_edge_litert import schema_py_generated as fb

    buf = Path(path).read_bytes()
    model = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(buf, 0))
    names = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
    counts: dict = {}
    for op in model.subgraphs[0].operators:
        name = names[model.operatorCodes[op.opcodeIndex].builtinCode]
        counts[name] = counts.get(name, 0) + 1
    return counts


def run_onnx(model, feeds: dict) -> dict:
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def run_tflite(path, feeds: dict, reference: bool = False) -> dict:
    """Run through the serving_default signature; XNNPACK (the default delegate) unless
    ``reference``, which uses TFLite's builtin kernels only (what runs an op XNNPACK rejects)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    resolver = OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES if reference else OpResolverType.AUTO
    interp = Interpreter(model_path=str(path), num_threads=1, experimental_op_resolver_type=resolver)
    runner = interp.get_signature_runner("serving_default")
    return {k: np.asarray(v) for k, v in runner(**feeds).items()}


def random_inputs(model, seed=0) -> dict:
    from onnx import helper

    rng = np.random.default_rng(seed)
    init = {i.name for i in model.graph.initializer}
    feeds = {}
    for vi in model.graph.input:
        if vi.name in init:
            continue
        shape = [d.dim_value or 1 for d in vi.type.tensor_type.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        feeds[vi.name] = (rng.standard_normal(shape) if dtype.kind == "f" else rng.integers(0, 4, shape)).astype(dtype)
    return feeds


@pytest.fixture
def roundtrip(tmp_path):
    import edgekit

    counter = iter(range(1000))

    def run(model, inputs=None, rtol=1e-5, input_layout=None, **kwargs) -> Result:
        feeds = inputs if inputs is not None else random_inputs(model)
        path = edgekit.convert(model, tmp_path / f"m{next(counter)}.tflite", input_layout=input_layout, **kwargs)
        expected = run_onnx(model, feeds)
        tfeeds = feeds
        if input_layout == "nhwc":
            tfeeds = {k: np.ascontiguousarray(np.transpose(v, (0, 2, 3, 1))) if v.ndim == 4 else v
                      for k, v in feeds.items()}
        # both kernel sets: XNNPACK (default) and TFLite's builtin kernels, which run whatever a
        # delegate rejects (and everything on runtimes without XNNPACK)
        for reference in (False, True):
            got = run_tflite(path, tfeeds, reference=reference)
            kernels = "builtin" if reference else "XNNPACK"
            assert set(got) == set(expected), (set(got), set(expected))
            for name, want in expected.items():
                have = got[name]
                assert have.shape == want.shape, (kernels, name, have.shape, want.shape)
                if want.dtype.kind == "f":
                    span = float(np.max(want) - np.min(want)) if want.size else 0.0
                    tol = rtol * max(1.0, span) + 1e-6
                    err = float(np.max(np.abs(have.astype(np.float64) - want))) if want.size else 0.0
                    assert err <= tol, f"{kernels} kernels, {name}: max abs error {err:.3g} > {tol:.3g}"
                else:
                    np.testing.assert_array_equal(have, want, err_msg=f"{kernels} kernels, {name}")
        return Result(Path(path), tflite_ops(path), expected, run_tflite(path, tfeeds))

    return run
