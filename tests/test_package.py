"""The lazy public API of the edgekit package."""
from __future__ import annotations

import subprocess
import sys


def test_public_functions_stay_callable_after_their_subpackage_is_imported():
    """``import edgekit.profile`` makes Python set the subpackage as ``edgekit.profile``; the public
    function ``edgekit.profile(...)`` must still work, and the module's names must still resolve."""
    code = ("import edgekit.profile, edgekit\n"
            "from edgekit.profile import Protocol\n"
            "assert callable(edgekit.profile) and edgekit.profile.Protocol is Protocol\n"
            "try:\n    edgekit.profile('/nonexistent.onnx')\n"
            "except edgekit.EdgekitError as e:\n    print('OK', type(e).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "OK InputError", out.stderr


def test_unknown_attribute():
    import edgekit

    try:
        edgekit.no_such_thing
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("edgekit.no_such_thing resolved")
