"""Several ONNX graphs -> one TFLite file with one signature each; a KV-cache LM -> prefill + decode.

    from edgekit.convert.signatures import convert_lm
    convert_lm("tiny-lm.onnx", "tiny-lm.tflite", prefill=64)

A static-cache LM graph (``edgekit.zoo.lm.export_lm(cache="static")``: ``input_ids [1, s]``,
``cache_position [s]``, ``past_key_values.*`` of a fixed number of slots) is lowered twice, with s
fixed to ``prefill`` and to 1, and written as the signatures ``prefill`` and ``decode`` of one file;
their weights are stored once (writer.build_signatures shares equal buffers).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from ..errors import ConvertError, InputError

MAX_PREFILL = 8192


@dataclass(frozen=True)
class SignaturesResult:
    """What ``convert_signatures``/``convert_lm`` wrote: the file, and per signature its ops and I/O shapes."""
    output: Path
    size: int
    ops: dict            # signature -> {opcode: count}
    inputs: dict         # signature -> {name: shape}
    outputs: dict


def is_static_lm(proto_or_path) -> bool:
    """A graph with input_ids, cache_position and past_key_values.* inputs (export_lm(cache="static"))."""
    proto = proto_or_path
    if isinstance(proto_or_path, (str, os.PathLike)):
        import onnx

        try:
            proto = onnx.load(str(proto_or_path), load_external_data=False)
        except Exception:  # noqa: BLE001 - not readable: not an LM; the converter's validation says why
            return False
    names = {i.name for i in proto.graph.input}
    return {"input_ids", "cache_position"} <= names and any(n.startswith("past_key_values.") for n in names)


def fix_dims(proto, dims: Mapping[str, list[int]]):
    """A copy of ``proto`` whose inputs ``dims`` have those shapes; inner shapes are re-inferred."""
    from onnx import ModelProto

    out = ModelProto()
    out.CopyFrom(proto)
    names = {i.name for i in out.graph.input}
    unknown = sorted(set(dims) - names)
    if unknown:
        raise InputError(f"the model has no input {unknown[0]!r}", f"its inputs: {', '.join(sorted(names))}",
                         "name an existing input")
    for vi in out.graph.input:
        if vi.name in dims:
            shape = vi.type.tensor_type.shape
            if len(shape.dim) != len(dims[vi.name]):
                raise InputError(f"input {vi.name!r} has rank {len(shape.dim)}", f"got dims {dims[vi.name]}",
                                 "give one size per dimension")
            for d, n in zip(shape.dim, dims[vi.name]):
                d.Clear()
                d.dim_value = int(n)
    del out.graph.value_info[:]  # symbolic inner shapes from the export would contradict the fixed ones
    for vi in out.graph.output:
        vi.type.tensor_type.ClearField("shape")
    return out


def convert_signatures(graphs: Mapping[str, object], output: str | os.PathLike, options=None,
                       scheme=None) -> SignaturesResult:
    """Lower each ONNX model (path or proto) and write them as the named signatures of one file.

    ``scheme`` (a weight-only or dynamic one: w8-dynamic, w4, w4a8, fp16) quantizes the file with
    edgekit's ai-edge-quantizer backend (edgekit/convert/int8/aeq.py) before it is written."""
    from .._io import write_bytes
    from . import ConvertOptions, lower_model
    from .writer import serialize_signatures

    if not graphs:
        raise InputError("no graphs to convert", "the mapping is empty", "pass {signature: model}")
    scheme = _check_scheme(scheme)
    options = options or ConvertOptions()
    lowered = {name: lower_model(g, options) for name, g in graphs.items()}
    data = serialize_signatures(lowered)
    if scheme is not None:
        from .int8.aeq import make_quantizer, quantize

        data = quantize(make_quantizer(bytes(data), scheme))
    out = write_bytes(output, data)
    return SignaturesResult(Path(out), Path(out).stat().st_size, {k: m.op_counts() for k, m in lowered.items()},
                            {k: {t.name: t.shape for t in m.inputs} for k, m in lowered.items()},
                            {k: {t.name: t.shape for t in m.outputs} for k, m in lowered.items()})


def _check_scheme(scheme):
    if scheme is None:
        return None
    from ..quantize.scheme import WType, get_scheme

    s = get_scheme(scheme)
    if s.needs_calibration or s.weights.dtype is WType.FP16:
        raise InputError(f"scheme {s.name} on a multi-signature TFLite file", "each signature would need its own "
                         "calibration" if s.needs_calibration else "fp16 has no ai-edge-quantizer recipe here",
                         "use w8-dynamic or w4 (weights quantized, activations float or quantized at run time)")
    return s


def convert_lm(model, output: str | os.PathLike, prefill: int = 64, metadata: Mapping[str, str] | None = None,
               scheme=None) -> SignaturesResult:
    """A static-cache LM ONNX file -> one TFLite file with ``prefill`` (s = prefill) and ``decode`` (s = 1),
    quantized with ``scheme`` (w8-dynamic, w4) if given."""
    from ..data.model import load_onnx
    from . import ConvertOptions

    _check_scheme(scheme)  # before any work
    src = Path(model)
    if isinstance(model, (str, os.PathLike)) and Path(output).resolve() == src.resolve():
        raise InputError(f"the output {output} is the input model", "edgekit never overwrites its input",
                         "choose another output path")
    proto = load_onnx(src) if isinstance(model, (str, os.PathLike)) else model
    inputs = {i.name: i for i in proto.graph.input}
    if not is_static_lm(proto):
        raise ConvertError(f"{src.name if isinstance(model, (str, os.PathLike)) else 'the model'} has no static "
                           "KV cache", "prefill/decode signatures need input_ids, cache_position and "
                           "past_key_values.* inputs", "export it with edgekit.zoo.lm.export_lm(cache='static')")
    past = next(i for n, i in inputs.items() if n.startswith("past_key_values."))
    slots = past.type.tensor_type.shape.dim[2].dim_value
    if isinstance(prefill, bool) or not isinstance(prefill, int) or not 1 <= prefill <= min(slots or MAX_PREFILL,
                                                                                            MAX_PREFILL):
        raise InputError(f"prefill length {prefill!r} is out of range", f"the cache holds {slots} tokens",
                         f"pass 1 <= prefill <= {slots}")
    graphs = {"prefill": fix_dims(proto, {"input_ids": [1, prefill], "cache_position": [prefill]}),
              "decode": fix_dims(proto, {"input_ids": [1, 1], "cache_position": [1]})}
    meta = {p.key: p.value for p in proto.metadata_props if p.key.startswith("edgekit.")}
    meta.update(metadata or {})
    return convert_signatures(graphs, output, ConvertOptions.make(metadata=meta), scheme)
