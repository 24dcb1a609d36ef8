"""ai-edge-quantizer, driven quietly: one recipe per scheme, per-op fallbacks, and the quantize call.

w8a8 = ``static_wi8_ai8`` (int8 per-channel symmetric weights, int8 asymmetric activations, int32
biases: TFLite's integer kernel spec, https://ai.google.dev/edge/litert/models/quantization_spec);
w8a16 = ``static_wi8_ai16`` (int16 symmetric activations); w8-dynamic = ``dynamic_wi8_afp32``; w4 and
w4a8 = ai-edge-quantizer's ``dynamic_wi4_afp32_blockwise`` rule (int4 weights, one float16 scale per
block; FULLY_CONNECTED quantizes its float input to int8 at run time). Its only blockwise int4 rule is
that one: the weight-only int4 rule is channelwise, and a DEQUANTIZE of blockwise int4 weights forced
through it (skip_checks) gives wrong outputs in LiteRT (0 dB SQNR, checked with ai-edge-litert 2.x), so
on TFLite w4 and w4a8 write the same file (docs/quantization.md). The quantizer
prints a size/time report to stdout and a tqdm bar to stderr; both are captured so edgekit's own bar
and table are the only output.
"""
from __future__ import annotations

import contextlib
import io
import re
import warnings

from ...errors import QuantizeError
from ...quantize.scheme import AType, Scheme, WType

# Ops whose weights the int4 recipe quantizes: matrix multiplies and embedding tables (the ops of
# default_policy.py's dynamic_wi4_afp32_blockwise; convolutions keep float weights).
INT4_OPS = ("FULLY_CONNECTED", "EMBEDDING_LOOKUP")


def recipe(scheme: Scheme):
    """The ai-edge-quantizer recipe (a list of configs) for ``scheme``."""
    from ai_edge_quantizer import qtyping, recipe_manager

    op = qtyping.TFLOperationName
    gran = qtyping.QuantGranularity
    rm = recipe_manager.RecipeManager()
    w, a = scheme.weights, scheme.activations
    wgran = gran.CHANNELWISE if scheme.per_channel else gran.TENSORWISE
    if w.dtype is WType.INT8 and a in (AType.INT8, AType.INT16):
        rm.add_static_config(".*", op.ALL_SUPPORTED, 16 if a is AType.INT16 else 8, 8, weight_granularity=wgran)
    elif w.dtype is WType.INT8 and a is AType.DYNAMIC:
        rm.add_dynamic_config(".*", op.ALL_SUPPORTED, 8, granularity=wgran)
    elif w.dtype is WType.INT4:  # w4 and w4a8 alike (module docstring)
        block = getattr(gran, f"BLOCKWISE_{w.block_size}")
        for name in INT4_OPS:
            rm.add_dynamic_config(".*", getattr(op, name), 4, granularity=block)
    else:  # pragma: no cover - the backend declares which schemes reach here
        raise QuantizeError(f"no ai-edge-quantizer recipe for {scheme.name}", "the TFLite backend lacks it",
                            "report this")
    return rm.get_quantization_recipe()


def make_quantizer(model_bytes: bytes, scheme: Scheme, kept=(), fallback: str = "float"):
    """A Quantizer on ``model_bytes`` with the scheme's recipe; ``kept`` = op output tensor names to keep."""
    from ai_edge_quantizer import algorithm_manager, qtyping, quantizer

    q = quantizer.Quantizer(bytes(model_bytes))
    q.load_quantization_recipe(recipe(scheme))
    for name in kept:
        # The recipe regex matches an op's scope: its output tensor names joined by ';' plus a ';'
        # (tfl_flatbuffer_utils.get_op_scope), so one anchored name selects exactly one op.
        scope = f"^{re.escape(name)};$"
        if fallback == "int16":
            q.add_static_config(scope, qtyping.TFLOperationName.ALL_SUPPORTED, 16, 8)
        else:
            q.update_quantization_recipe(scope, qtyping.TFLOperationName.ALL_SUPPORTED,
                                         qtyping.OpQuantizationConfig(),
                                         algorithm_key=algorithm_manager.AlgorithmName.NO_QUANTIZE)
    return q


def quantize(q, qsvs=None) -> bytes:
    """Run the quantizer; its stdout report and absl/Python warnings are swallowed."""
    sink = io.StringIO()
    try:
        # stderr too: its "Applying Transformations" tqdm bar ignores enable_progress_bar.
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = q.quantize(qsvs, enable_progress_bar=False, enable_progress_report=False)
    except (ValueError, RuntimeError, KeyError) as exc:
        raise QuantizeError("ai-edge-quantizer failed on the converted model", str(exc).splitlines()[0][:300],
                            "run with --debug and report it; w8-dynamic avoids calibration-based quantization") from exc
    return bytes(result.quantized_model)
