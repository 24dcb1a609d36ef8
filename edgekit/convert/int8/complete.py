"""Integer kernels for the ops ai-edge-quantizer leaves in float.

ai-edge-quantizer 0.10 has no static int8 rule for LEAKY_RELU, PRELU, RELU6, RELU_N1_TO_1,
RELU_0_TO_1, LOG_SOFTMAX, EXP, REDUCE_MAX or MINIMUM (absent from ``default_policy.py``'s
static_wi8_ai8 op list and from algorithm_manager), so it wraps them in DEQUANTIZE ... QUANTIZE and
they run in float32 inside an otherwise integer graph. TFLite has int8 kernels for all of them, so
edgekit rewrites each one to take its int8 input directly and produce int8 output:

* output range: the scale/zero point of the QUANTIZE that follows it (calibrated by the quantizer for
  the consumer), else the float range recorded during edgekit's calibration pass (``ranges``);
* LOG_SOFTMAX int8 output is fixed at scale 16/256, zero point 127 (TFLite log_softmax.cc requires it);
* REDUCE_MAX/MINIMUM/MAXIMUM compare raw int8 values: output (and constants) share the inputs' params;
* PRELU's float alpha is quantized per tensor (int8, asymmetric);
* QUANTIZE ops that became identities are removed, and DEQUANTIZE ops nobody reads any more.
"""
from __future__ import annotations

import numpy as np

INTEGER_ACTIVATIONS = {"LEAKY_RELU", "PRELU", "RELU6", "RELU_N1_TO_1", "RELU_0_TO_1", "LOG_SOFTMAX", "EXP"}
# int8 kernels that compare raw values (reduce.cc / maximum_minimum.cc): inputs and output must share
# one scale/zero point, which makes them exact; taken only when all inputs already agree.
SAME_SCALE_OPS = {"REDUCE_MAX", "MINIMUM", "MAXIMUM"}
INTEGER_OPS = INTEGER_ACTIVATIONS | SAME_SCALE_OPS
LOG_SOFTMAX_PARAMS = (16.0 / 256.0, 127)  # tensorflow/lite/kernels/activations.cc LogSoftmaxPrepare


