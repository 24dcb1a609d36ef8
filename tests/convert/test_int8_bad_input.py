"""Bad input for INT8 TFLite (issue 5): one clear EdgekitError, and never a partial output file."""
from __future__ import annotations

import numpy as np
import pytest

from ._int8_graphs import SIZE, calib_npy, cnn

pytest.importorskip("ai_edge_quantizer")


@pytest.fixture
def src(tmp_path):
    return cnn(tmp_path / "m.onnx")


def _leftovers(d):
    return sorted(p.name for p in d.iterdir() if p.suffix in (".tflite", ".part") or ".part" in p.name)


def test_int8_without_calib_is_a_clear_error(tmp_path, src):
    import edgekit
    from edgekit.errors import InputError

    with pytest.raises(InputError, match="--calib"):
        edgekit.convert(src, tmp_path / "o.tflite", int8=True)
    assert _leftovers(tmp_path) == []


def test_cli_int8_without_calib_exits_2_with_one_line(tmp_path, src, capsys):
    from edgekit.cli import main

    assert main(["convert", str(src), "--int8", "-o", str(tmp_path / "o.tflite")]) == 2
    err = capsys.readouterr().err.strip()
    assert "--calib" in err and len(err.splitlines()) == 1
    assert _leftovers(tmp_path) == []


def test_calibration_shape_mismatch_names_input_and_shape(tmp_path, src):
    import edgekit
    from edgekit.errors import DataError

    bad = calib_npy(tmp_path / "bad.npy", n=4, shape=(3, 8, 8))
    with pytest.raises(DataError) as exc:
        edgekit.convert(src, tmp_path / "o.tflite", int8=True, calib=bad)
    msg = str(exc.value)
    assert "'x'" in msg and f"[1, 3, {SIZE}, {SIZE}]" in msg and "[1, 3, 8, 8]" in msg
    assert _leftovers(tmp_path) == []


def _no_uint8_target(tmp_path):
    """x86_64's target file with uint8 dropped from the TFLite int8 io types (no shipped target lacks it)."""
    from edgekit.targets import get_target, targets_dir

    text = (targets_dir() / "x86_64.toml").read_text()
    text = text.replace('name = "x86_64"', 'name = "no-uint8"').replace(
        'tflite_io = ["float", "int8", "uint8"]', 'tflite_io = ["float", "int8"]')
    toml = tmp_path / "no-uint8.toml"
    toml.write_text(text)
    assert [t.value for t in get_target(toml).tflite_int8.io_types] == ["float", "int8"]  # the edit took
    return toml


def test_uint8_io_on_target_without_uint8_kernels(tmp_path, src):
    import edgekit
    from edgekit.errors import TargetError

    toml = _no_uint8_target(tmp_path)
    with pytest.raises(TargetError, match=r"--io uint8 is not supported on target no-uint8") as exc:
        edgekit.convert(src, tmp_path / "o.tflite", int8=True, calib=calib_npy(tmp_path / "c.npy", n=2),
                        io="uint8", target=toml)
    assert "float|int8" in str(exc.value)
    assert _leftovers(tmp_path) == []


def test_cli_uint8_io_on_target_without_uint8_kernels_exits_2_with_one_line(tmp_path, src, capsys):
    from edgekit.cli import main

    toml = _no_uint8_target(tmp_path)
    calib = calib_npy(tmp_path / "c.npy", n=2)
    code = main(["convert", str(src), "--int8", "--calib", str(calib), "--io", "uint8", "--target", str(toml),
                 "-o", str(tmp_path / "o.tflite")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--io uint8 is not supported on target no-uint8" in err and "--io float" in err
    assert _leftovers(tmp_path) == []


def _interrupted_at(n: int, seen: list):
    """A sample source (a fresh iterator per pass) that records each sample it yields and raises
    KeyboardInterrupt, as Ctrl-C would, when sample ``n`` is requested."""
    rng = np.random.default_rng(0)

    def samples():
        for i in range(10):
            if i == n:
                raise KeyboardInterrupt
            seen.append(i)
            yield {"x": rng.random((1, 3, SIZE, SIZE), dtype=np.float32)}

    return samples


def test_interrupt_during_accuracy_aware_evaluation_leaves_no_file(tmp_path, src):
    """Ctrl-C after calibration, while --max-drop evaluates: still nothing written, old file kept."""
    import edgekit

    evaluated = []
    eval_samples = _interrupted_at(3, evaluated)
    out = tmp_path / "o.tflite"
    out.write_bytes(b"previous")
    with pytest.raises(KeyboardInterrupt):
        edgekit.convert(src, out, int8=True, calib=calib_npy(tmp_path / "c.npy", n=4), max_drop=0.5,
                        eval_data=eval_samples)
    assert evaluated, "evaluation should have started before the interrupt"
    assert out.read_bytes() == b"previous" and _leftovers(tmp_path) == ["o.tflite"]


def test_interrupt_during_calibration_leaves_no_file(tmp_path, src):
    import edgekit

    seen = []
    samples = _interrupted_at(2, seen)  # Ctrl-C arrives while the third sample is requested
    out = tmp_path / "o.tflite"
    with pytest.raises(KeyboardInterrupt):
        edgekit.convert(src, out, int8=True, calib=samples)
    assert seen == [0, 1], "calibration should have started before the interrupt"
    assert not out.exists() and _leftovers(tmp_path) == []


def test_existing_output_survives_a_failed_run(tmp_path, src):
    import edgekit
    from edgekit.errors import DataError

    out = tmp_path / "o.tflite"
    out.write_bytes(b"previous")
    with pytest.raises(DataError):
        edgekit.convert(src, out, int8=True, calib=calib_npy(tmp_path / "bad.npy", n=2, shape=(3, 4, 4)))
    assert out.read_bytes() == b"previous"


def test_max_drop_without_eval_and_io_with_dynamic(tmp_path, src):
    import edgekit
    from edgekit.errors import InputError

    with pytest.raises(InputError, match="--eval"):
        edgekit.convert(src, tmp_path / "o.tflite", int8=True, calib=calib_npy(tmp_path / "c.npy", n=2), max_drop=1)
    with pytest.raises(InputError, match="--io int8 needs static int8 activations"):
        edgekit.convert(src, tmp_path / "o.tflite", dynamic=True, io="int8")
    assert _leftovers(tmp_path) == []


def test_convert_api_refuses_quantization_arguments_without_a_scheme(tmp_path, src):
    """Before issue 12, edgekit.convert(m, o, calib=...) silently wrote a float model."""
    import edgekit
    from edgekit.errors import InputError
    from edgekit.quantize import QuantizeResult

    for kw in ({"calib": calib_npy(tmp_path / "c.npy", n=2)}, {"io": "int8"}, {"max_drop": 1.0},
               {"block_size": 32}):
        with pytest.raises(InputError, match=f"{next(iter(kw))} only apply to quantization"):
            edgekit.convert(src, tmp_path / "o.tflite", **kw)
    assert _leftovers(tmp_path) == []
    with pytest.raises(InputError, match="--int8 and --fp16 exclude each other"):
        edgekit.convert(src, tmp_path / "o.tflite", int8=True, fp16=True, calib=tmp_path / "c.npy")
    r = edgekit.convert(src, tmp_path / "f.tflite")
    assert isinstance(r, QuantizeResult) and r.scheme is None and r.format == "tflite"
    assert r.size == (tmp_path / "f.tflite").stat().st_size and r.ops["FULLY_CONNECTED"] == 1
    q = edgekit.convert(src, tmp_path / "d.tflite", scheme="w8-dynamic")
    assert q.scheme.name == "w8-dynamic" and q.size < r.size
