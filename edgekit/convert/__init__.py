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
from typing import Mapping, Optional, Union

__all__ = ["convert", "ConvertOptions", "InputLayout", "Target", "lower_model", "PREPROCESS_KEY"]

PREPROCESS_KEY = "edgekit.preprocess"


class Target(enum.Enum):
    TFLITE = "tflite"


class InputLayout(enum.Enum):
    NCHW = "nchw"   # keep the ONNX layout (one TRANSPOSE at the input)
    NHWC = "nhwc"   # the model takes channels-last input (camera frames are HWC)


@dataclass(frozen=True)
class ConvertOptions:
    """Everything ``convert`` can be told. Issue 5 extends this with int8 calibration fields."""

    to: Target = Target.TFLITE
    fp16: bool = False
    input_layout: InputLayout = InputLayout.NCHW
    metadata: tuple[tuple[str, str], ...] = ()

    @classmethod
    def make(cls, to: Union[str, Target] = "tflite", fp16: bool = False,
             input_layout: Union[None, str, InputLayout] = None,
             metadata: Optional[Mapping[str, str]] = None) -> "ConvertOptions":
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
        return cls(target, bool(fp16), layout, items)


def lower_model(model, options: ConvertOptions = ConvertOptions(), progress: bool = False):
    """ONNX model (path or proto) -> ``ir.TModel`` (everything except writing). Used by tests and tools."""
    from . import lower, optimize, prepare, shuffle
    from .graph import from_onnx, load_model

    proto, digest, source_name = load_model(model)
    graph = from_onnx(proto)
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
    if PREPROCESS_KEY in graph.metadata_props:
        meta[PREPROCESS_KEY] = graph.metadata_props[PREPROCESS_KEY]
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


def convert(model, output, to: str = "tflite", fp16: bool = False, input_layout: Optional[str] = None,
            metadata: Optional[Mapping[str, str]] = None, progress: bool = False, *, int8: bool = False,
            calib=None, io: str = "float", target=None, calib_size: Optional[int] = None,
            max_drop: Optional[float] = None, eval_data=None, report=None, dynamic: bool = False,
            spec=None, fallback: str = "float") -> Path:
    """Convert an ONNX model (path or ModelProto) to TFLite at ``output``; returns the output path.

    Everything is lowered and checked in memory first; the file is written atomically at the end,
    so an unsupported op or any failure leaves no file behind.

    ``int8=True`` with ``calib`` (any ``edgekit.data`` source) writes a full-integer model (issue 5,
    docs/tflite_int8.md): ``io`` float|int8|uint8, ``target`` for its io types, ``max_drop`` +
    ``eval_data`` for the accuracy-aware mode, ``report`` (.json/.md) for the per-tensor error,
    ``dynamic=True`` for weights-only int8, ``spec`` a PreprocessSpec for image sources,
    ``fallback`` float|int16: how the accuracy-aware mode keeps a sensitive op.
    """
    from .._io import write_bytes
    from .writer import serialize

    options = ConvertOptions.make(to, fp16, input_layout, metadata)
    if isinstance(model, (str, os.PathLike)) and Path(output).resolve() == Path(model).resolve():
        from ..errors import InputError

        raise InputError(f"the output {output} is the input model", "edgekit never overwrites its input",
                         "choose another output path (e.g. with the .tflite suffix)")
    if int8 or dynamic:
        from .int8 import Int8Options
        from .int8.pipeline import convert_int8

        if fp16:
            from ..errors import InputError

            raise InputError("--fp16 and --int8/--dynamic exclude each other", "weights are stored one way",
                             "choose one")
        opts = Int8Options.make(io=io, target=target, calib_size=calib_size, max_drop=max_drop, dynamic=dynamic,
                                fallback=fallback)
        return convert_int8(model, output, options, opts, calib, spec, eval_data, report, progress).output
    data = serialize(lower_model(model, options, progress=progress))
    return write_bytes(output, data)
