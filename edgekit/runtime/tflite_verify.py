"""A structural check of a .tflite flatbuffer in pure Python, before a C++ interpreter reads it.

TFLite's own flatbuffer verifier lives in TensorFlow's C++ (``VerifyModelBuffer``); neither
ai-edge-litert nor tflite-runtime exposes it to Python, and edgekit must not need TensorFlow. So this
walks the parts of ``tensorflow/lite/schema/schema.fbs`` an interpreter dereferences — every offset,
vector and string must lie inside the file, every index must point at an existing tensor, buffer or
operator code — and checks the values that size allocations (shapes, types, buffer lengths). It is
not a full verifier (option tables are checked for bounds only, not field by field); a file that
passes it is then loaded and run once in a child process (``runtime.probe``) before edgekit trusts it.

Stdlib only: ``edgekit.load`` uses it on devices that have nothing but numpy and an interpreter.
"""
from __future__ import annotations

import struct

IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3
MAX_BUILTIN_OP = 209      # BuiltinOperator's largest value in the schema ai-edge-litert 2.x ships
MAX_TENSOR_TYPE = 22      # TensorType: FLOAT32 (0) ... FLOAT8_E5M2 (22)
_INT32_MAX = 2**31 - 1
# bytes per element by TensorType; None: variable (STRING, RESOURCE, VARIANT) or sub-byte (INT4/INT2/UINT4)
_ITEMSIZE = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 5: None, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8, 11: 16, 12: 8, 13: None,
             14: None, 15: 4, 16: 2, 17: None, 18: 2, 19: None, 20: None, 21: 1, 22: 1}


class TfliteFormatError(ValueError):
    """The file is not a well-formed TFLite flatbuffer; the message says where."""


class _Reader:
    """Bounds-checked flatbuffer access: every read that would leave the buffer raises TfliteFormatError."""

    def __init__(self, buf):
        self.buf, self.n = buf, len(buf)

    def _need(self, pos: int, size: int, what: str) -> None:
        if pos < 0 or size < 0 or pos + size > self.n:
            raise TfliteFormatError(f"{what} points outside the file (byte {pos}, file size {self.n})")

    def u32(self, pos: int, what: str) -> int:
        self._need(pos, 4, what)
        return struct.unpack_from("<I", self.buf, pos)[0]

    def scalar(self, fmt: str, pos: int, what: str):
        self._need(pos, struct.calcsize(fmt), what)
        return struct.unpack_from("<" + fmt, self.buf, pos)[0]

    def table(self, pos: int, what: str) -> "_Table":
        soff = self.scalar("i", pos, what)
        vt = pos - soff
        vsize = self.scalar("H", vt, f"{what} vtable")
        if vsize < 4 or vsize % 2:
            raise TfliteFormatError(f"{what} has a malformed vtable (size {vsize})")
        self._need(vt, vsize, f"{what} vtable")
        tsize = self.scalar("H", vt + 2, f"{what} vtable")
        self._need(pos, tsize, what)
        return _Table(self, pos, vt, vsize, tsize, what)

    def vector(self, pos: int, elem: int, what: str) -> tuple[int, int]:
        """(start of the elements, count) of the vector at ``pos``."""
        count = self.u32(pos, what)
        self._need(pos + 4, count * elem, what)
        return pos + 4, count


