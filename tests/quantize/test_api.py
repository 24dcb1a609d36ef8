"""The Python API around quantize/evaluate: callability, light CLI start-up, progress, streaming, spec reuse."""
import subprocess
import sys
import weakref

import numpy as np
import pytest

import edgekit
from edgekit.data import PreprocessSpec, read_spec


@pytest.mark.parametrize("first", ["import edgekit.quantize, edgekit.evaluate, edgekit",
                                   "import edgekit; edgekit.quantize; edgekit.evaluate",
                                   "from edgekit.quantize import Mode; from edgekit.evaluate import EvalResult; "
                                   "import edgekit"])
def test_quantize_and_evaluate_are_callable_in_any_import_order(first):
    """edgekit/__init__.py's hook makes the modules callable; no per-module hack is needed."""
    code = (f"{first}\n"
            "import sys\n"
            "assert callable(edgekit.quantize) and callable(edgekit.evaluate)\n"
            "assert sys.modules['edgekit.quantize'].Mode and sys.modules['edgekit.evaluate'].EvalResult\n"
            "for f, args in ((edgekit.quantize, ('/nonexistent.onnx', None, '/tmp/o.onnx')),\n"
            "                (edgekit.evaluate, ('/nonexistent.onnx', '/nonexistent'))):\n"
            "    try:\n        f(*args, mode='dynamic') if f is edgekit.quantize else f(*args)\n"
            "    except edgekit.EdgekitError as exc:\n        print(type(exc).__name__)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["InputError", "InputError"], out.stderr


def test_building_the_cli_parser_imports_no_heavy_library():
    code = ("import sys\nfrom edgekit.cli import build_parser\nbuild_parser()\n"
            "print(sorted(m for m in ('PIL', 'onnx', 'onnxruntime', 'torch') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "[]", out.stderr
    helped = subprocess.run([sys.executable, "-m", "edgekit.cli", "quantize", "--help"], capture_output=True,
                            text=True, timeout=120)
    assert "--calib-size" in helped.stdout and "--resize" in helped.stdout


def test_a_progress_bar_runs_over_calibration_batches(tiny_model, calib_npy, tmp_path, monkeypatch):
    import edgekit.quantize.static as static

    bars = []

    def recording(iterable, total=None, desc="", unit="it", leave=False):
        bar = {"total": total, "desc": desc, "ticks": 0}
        bars.append(bar)
        for item in iterable:
            bar["ticks"] += 1
            yield item

    monkeypatch.setattr(static, "progress", recording)
    result = edgekit.quantize(tiny_model, calib_npy, tmp_path / "o.onnx")
    assert bars == [{"total": 12, "desc": "calibrating", "ticks": 12}] and result.calib_samples == 12


@pytest.mark.parametrize("method", ["minmax", "entropy"])
def test_calibration_streams_samples(tiny_model, tmp_path, method):
    """Calibration holds a few samples at a time, not the set: when sample i is made, at most the ones
    still running (``in_flight()``, concurrent MinMax runs) plus the reader's one-sample look-ahead live."""
    from edgekit.quantize.calib import in_flight

    alive, worst = [], [0]

    def samples():
        for i in range(40):  # no gc.collect(): arrays have no cycles, refcounting frees them at once
            worst[0] = max(worst[0], sum(r() is not None for r in alive))
            x = np.random.default_rng(i).random((1, 3, 8, 8), dtype=np.float32)
            alive.append(weakref.ref(x))
            yield {"x": x}

    result = edgekit.quantize(tiny_model, samples, tmp_path / "o.onnx", method=method)
    assert result.calib_samples == 40
    # after calibration a few samples are read again to measure the result against float (api.SQNR_SAMPLES)
    assert worst[0] <= in_flight() + 1 < 40


def test_eval_reuses_the_spec_stored_by_quantize(tiny_model, tmp_path):
    """quantize stores the spec; evaluate on the INT8 model uses it without being told (same numbers as
    passing that spec explicitly, different from the input-shape default)."""
    from PIL import Image

    root = tmp_path / "imgs"
    for c in range(4):
        (root / f"c{c}").mkdir(parents=True)
        for i in range(3):
            rng = np.random.default_rng(10 * c + i)
            Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(root / f"c{c}" / f"{i}.png")
    spec = PreprocessSpec(mean=(0.9, 0.1, 0.5), std=(0.05, 0.5, 0.1))
    q = edgekit.quantize(tiny_model, root, tmp_path / "q.onnx", spec=spec)
    assert read_spec(q.output) == spec.replace(size=(8, 8))
    float_ref = edgekit.load(tiny_model)
    stored, = edgekit.evaluate(q.output, root, reference=float_ref, spec=None)
    explicit, = edgekit.evaluate(q.output, root, reference=float_ref, spec=spec)
    default, = edgekit.evaluate(q.output, root, reference=float_ref, spec=PreprocessSpec())
    assert stored.max_abs_error == explicit.max_abs_error  # same inputs, same numbers
    assert stored.max_abs_error != default.max_abs_error
