"""runtime.tflite_verify: the pure-Python structural check of .tflite files (no TensorFlow verifier here)."""
from __future__ import annotations

import numpy as np
import pytest

from edgekit.runtime.tflite_verify import TfliteFormatError, verify
from helpers import tflite_builder


@pytest.fixture
def good(tmp_path) -> bytes:
    return tflite_builder.fc_model(tmp_path / "m.tflite", np.ones((8, 8)), np.zeros(8)).read_bytes()


def _edit(buf: bytes, fn) -> bytes:
    import flatbuffers
    from ai_edge_litert import schema_py_generated as fb

    m = fb.ModelT.InitFromObj(fb.Model.GetRootAsModel(buf, 0))
    fn(m)
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_written_models_pass(good):
    verify(good)
    verify(_edit(good, lambda m: None))


def _set_buffer(m):
    m.subgraphs[0].tensors[0].buffer = 999


def _set_opcode(m):
    m.operatorCodes[0].builtinCode = 5000
    m.operatorCodes[0].deprecatedBuiltinCode = 127


def _bad_tensor_index(m):
    m.subgraphs[0].operators[0].inputs = [0, 77]


def _short_weights(m):
    t = next(t for t in m.subgraphs[0].tensors if t.buffer and m.buffers[t.buffer].data is not None)
    m.buffers[t.buffer].data = m.buffers[t.buffer].data[:3]


def _negative_dim(m):
    m.subgraphs[0].tensors[0].shape = np.array([1, -4], np.int32)


def _huge_shape(m):
    m.subgraphs[0].tensors[0].shape = np.array([2**20, 2**20, 2**10], np.int32)


def _no_outputs(m):
    m.subgraphs[0].outputs = []


def _no_subgraph(m):
    m.subgraphs = []
    m.signatureDefs = []


def _bad_type(m):
    m.subgraphs[0].tensors[0].type = 99


def _version(m):
    m.version = 7


@pytest.mark.parametrize("mutate,message", [
    (_set_buffer, "names buffer 999"), (_set_opcode, "not a known TFLite builtin operator"),
    (_bad_tensor_index, "names tensor 77"), (_short_weights, "holds 3 bytes of data"),
    (_negative_dim, "negative dimension"), (_huge_shape, "more than any device holds"),
    (_no_outputs, "has no outputs"), (_no_subgraph, "has no subgraph"), (_bad_type, "has type 99"),
    (_version, "schema version 7"),
])
def test_structural_defects_are_named(good, mutate, message):
    with pytest.raises(TfliteFormatError, match=message):
        verify(_edit(good, mutate))


def test_truncations_and_byte_flips_never_raise_anything_else(good):
    """Every prefix, and seeded byte flips: either it passes or it is a TfliteFormatError (no IndexError,
    struct.error, MemoryError...). Flips inside weight data pass: the check is structural."""
    for n in range(0, len(good), max(1, len(good) // 200)):
        with pytest.raises(TfliteFormatError):
            verify(good[:n])
    rng = np.random.default_rng(0)
    for _ in range(300):
        buf = bytearray(good)
        for pos in rng.integers(0, len(buf), 3):
            buf[pos] = int(rng.integers(0, 256))
        try:
            verify(bytes(buf))
        except TfliteFormatError:
            pass
