"""ONNX -> TFLite conversion without TensorFlow.

``convert(model, output, ...)`` = read (graph.py) -> prepare (prepare.py) -> lower one node at a time
(lower.py + ops/) -> optimize the TFLite ops (optimize.py) -> write the flatbuffer (writer.py),
atomically. See docs/converter.md.
"""
from __future__ import annotations

import enum
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

__all__ = ["convert", "ConvertOptions", "InputLayout", "Target", "lower_model", "PREPROCESS_KEY"]

from ..metadata import LABELS, PREPROCESS as PREPROCESS_KEY  # noqa: E402  (PREPROCESS_KEY re-exported)


class Target(enum.Enum):
    TFLITE = "tflite"


class InputLayout(enum.Enum):
    NCHW = "nchw"   # keep the ONNX layout (one TRANSPOSE at the input)
    NHWC = "nhwc"   # the model takes channels-last input (camera frames are HWC)


@dataclass(frozen=True)
class ConvertOptions:
    """Everything the ONNX -> TFLite lowering is told (quantization is a Scheme: edgekit.quantize)."""

    to: Target = Target.TFLITE
    fp16: bool = False
    input_layout: InputLayout = InputLayout.NCHW
    metadata: tuple[tuple[str, str], ...] = ()
    shapes: tuple[tuple[str, tuple[int, ...]], ...] = ()   # input name -> static dims (fixes dynamic axes)

    @classmethod
    def make(cls, to: Union[str, Target] = "tflite", fp16: bool = False,
             input_layout: Union[None, str, InputLayout] = None,
             metadata: Optional[Mapping[str, str]] = None,
             shapes: Optional[Mapping[str, Sequence[int]]] = None) -> "ConvertOptions":
        from ..errors import InputError

        try:
            target = Target(to.lower() if isinstance(to, str) else to)
        except ValueError:
            raise InputError(f"unknown conversion target '{to}'", "edgekit converts to tflite",
                             "use to='tflite'") from None
        try:
            layout = InputLayout(input_layout.lower() if isinstance(input_layout, str) else
                                 (input_layout or InputLayout.NCHW))
        except ValueError:
            raise InputError(f"unknown input layout '{input_layout}'", "choose nchw or nhwc",
                             "pass input_layout='nchw' or 'nhwc'") from None
        items = tuple((str(k), str(v)) for k, v in (metadata or {}).items())
        return cls(target, bool(fp16), layout, items, _shapes(shapes))


def _shapes(shapes) -> tuple[tuple[str, tuple[int, ...]], ...]:
    from ..errors import InputError

    out = []
    for name, dims in (shapes or {}).items():
        try:
            dims = tuple(int(d) for d in dims)
        except (TypeError, ValueError):
            raise InputError(f"shape of input '{name}' is not a list of integers: {dims!r}", "dims are whole numbers",
                             "write e.g. input_ids=1,128") from None
        if not dims or any(d < 1 or d > 1 << 20 for d in dims):
            raise InputError(f"shape of input '{name}' {dims} is out of range", "every dim must be 1..1048576",
                             "write e.g. input_ids=1,128")
        out.append((str(name), dims))
    return tuple(out)


def lower_model(model, options: ConvertOptions = ConvertOptions(), progress: bool = False):
    """ONNX model (path or proto) -> ``ir.TModel`` (everything except writing). Used by tests and tools."""
    from . import lower, optimize, prepare, shuffle
    from .graph import from_onnx, load_model

    proto, digest, source_name = load_model(model)
    graph = from_onnx(proto, dict(options.shapes))
    producer = f"{proto.producer_name} {proto.producer_version}".strip()
    del proto  # weights now live in graph.consts; drop the proto's copy early (peak memory)
    prepare.prepare(graph)
    bar = None
    if progress:
        from ..ui import progress as ui_progress

        def bar(nodes):
            return ui_progress(nodes, total=len(nodes), desc="lowering", unit="op")
    tmodel = lower.lower(graph, nhwc_inputs=options.input_layout is InputLayout.NHWC, progress=bar)
    optimize.cancel_transposes(tmodel)
    optimize.fold_bias_add(tmodel)
    optimize.fuse_activations(tmodel)
    optimize.drop_reshape_before_fc(tmodel)
    optimize.permute_fc_weights(tmodel)
    shuffle.absorb_channel_shuffles(tmodel)
    optimize.dead_code(tmodel)
    if options.fp16:
        optimize.to_fp16(tmodel)
    tmodel.metadata = _metadata(graph, options, digest, source_name, producer)
    return tmodel


