"""The one error family of edgekit.

Every failure a user can cause raises an ``EdgekitError``. Its message is one line that says what
failed, why, and what to do; the CLI prints exactly that line and exits non-zero (a traceback only
with ``--debug``). This module imports only the standard library: the device runner reuses it.
"""
from __future__ import annotations


class EdgekitError(Exception):
    """Base of all edgekit errors: ``what`` failed, ``why``, and the ``fix`` to try."""

    exit_code = 2

    def __init__(self, what: str, why: str = "", fix: str = ""):
        self.what, self.why, self.fix = what, why, fix
        super().__init__(self.line())

    def line(self) -> str:
        parts = [self.what.rstrip(".")]
        if self.why:
            parts.append(self.why.rstrip("."))
        text = ": ".join(parts)
        fix = self.fix.rstrip(".")
        return f"{text}. {fix[:1].upper()}{fix[1:]}." if fix else f"{text}."


class InputError(EdgekitError):
    """A bad argument: wrong shape, dtype, name, value range, missing file."""


class ModelError(EdgekitError):
    """A model file that cannot be read or is not supported as given."""


class DataError(EdgekitError):
    """Calibration, evaluation or training data that cannot be used."""


class ConvertError(EdgekitError):
    """ONNX -> TFLite conversion failed."""


class UnsupportedOpError(ConvertError):
    """An ONNX op (or attribute) that has no lowering."""


class QuantizeError(EdgekitError):
    """Quantization failed."""


class TargetError(EdgekitError):
    """An unknown or malformed target profile."""


class RemoteError(EdgekitError):
    """A device reached over ssh or adb failed or lacks what the runner needs."""


class DependencyError(EdgekitError):
    """An optional dependency (torch, ai-edge-quantizer, ...) is not installed."""


class EdgekitWarning(UserWarning):
    """Something the user should know that does not stop the work (dynamic dims fixed to 1, ...)."""
