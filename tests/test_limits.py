"""Issue 17 item 10: edgekit's thread pools sleep when idle instead of spinning against other jobs."""
from __future__ import annotations

import os
import subprocess
import sys

import onnxruntime as ort

from edgekit.runtime.device import session_options

_PROBE = "import edgekit.distill, os, torch; torch.set_num_threads(2); print(os.environ.get('OMP_WAIT_POLICY'))"


def _probe(env_extra):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_openmp_waits_passively_once_edgekit_distill_is_imported():
    assert _probe({}) == "PASSIVE"  # set before torch loads libgomp, which reads it once
    assert _probe({"OMP_WAIT_POLICY": "ACTIVE"}) == "ACTIVE"  # a user's own choice wins


def test_onnxruntime_sessions_do_not_spin():
    opts = session_options(ort, 2)
    assert opts.intra_op_num_threads == 2 and opts.inter_op_num_threads == 1
    assert opts.get_session_config_entry("session.intra_op.allow_spinning") == "0"
