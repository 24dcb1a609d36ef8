"""LiteRT's INFO line is kept out of edgekit's output at the file-descriptor level; real errors stay."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from edgekit.runtime.device import KNOWN_NOISE, quiet_stderr
from tests.helpers.tflite_builder import fc_model


def test_loading_a_tflite_model_prints_nothing(tmp_path):
    path = fc_model(tmp_path / "fc.tflite", np.eye(4, dtype=np.float32), np.zeros(4, np.float32))
    code = ("import sys, edgekit, numpy as np; m = edgekit.load(sys.argv[1]); "
            "print(m.run(np.ones((1, 4), np.float32))[m.outputs[0].name].sum())")
    proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "4.0"  # identity weights: the model ran
    assert proc.stderr == ""  # without quiet_stderr: "INFO: Created TensorFlow Lite XNNPACK delegate for CPU."


def test_other_stderr_output_is_re_emitted(capfd):
    with quiet_stderr():
        os.write(2, (KNOWN_NOISE[0] + "\n").encode())
        os.write(2, b"ERROR: something real\n")
    assert capfd.readouterr().err == "ERROR: something real\n"