def _metadata(graph, options: ConvertOptions, digest: str, source_name, producer: str) -> dict[str, bytes]:
    from .. import __version__

    meta: dict[str, str] = {}
    for key in (PREPROCESS_KEY, LABELS):  # the class names too: eval maps class folders by them
        if key in graph.metadata_props:
            meta[key] = graph.metadata_props[key]
    meta.update(dict(options.metadata))
    if PREPROCESS_KEY in meta and options.input_layout is InputLayout.NHWC:
        meta[PREPROCESS_KEY] = _nhwc_spec(meta[PREPROCESS_KEY], graph)
    meta["edgekit.provenance"] = json.dumps({
        "source_sha256": digest, "source_name": source_name, "edgekit_version": __version__,
        "producer": producer, "opset": graph.opset(""), "fp16": options.fp16,
        "input_layout": options.input_layout.value,
    }, sort_keys=True)
    return {k: v.encode("utf-8") for k, v in meta.items()}


def _nhwc_spec(text: str, graph) -> str:
    """The stored spec describes the ONNX (NCHW) input; with --input-layout nhwc the TFLite model
    takes channels-last, so an app reading the metadata must be told nhwc (the int8 path does the same)."""
    first = graph.inputs[0] if graph.inputs else None
    if first is None or len(graph.shapes.get(first) or ()) != 4:
        return text  # no image input: the layout key means nothing here
    try:
        spec = json.loads(text)
    except json.JSONDecodeError:
        return text  # not ours to rewrite; readers report a malformed spec themselves
    if not isinstance(spec, dict):
        return text
    spec["layout"] = InputLayout.NHWC.value
    return json.dumps(spec, sort_keys=True)


# quantization-only arguments and their "not given" values: a float conversion refuses them
_QUANT_ONLY = {"calib": None, "io": "float", "target": None, "calib_size": None, "max_drop": None,
               "eval_data": None, "report": None, "fallback": "float", "block_size": None, "seed": 0,
               "strict": False}


