"""Without torch: a clear DependencyError for distill, and everything else still imports and runs."""
from __future__ import annotations

import subprocess
import sys

# sys.modules["torch"] = None makes every "import torch" raise ImportError, as on a machine without it.
BLOCK = "import sys; sys.modules['torch'] = None\n"


def _py(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK + code], capture_output=True, text=True, timeout=120)


def test_distill_api_says_how_to_install_torch(tmp_path):
    code = ("import edgekit\n"
            "from edgekit.errors import DependencyError\n"
            "try:\n"
            f"    edgekit.distill('t.onnx', 'tiny-mobilenet', {str(tmp_path)!r}, {str(tmp_path / 's.onnx')!r})\n"
            "except DependencyError as e:\n"
            "    print('DEP', e)\n")
    r = _py(code)
    assert r.returncode == 0, r.stderr
    assert "DEP torch is not installed" in r.stdout and "pip install 'edgekit[distill]'" in r.stdout


def test_distill_cli_one_line_error_and_other_commands_still_work(tmp_path):
    code = ("from edgekit.cli import main\n"
            f"rc = main(['distill', '--teacher', 't.onnx', '--student', 'tiny-mobilenet', '--data', {str(tmp_path)!r},"
            f" '-o', {str(tmp_path / 's.onnx')!r}])\n"
            "print('RC', rc)\n"
            "main(['targets'])\n")
    r = _py(code)
    assert "RC 2" in r.stdout, r.stderr
    err = [line for line in r.stderr.splitlines() if line.startswith("edgekit distill: error:")]
    assert len(err) == 1 and "pip install 'edgekit[distill]'" in err[0]
    assert "x86_64" in r.stdout  # the targets command ran after the failed distill
