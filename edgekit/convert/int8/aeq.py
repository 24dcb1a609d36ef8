"""ai-edge-quantizer, driven quietly: recipes, per-op fallbacks, and the quantize call.

Every op the recipe covers gets int8 per-channel symmetric weights, int8 asymmetric per-tensor
activations and int32 biases (``static_wi8_ai8``: TFLite's integer kernel spec,
https://ai.google.dev/edge/litert/models/quantization_spec). The quantizer prints a size/time
report to stdout and a tqdm bar to stderr; both are captured so edgekit's own bar and table are the
only output.
"""
from __future__ import annotations

import contextlib
import io
import re
import warnings

from ...errors import QuantizeError
from .options import Fallback


def make_quantizer(model_bytes: bytes, dynamic: bool = False, kept=(), fallback: Fallback = Fallback.FLOAT):
    """A Quantizer on ``model_bytes`` with edgekit's recipe; ``kept`` = op output tensor names to keep."""
    from ai_edge_quantizer import algorithm_manager, qtyping, quantizer, recipe

    q = quantizer.Quantizer(bytes(model_bytes))
    q.load_quantization_recipe(recipe.dynamic_wi8_afp32() if dynamic else recipe.static_wi8_ai8())
    for name in kept:
        # The recipe regex matches an op's scope: its output tensor names joined by ';' plus a ';'
        # (tfl_flatbuffer_utils.get_op_scope), so one anchored name selects exactly one op.
        scope = f"^{re.escape(name)};$"
        if fallback is Fallback.INT16:
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
                            "run with --debug and report it; --dynamic avoids calibration-based quantization") from exc
    return bytes(result.quantized_model)
