"""The inputs an ONNX model declares, as the data layer describes them (name, shape, dtype)."""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError, ModelError
from .sources import InputSpec


def load_onnx(src: Path):
    """The ModelProto in ``src``; a ModelError naming the file if onnx cannot read it."""
    import onnx

    try:
        return onnx.load(str(src))
    except Exception as exc:
        raise ModelError(f"cannot read {src}", str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
                         "check that the file is a complete ONNX model") from exc


def onnx_inputs(proto) -> list[InputSpec]:
    """Graph inputs that are not initializers; unknown or symbolic dims are None."""
    from onnx import helper

    inits = {i.name for i in proto.graph.initializer}
    out = []
    for v in proto.graph.input:
        if v.name in inits:
            continue
        tt = v.type.tensor_type
        dims = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else None for d in tt.shape.dim)
        try:
            dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type)
        except (KeyError, ValueError, TypeError):  # 0 (UNDEFINED) or a number no ONNX version defines
            raise ModelError(f"model input {v.name!r} has element type {tt.elem_type}", "not an ONNX tensor type",
                             "re-export the model") from None
        out.append(InputSpec(v.name, dims, dtype))
    return out


def model_inputs(src) -> list[InputSpec]:
    """``onnx_inputs`` of the model file ``src``, with an InputError if there is no such file."""
    src = Path(src)
    if not src.is_file():
        raise InputError(f"model {src} not found", "no such file", "check the path")
    return onnx_inputs(load_onnx(src))
