"""The ONNX backend node test cases shipped with the onnx package, for every op edgekit lowers.

For each supported op, the cases of its module in ``onnx.backend.test.case.node`` are generated
(numpy reference outputs), converted with ``edgekit.convert`` and run in the LiteRT interpreter; the
outputs must match the references within the converter tests' tolerance
(``rtol * max(1, range) + 1e-6`` with rtol 1e-5; float16 outputs within 2**-10 of the range; integer
and bool outputs exactly). See ``_backend.py`` for how parameter inputs are frozen to constants.

Every case runs, whatever its dtypes; each one that does not match is accounted for:
* ``EXCLUDED`` lists cases by name with the reason;
* a conversion refused with a one-line ``EdgekitError`` must match one of ``REFUSAL_RULES`` (op,
  message pattern, reason): the converter failing cleanly before writing anything is the issue's
  required behaviour for what TFLite cannot express. A refusal no rule explains fails the test;
* a traceback (any other exception, also a lowering bug wrapped into a ConvertError), a file LiteRT
  cannot run, and a mismatch always fail the test.
The only rule-based skip is a case whose every input is a parameter (nothing left to feed).
Cases of an op's module whose graph does not contain that op (e.g. ``*_expanded`` function bodies)
test other ops and are not counted. ``tools/node_tests.py`` runs all of onnx's node cases this way.
"""
from __future__ import annotations

import re

import pytest

from . import _backend

pytest.importorskip("onnx.backend.test.case.node")

EXCLUDED = {
    # training-mode / random semantics: no inference meaning (they run, and do not match the seeded reference)
    "test_training_dropout": "Dropout with training_mode=1 is random (the reference uses a fixed numpy seed)",
    "test_training_dropout_default": "Dropout with training_mode=1 is random (the reference uses a fixed numpy seed)",
    "test_averagepool_2d_ceil_last_window_starts_on_pad": "the reference output is hand-rounded to 4 decimals "
                                                          "(0.1511 for 1.3595 / 9 = 0.151056): off by 4.4e-5",
}

# (op type or "*", regex on the refusal message, why TFLite / edgekit cannot do it)
REFUSAL_RULES = [
    ("*", r"no exact wider type for (uint64|float64|uint32)",
     "no TFLite kernel for this dtype and no exact wider type to compute in (uint64, float64; uint32 DIV)"),
    ("*", r"(input|target) type is (float8|float4|u?int[24]\b|string|uint64)|which TFLite tensors cannot hold",
     "float8/float4/int4/int2/string tensors: no TFLite tensor type edgekit writes (uint64: no CAST kernel)"),
    ("*", r"string operands", "string tensors: edgekit's TFLite models hold numeric and bool tensors"),
    ("*", r"input \w+ has dtype (uint8|int8|int16|int32|int64|float64) \(supported: float32\)",
     "integer pooling/conv: TFLite's integer pool/conv kernels are quantized (scale, zero point)"),
    ("*", r"dynamic dimension|zero-size|empty result|split sizes",
     "zero-size tensors (a 0 in a shape): TFLite models here have static non-empty shapes"),
    ("*", r"dilated pooling", "dilated pooling: TFLite pool kernels have no dilation"),
    ("Dropout", r"training_mode", "a runtime (or True) training_mode input: random dropping has no inference meaning"),
    ("MaxPool", r"Indices output", "MaxPool's argmax Indices output: no TFLite kernel"),
    ("BatchNormalization", r"training mode", "training-mode BatchNormalization (running statistics outputs)"),
    ("ConvTranspose", r"3-D transposed convolution", "3-D ConvTranspose: TFLite's TRANSPOSE_CONV is 2-D (1-D, "
                                                     "grouped and dilated ones are lowered)"),
    ("Resize", r"tf_crop_and_resize", "tf_crop_and_resize needs a runtime crop box (roi)"),
    ("Resize", r"differ from output/input sizes", "a scale that is not output/input size: TFLite computes the "
                                                  "sampling step from the sizes, ONNX from the scale"),
    ("Resize", r"pytorch_half_pixel to an output of size 1", "pytorch_half_pixel samples at -0.5 for size-1 outputs"),
    ("*", r"is a (sequence|optional), not a tensor", "sequence/optional values: TFLite models take dense tensors"),
    ("*", r"Invalid data-type for array",
     "bfloat16 at the graph's inputs/outputs: LiteRT's Python interpreter, which runs every written file once "
     "before edgekit keeps it, has no numpy type for bfloat16 (inside the graph bfloat16 casts convert)"),
    ("Reshape", r"cannot reshape", "allowzero with a 0 in the shape of a zero-size tensor"),
]


def _ops():
    from edgekit.convert import registry

    return [op for op in registry.supported_ops() if _backend.module_for(op)]


def _refusal_reason(op: str, message: str):
    for rule_op, pattern, reason in REFUSAL_RULES:
        if rule_op in ("*", op) and re.search(pattern, message):
            return reason
    return None


@pytest.mark.parametrize("op", _ops())
def test_backend_cases(op, tmp_path):
    from edgekit.convert import registry

    supported = set(registry.supported_ops())
    cases = _backend.cases_for(op)
    assert cases, f"no backend cases generated for {op}"
    problems, passed = [], 0
    for case in cases:
        if case.name in EXCLUDED:
            continue
        outcome = _backend.run_case(case, tmp_path, supported)
        if outcome.status == "pass":
            passed += 1
        elif outcome.status == "refused":
            if _refusal_reason(op, outcome.detail) is None:
                problems.append(f"{case.name}: refused, no rule explains it: {outcome.detail}")
        elif not outcome.status.startswith("skip:"):   # traceback, unrunnable, mismatch
            problems.append(f"{case.name}: {outcome.status}: {outcome.detail}")
    assert not problems, "\n".join(problems)
    runnable = [c for c in cases if c.name not in EXCLUDED]
    # an op whose every case is refused or skipped by a rule is not tested at all: say so
    if not passed and runnable and op not in _NO_RUNNABLE:
        pytest.fail(f"none of the {len(cases)} backend cases of {op} ran")


# ops whose backend cases all fall under a rule (listed so it is a decision, not an accident)
_NO_RUNNABLE: dict[str, str] = {
    "ReduceLogSumExp": "every shipped case computes in float64 (TFLite has no float64 EXP/SUM/LOG) or reduces an "
                       "empty set; test_int_dtypes.py::test_composite_reductions covers float32",
}


def test_exclusions_name_real_cases():
    """A stale exclusion (a renamed case in a newer onnx) must not hide anything."""
    names = {c.name for op in {"Dropout", "Identity", "AveragePool"}
             for c in _backend.cases_for(op)}
    assert set(EXCLUDED) <= names, set(EXCLUDED) - names