def int8_params(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric int8 (scale, zero point) covering [lo, hi] and 0, as ai-edge-quantizer computes them."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = (hi - lo) / 255.0 or 1e-8
    return scale, int(np.clip(round(-128 - lo / scale), -128, 127))


def _qp(fb, scale: float, zp: int):
    q = fb.QuantizationParametersT()
    q.scale, q.zeroPoint = np.array([scale], np.float32), np.array([zp], np.int64)
    return q


def _params(t):
    q = t.quantization
    if q is None or q.scale is None or len(q.scale) != 1:
        return None
    return float(q.scale[0]), int(q.zeroPoint[0])


def float_activation_ranges(float_model) -> list[str]:
    """Output tensor names of the activations above in the float model (what calibration must record)."""
    from .interface import op_name

    sg = float_model.subgraphs[0]
    return [_name(sg.tensors[op.outputs[0]]) for op in sg.operators if op_name(float_model, op) in INTEGER_ACTIVATIONS]


def _name(t) -> str:
    return t.name.decode() if isinstance(t.name, bytes) else t.name


def integerize(model, ranges: dict) -> list[str]:
    """Rewrite the float ops above in ``model`` (ModelT, in place) to int8; returns what was rewritten."""
    from ai_edge_litert import schema_py_generated as fb

    from .interface import op_name

    sg = model.subgraphs[0]
    producer = {o: op for op in sg.operators for o in op.outputs}
    consumers: dict[int, list] = {}
    for op in sg.operators:
        for i in op.inputs:
            consumers.setdefault(i, []).append(op)
    int8 = set()  # float tensors now carried as int8

    def resolve(i):
        """The int8 tensor carrying runtime input ``i``, or None."""
        if i in int8:
            return i
        src = producer.get(i)
        if src is not None and op_name(model, src) == "DEQUANTIZE" and \
                sg.tensors[src.inputs[0]].type == fb.TensorType.INT8:
            return int(src.inputs[0])
        return None

    done = []
    for op in sg.operators:
        name = op_name(model, op)
        out = sg.tensors[op.outputs[0]]
        if name not in INTEGER_OPS or out.type != fb.TensorType.FLOAT32:
            continue
        runtime = [int(i) for i in op.inputs if i >= 0 and not _const(model, sg, i)]
        new = {i: resolve(i) for i in runtime}
        if not runtime or None in new.values():
            continue  # an input is float for another reason: leave the op as it is
        if name in SAME_SCALE_OPS:
            seen = {_params(sg.tensors[j]) for j in new.values()}
            params = seen.pop() if len(seen) == 1 else None
        else:
            params = _out_params(model, op, name, consumers, ranges)
        if params is None or not _quantize_constants(model, sg, op, name, params, fb):
            continue
        op.inputs = [new.get(int(i), int(i)) for i in op.inputs]
        out.type, out.quantization = fb.TensorType.INT8, _qp(fb, *params)
        # The opcode version stays: these kernels pick int8 from the tensor types at Prepare, and
        # version 1 is registered by every LiteRT build (PRELU has no version 2 at all).
        int8.add(op.outputs[0])
        done.append(f"{name}({_name(out)})")
    if done:
        _drop_identities(model, sg, int8, fb)
    return done


def _const(model, sg, i) -> bool:
    data = model.buffers[sg.tensors[i].buffer].data
    return data is not None and len(data) > 0


def _quantize_constants(model, sg, op, name, params, fb) -> bool:
    """PRELU's alpha: own per-tensor int8 params. MINIMUM/MAXIMUM constants: the shared params."""
    for pos, i in enumerate(op.inputs):
        if i < 0 or not _const(model, sg, i) or sg.tensors[i].type != fb.TensorType.FLOAT32:
            continue
        if name == "PRELU":
            alpha = np.frombuffer(bytes(model.buffers[sg.tensors[i].buffer].data), dtype=np.float32)
            _set_const(model, sg, op, pos, alpha, int8_params(alpha.min(), alpha.max()), fb)
        elif name in ("MINIMUM", "MAXIMUM"):
            value = np.frombuffer(bytes(model.buffers[sg.tensors[i].buffer].data), dtype=np.float32)
            _set_const(model, sg, op, pos, value, params, fb)
        else:
            return False
    return True


def _set_const(model, sg, op, pos, value, params, fb) -> None:
    """A new int8 constant tensor for ``op.inputs[pos]`` (the float one may be shared with other ops)."""
    scale, zp = params
    q = np.clip(np.round(value / scale) + zp, -128, 127).astype(np.int8)
    buf = fb.BufferT()
    buf.data = np.frombuffer(q.tobytes(), dtype=np.uint8)
    model.buffers.append(buf)
    src = sg.tensors[op.inputs[pos]]
    t = fb.TensorT()
    t.name, t.shape, t.type = _name(src) + "/int8", np.array(src.shape, np.int32), fb.TensorType.INT8
    t.buffer, t.quantization = len(model.buffers) - 1, _qp(fb, scale, zp)
    sg.tensors.append(t)
    op.inputs = [int(i) for i in op.inputs]
    op.inputs[pos] = len(sg.tensors) - 1


def _out_params(model, op, name, consumers, ranges):
    from .interface import op_name

    if name == "LOG_SOFTMAX":
        return LOG_SOFTMAX_PARAMS
    users = consumers.get(op.outputs[0], [])
    quants = [u for u in users if op_name(model, u) == "QUANTIZE"]
    if quants:
        p = _params(model.subgraphs[0].tensors[quants[0].outputs[0]])
        if p is not None:
            return p
    rng = ranges.get(_name(model.subgraphs[0].tensors[op.outputs[0]]))
    return int8_params(*rng) if rng is not None else None


def _drop_identities(model, sg, int8: set, fb) -> None:
    """Remove QUANTIZE int8->int8 with equal params, then DEQUANTIZE/QUANTIZE outputs nobody reads."""
    from .interface import op_name

    alias = {}
    keep = []
    for op in sg.operators:
        op.inputs = [alias.get(int(i), int(i)) for i in op.inputs]
        if op_name(model, op) == "QUANTIZE" and op.inputs[0] in int8 and \
                _params(sg.tensors[op.inputs[0]]) == _params(sg.tensors[op.outputs[0]]):
            alias[int(op.outputs[0])] = op.inputs[0]
            continue
        keep.append(op)
    outputs = [alias.get(int(i), int(i)) for i in sg.outputs]
    for sd in model.signatureDefs or []:
        for m in sd.outputs or []:
            if m.tensorIndex in alias:
                m.tensorIndex = alias[m.tensorIndex]
    for i, new in alias.items():  # the surviving tensor takes the name users and signatures know
        if i in sg.outputs:
            sg.tensors[new].name = sg.tensors[i].name
    sg.outputs = outputs
    while True:
        read = {int(i) for op in keep for i in op.inputs} | set(outputs)
        dead = [op for op in keep if op_name(model, op) in ("DEQUANTIZE", "QUANTIZE")
                and all(int(o) not in read for o in op.outputs)]
        if not dead:
            break
        keep = [op for op in keep if op not in dead]
    sg.operators = keep
