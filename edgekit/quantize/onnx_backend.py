"""The ONNX backend: onnxruntime.quantization for every scheme it has.

w8a8 / w8a16: calibrated QDQ (static.py, pipeline.py); w8-dynamic: ``quantize_dynamic``; w4 / w4a8:
blockwise INT4 MatMulNBits (nbits.py); fp16: onnxruntime's float16 converter (other.py). Imports of
onnx/onnxruntime stay inside the functions: the registry imports this module to read ``kinds``.
"""
from __future__ import annotations

import collections
from pathlib import Path

from ..errors import QuantizeError
from .backend import Job
from .result import QuantizeResult
from .scheme import AType, WType

_QUANTIZED_OPS = {"QuantizeLinear", "DequantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
                  "MatMulInteger", "DynamicQuantizeLinear", "MatMulNBits", "GatherBlockQuantized"}
_FLOATS = {1, 10, 11, 16}  # TensorProto FLOAT, FLOAT16, DOUBLE, BFLOAT16


class OnnxBackend:
    format = "onnx"
    kinds = frozenset({(WType.INT8, AType.INT8), (WType.INT8, AType.UINT8), (WType.INT8, AType.INT16),
                       (WType.INT8, AType.DYNAMIC), (WType.INT4, AType.FLOAT), (WType.INT4, AType.DYNAMIC),
                       (WType.FP16, AType.FP16)})

    def quantize(self, job: Job) -> QuantizeResult:
        from ..data.model import load_onnx, onnx_inputs
        from .static import check_loads, check_opset

        proto = load_onnx(job.src)
        from ..runtime.probe import check
        from ..validate import check_onnx

        check_onnx(proto, job.src.name, job.src)  # before onnxruntime sees it (check_loads, the quantizer)
        check(job.src, "onnx")  # loaded and run once in a child: a runtime abort is one line, not our crash
        check_weights(proto, job.src)
        check_loads(job.src)  # an invalid graph is one line here, not a failure deep in onnxruntime
        inputs = onnx_inputs(proto)
        spec, origin = source_spec(job.src, inputs, job.spec)
        s = job.scheme
        base = dict(output=job.output, format="onnx", scheme=s, target=job.target.name, spec=spec, spec_origin=origin)
        if s.weights.dtype is WType.FP16:
            from .other import convert_fp16
            from .static import resolve_excludes

            names = resolve_excludes(proto, job.exclude)
            ops = finish(convert_fp16(proto, names), job.output, spec, s)
            return QuantizeResult(**base, ops=ops, size=job.output.stat().st_size, float_layers=tuple(names))
        if s.weights.dtype is WType.INT4:
            from .nbits import quantize_nbits

            return quantize_nbits(job, proto, base)
        check_opset(proto, job.src, s.per_channel)
        del proto
        if s.activations is AType.DYNAMIC:
            return _dynamic(job, spec, base)
        from .pipeline import run_static

        return run_static(job, base, inputs)


BACKEND = OnnxBackend()


def check_weights(proto, src: Path) -> None:
    quantized = sorted({n.op_type for n in proto.graph.node if n.op_type in _QUANTIZED_OPS})
    if quantized:
        raise QuantizeError(f"{src.name} is already quantized", f"it contains {', '.join(quantized)}",
                            "quantize the float model instead")
    tensors = list(proto.graph.initializer) + [a.t for n in proto.graph.node if n.op_type == "Constant"
                                                for a in n.attribute if a.name == "value"]
    if not any(t.data_type in _FLOATS and len(t.dims) >= 2 for t in tensors):
        raise QuantizeError(f"{src.name} has no float weights", "there is nothing to quantize",
                            "check that this is the trained float model")


def source_spec(src: Path, inputs, given):
    """(spec, origin) for data read for the ONNX model: the one rule in edgekit.data.spec.resolve_spec."""
    from ..data import read_spec, spec_for_input
    from ..data.spec import resolve_spec

    natural = spec_for_input(inputs[0].shape, inputs[0].dtype.name) if len(inputs) == 1 else None
    return resolve_spec(natural, given, read_spec(src) if given is None else None)


def finish(proto, out: Path, spec, scheme) -> dict:
    """Store the spec and the scheme in the result, move it into place atomically; op type -> count."""
    import onnx

    from .. import metadata
    from .._io import atomic_path
    from ..data import write_spec

    write_spec(proto, spec)
    metadata.onnx_set(proto, metadata.QUANTIZATION, scheme.to_dict())
    from ..validate import check_written

    with atomic_path(out) as tmp:
        onnx.save(proto, str(tmp))
        check_written(tmp, "onnx")  # run once in a child before it replaces the output (issue 19)
    return dict(collections.Counter(n.op_type for n in proto.graph.node))


def _dynamic(job: Job, spec, base) -> QuantizeResult:
    import onnx

    from .other import quantize_dynamic
    from .static import resolve_excludes

    q = job.target.onnx_int8
    excl = resolve_excludes(onnx.load(str(job.src), load_external_data=False), job.exclude)
    from .._tmp import temp_dir  # an owner file lets a later run clean it up after a kill

    with temp_dir("edgekit-q-") as tmp:
        dst = Path(tmp) / "dynamic.onnx"
        quantize_dynamic(job.src, dst, weights=q.weights.value, per_channel=job.scheme.per_channel, exclude=excl)
        ops = finish(onnx.load(str(dst)), job.output, spec, job.scheme)
    return QuantizeResult(**base, ops=ops, size=job.output.stat().st_size, float_layers=tuple(excl))
