"""Dropout (inference) -> nothing. ``seed`` and ``ratio`` do not matter at inference; a used mask
output is unsupported (the passthrough returns one tensor for a two-output node)."""
from ._base import passthrough

passthrough("Dropout", since=1, ignore=("seed", "ratio", "is_test", "consumed_inputs"))
