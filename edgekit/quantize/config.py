"""Options of ``edgekit.quantize`` beside the scheme: enums, and their coercion from strings."""
from __future__ import annotations

import enum

from ..errors import InputError


class Mode(str, enum.Enum):
    """The --mode flag from before schemes; each value names a scheme (MODE_SCHEMES)."""
    STATIC = "static"    # w8a8
    DYNAMIC = "dynamic"  # w8-dynamic
    FP16 = "fp16"        # fp16


MODE_SCHEMES = {Mode.STATIC: "w8a8", Mode.DYNAMIC: "w8-dynamic", Mode.FP16: "fp16"}


class Method(str, enum.Enum):
    MINMAX = "minmax"
    ENTROPY = "entropy"
    PERCENTILE = "percentile"


def coerce(enum_cls, value, what: str):
    """Accept the enum or its string value; a clear InputError otherwise."""
    if isinstance(value, enum_cls):
        return value
    try:
        return enum_cls(str(value).lower())
    except ValueError:
        choices = "|".join(m.value for m in enum_cls)
        raise InputError(f"unknown {what} {value!r}", f"choose {choices}", f"pass one of {choices}") from None