def convert(model, output, to: str = "tflite", fp16: bool = False, input_layout: Optional[str] = None,
            metadata: Optional[Mapping[str, str]] = None, progress: bool = False, *, scheme=None,
            int8: bool = False, dynamic: bool = False, calib=None, io: str = "float", target=None,
            calib_size: Optional[int] = None, max_drop: Optional[float] = None, eval_data=None, report=None,
            spec=None, fallback: str = "float", block_size: Optional[int] = None, seed: int = 0,
            strict: bool = False, shapes: Optional[Mapping[str, Sequence[int]]] = None):
    """Convert an ONNX model (path or ModelProto) to TFLite at ``output``; returns a ``QuantizeResult``
    (``scheme`` None for a float conversion; it also stands for its output path: ``edgekit.load(result)``).

    Everything is lowered and checked in memory first; the file is written atomically at the end,
    so an unsupported op or any failure leaves no file behind.

    ``scheme`` (w8a8, w8a16, w8-dynamic, w4, w4a8, fp16; docs/quantization.md) converts and quantizes in
    one step, as ``edgekit.quantize(model, "out.tflite", scheme=...)``; ``int8=True``, ``dynamic=True``
    and ``fp16=True`` are the older names of w8a8, w8-dynamic and fp16. The quantization arguments
    (``calib``, ``io``, ``target``, ``max_drop`` + ``eval_data``, ``report``, ...) are refused without
    a scheme. ``spec``: the PreprocessSpec to store (and, with a scheme, to read the data with).
    ``shapes``: {input name: dims} fixing inputs' dynamic axes (e.g. the sequence length of a
    transformer export); float conversions only.
    """
    from ..errors import InputError

    options = ConvertOptions.make(to, False, input_layout, metadata, shapes)
    if isinstance(model, (str, os.PathLike)) and Path(output).resolve() == Path(model).resolve():
        raise InputError(f"the output {output} is the input model", "edgekit never overwrites its input",
                         "choose another output path (e.g. with the .tflite suffix)")
    named = [n for n, on in (("int8", int8), ("dynamic", dynamic), ("fp16", fp16)) if on]
    if len(named) + (scheme is not None) > 1:
        raise InputError(f"{' and '.join('--' + n for n in named + (['scheme'] if scheme else []))} exclude each "
                         "other", "weights are stored one way", "choose one scheme")
    if named:
        scheme = {"int8": "w8a8", "dynamic": "w8-dynamic", "fp16": "fp16"}[named[0]]
    given = dict(calib=calib, io=io, target=target, calib_size=calib_size, max_drop=max_drop, eval_data=eval_data,
                 report=report, fallback=fallback, block_size=block_size, seed=seed, strict=strict)
    if scheme is None:
        extra = [k for k, default in _QUANT_ONLY.items() if given[k] != default]
        if extra:
            raise InputError(f"{', '.join(extra)} only apply to quantization", "this is a float conversion",
                             "pass scheme= (w8a8, w8a16, w8-dynamic, w4, w4a8, fp16), or drop them")
        return _float(model, output, options, spec, progress)
    if shapes:
        raise InputError("--shape is not supported with a quantization scheme yet",
                         "the quantizers read the exported shapes", "export with static shapes, or convert in float")
    from ..quantize.api import quantize

    kw = dict(scheme=scheme, target=target, block_size=block_size, io=io, fallback=fallback, calib_size=calib_size,
              max_drop=max_drop, eval_data=eval_data, report=report, spec=spec, seed=seed, strict=strict,
              input_layout=input_layout, progress=progress, metadata=metadata)
    if isinstance(model, (str, os.PathLike)):
        return quantize(model, output, calib, **kw)
    import tempfile

    import onnx

    from .._tmp import temp_dir  # an owner file lets a later run clean it up after a kill

    with temp_dir("edgekit-cv-") as tmp:  # the quantizers read model files
        path = Path(tmp) / "model.onnx"
        onnx.save(model, str(path))
        return quantize(path, output, calib, **kw)


def _float(model, output, options: ConvertOptions, spec, progress: bool):
    from dataclasses import replace

    from .._io import write_bytes
    from ..quantize.result import QuantizeResult
    from .writer import serialize

    if spec is not None:  # explicit metadata={"edgekit.preprocess": ...} still wins
        options = replace(options, metadata=((PREPROCESS_KEY, spec.to_json()),) + options.metadata)
    tmodel = lower_model(model, options, progress=progress)
    from ..validate import check_written

    out = write_bytes(output, serialize(tmodel), check=lambda tmp: check_written(tmp, "tflite"))
    return QuantizeResult(output=Path(out), format="tflite", size=Path(out).stat().st_size, ops=tmodel.op_counts(),
                          spec=spec, spec_origin="given" if spec is not None else None,
                          input_layout=layout_text(tmodel, options))


def layout_text(tmodel, options) -> str:
    """--input-layout applies to 4-D (image) inputs only: a token or feature model has no layout to state."""
    if any(len(t.shape) == 4 for t in tmodel.inputs):
        return options.input_layout.value
    kinds = sorted({"tokens" if t.dtype.kind in "iu" else "features" for t in tmodel.inputs})
    return f"none ({' and '.join(kinds)}, not an image)"