class _Table:
    def __init__(self, r: _Reader, pos: int, vt: int, vsize: int, tsize: int, what: str):
        self.r, self.pos, self.vt, self.vsize, self.tsize, self.what = r, pos, vt, vsize, tsize, what

    def _field(self, i: int) -> int:
        slot = 4 + 2 * i
        if slot + 2 > self.vsize:
            return 0
        off = self.r.scalar("H", self.vt + slot, self.what)
        if off and off >= self.tsize:
            raise TfliteFormatError(f"{self.what}: field {i} lies outside its table")
        return off

    def scalar(self, i: int, fmt: str, default=0):
        off = self._field(i)
        return self.r.scalar(fmt, self.pos + off, f"{self.what} field {i}") if off else default

    def ref(self, i: int) -> int | None:
        """The absolute position an offset field points at, or None when absent."""
        off = self._field(i)
        if not off:
            return None
        p = self.pos + off
        return p + self.r.u32(p, f"{self.what} field {i}")

    def table(self, i: int, what: str) -> "_Table | None":
        p = self.ref(i)
        return None if p is None else self.r.table(p, what)

    def vector(self, i: int, elem: int, what: str) -> tuple[int, int]:
        p = self.ref(i)
        return (0, 0) if p is None else self.r.vector(p, elem, what)

    def ints(self, i: int, what: str, fmt: str = "i") -> list[int]:
        start, count = self.vector(i, struct.calcsize(fmt), what)
        return list(struct.unpack_from(f"<{count}{fmt}", self.r.buf, start)) if count else []

    def tables(self, i: int, what: str) -> list["_Table"]:
        start, count = self.vector(i, 4, what)
        out = []
        for k in range(count):
            p = start + 4 * k
            out.append(self.r.table(p + self.r.u32(p, what), f"{what}[{k}]"))
        return out

    def string(self, i: int, what: str) -> bytes | None:
        p = self.ref(i)
        if p is None:
            return None
        start, count = self.r.vector(p, 1, what)
        return bytes(self.r.buf[start:start + count])


def verify(buf, max_elements: int = 2**33) -> None:
    """Raise TfliteFormatError unless ``buf`` (bytes or mmap) is a structurally sound TFLite model.

    ``max_elements`` bounds the elements of any one tensor (a declared 10^12-element activation
    would make the interpreter try to allocate terabytes).
    """
    r = _Reader(buf)
    if r.n < 8:
        raise TfliteFormatError(f"the file has {r.n} bytes, too short for a flatbuffer")
    if bytes(buf[4:8]) != IDENTIFIER:
        raise TfliteFormatError("the file identifier is not TFL3")
    model = r.table(r.u32(0, "root offset"), "Model")
    version = model.scalar(0, "I")
    if version != SCHEMA_VERSION:
        raise TfliteFormatError(f"schema version {version}, edgekit reads version {SCHEMA_VERSION}")
    buffers = _buffers(r, model)
    codes = model.tables(1, "operator_codes")
    for k, code in enumerate(codes):
        builtin = max(code.scalar(0, "b"), code.scalar(3, "i"))  # the larger of the old int8 and new int32 field
        if not 0 <= builtin <= MAX_BUILTIN_OP:
            raise TfliteFormatError(f"operator code {k} is {builtin}, not a known TFLite builtin operator")
        code.string(1, f"operator code {k} custom name")
    subgraphs = model.tables(2, "subgraphs")
    if not subgraphs:
        raise TfliteFormatError("the model has no subgraph")
    for s, sub in enumerate(subgraphs):
        _subgraph(sub, s, len(codes), buffers, max_elements)
    for k, meta in enumerate(model.tables(6, "metadata")):
        meta.string(0, f"metadata {k} name")
        if meta.scalar(1, "I") >= len(buffers):
            raise TfliteFormatError(f"metadata {k} names buffer {meta.scalar(1, 'I')} of {len(buffers)}")
    for k, sig in enumerate(model.tables(7, "signature_defs")):
        if sig.scalar(4, "I") >= len(subgraphs):
            raise TfliteFormatError(f"signature {k} names subgraph {sig.scalar(4, 'I')} of {len(subgraphs)}")
        ntensors = len(subgraphs[sig.scalar(4, "I")].tables(0, "tensors"))
        for part in (0, 1):
            for m in sig.tables(part, f"signature {k} tensor map"):
                m.string(0, f"signature {k} name")
                if m.scalar(1, "I") >= ntensors:
                    raise TfliteFormatError(f"signature {k} names tensor {m.scalar(1, 'I')} of {ntensors}")


