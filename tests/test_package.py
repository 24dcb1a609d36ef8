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


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    """Issue 2: README opens with exactly two commands (install + demo, install + tests); .ci/run runs the
    test command verbatim. Running them needs a fresh venv and the network, so this checks what they name:
    the extras exist in pyproject.toml, the demo command exists, and .ci/run's grep picks the test command."""
    import re
    from pathlib import Path

    try:  # Python 3.11+; pyproject.toml pulls in tomli on 3.10
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover
        import tomli as tomllib

    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text()
    blocks = re.findall(r"```bash\n(.*?)```", readme, re.S)
    assert readme.split("```bash")[0].strip() == "# edgekit"  # the commands open the README
    demo_cmd, test_cmd = (b.strip() for b in blocks[:2])
    assert "\n" not in demo_cmd and "\n" not in test_cmd
    assert demo_cmd.startswith("python3 -m venv .venv && .venv/bin/pip install -e ") and \
        demo_cmd.endswith("&& .venv/bin/edgekit demo")
    assert test_cmd.startswith("python3 -m venv .venv && .venv/bin/pip install -e ") and \
        test_cmd.endswith("&& .venv/bin/python -m pytest -q")
    extras = set(tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    for cmd in (demo_cmd, test_cmd):
        named = re.search(r'install -e "\.\[([^\]]*)\]"', cmd).group(1).split(",")
        assert set(named) <= extras, (named, extras)
    assert "dev" in test_cmd
    ci = (root / ".ci" / "run").read_text()
    pattern = re.search(r"grep -m1 -E '([^']+)' README.md", ci).group(1)
    picked = next(line for line in readme.splitlines() if re.search(pattern, line))
    assert picked == test_cmd  # the grep in .ci/run selects the README's test command, not the demo one
    from edgekit.cli import COMMANDS

    assert "demo" in COMMANDS
    out = subprocess.run([sys.executable, "-m", "edgekit", "demo", "--help"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0 and "usage: edgekit demo" in out.stdout