def _buffers(r: _Reader, model: _Table) -> list[int | None]:
    """Byte length of every buffer (None: empty)."""
    sizes = []
    for k, b in enumerate(model.tables(4, "buffers")):
        _, count = b.vector(0, 1, f"buffer {k}")
        offset, size = b.scalar(1, "Q"), b.scalar(2, "Q")
        if offset > 1:  # data stored after the flatbuffer (models over 2 GB); 1 is the schema's placeholder
            if offset + size > r.n:
                raise TfliteFormatError(f"buffer {k} (offset {offset}, {size} bytes) ends past the file")
            count = size
        sizes.append(count or None)
    return sizes


def _subgraph(sub: _Table, s: int, ncodes: int, buffers: list, max_elements: int) -> None:
    tensors = sub.tables(0, f"subgraph {s} tensors")
    n = len(tensors)
    for t, tensor in enumerate(tensors):
        _tensor(tensor, f"subgraph {s} tensor {t}", buffers, max_elements)
    ins, outs = sub.ints(1, f"subgraph {s} inputs"), sub.ints(2, f"subgraph {s} outputs")
    if not outs:
        raise TfliteFormatError(f"subgraph {s} has no outputs")
    for i in ins + outs:
        if not 0 <= i < n:
            raise TfliteFormatError(f"subgraph {s} names tensor {i} of {n} as an input or output")
    for o, op in enumerate(sub.tables(3, f"subgraph {s} operators")):
        where = f"subgraph {s} operator {o}"
        if op.scalar(0, "I") >= ncodes:
            raise TfliteFormatError(f"{where} uses operator code {op.scalar(0, 'I')} of {ncodes}")
        for field, part in ((1, "inputs"), (2, "outputs"), (8, "intermediates")):
            for i in op.ints(field, f"{where} {part}"):
                if not -1 <= i < n:
                    raise TfliteFormatError(f"{where} names tensor {i} of {n} in its {part}")
        if op.scalar(3, "B"):
            op.table(4, f"{where} options")  # a union table: bounds only, its fields depend on the op
        op.vector(5, 1, f"{where} custom options")


def _tensor(tensor: _Table, where: str, buffers: list, max_elements: int) -> None:
    shape = tensor.ints(0, f"{where} shape")
    ttype = tensor.scalar(1, "b")
    if not 0 <= ttype <= MAX_TENSOR_TYPE:
        raise TfliteFormatError(f"{where} has type {ttype}, not a TFLite tensor type")
    if any(d < 0 for d in shape):
        raise TfliteFormatError(f"{where} has a negative dimension in shape {shape}")
    for d in tensor.ints(7, f"{where} shape signature"):
        if d < -1:
            raise TfliteFormatError(f"{where} has dimension {d} in its shape signature")
    elements = 1
    for d in shape:
        elements *= d
    if elements > max_elements:
        raise TfliteFormatError(f"{where} declares {elements} elements (shape {shape}), more than any device holds")
    b = tensor.scalar(2, "I")
    if b >= len(buffers):
        raise TfliteFormatError(f"{where} names buffer {b} of {len(buffers)}")
    size, item = buffers[b], _ITEMSIZE.get(ttype)
    if size is not None and item is not None and not tensor.table(6, f"{where} sparsity") and size < elements * item:
        raise TfliteFormatError(f"{where} holds {size} bytes of data, its shape {shape} needs {elements * item}")
    tensor.string(3, f"{where} name")
    q = tensor.table(4, f"{where} quantization")
    if q is not None:
        scales, zeros = q.vector(2, 4, f"{where} scales")[1], q.vector(3, 8, f"{where} zero points")[1]
        if scales and zeros and scales != zeros:
            raise TfliteFormatError(f"{where} has {scales} scales but {zeros} zero points")
