"""Test-suite root. Its presence puts tests/ on sys.path (pytest's default "prepend" import mode), so
test modules anywhere below can use the shared model builders in ``tests/helpers``.
"""

# Test modules import torch before any edgekit module that would set this (issue 17 item 10): torch's
# OpenMP threads sleep when idle instead of spinning against the other jobs of a shared machine.
from edgekit.limits import calm_thread_pools  # noqa: E402

calm_thread_pools()

import os  # noqa: E402

import pytest  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _edgekit_cache(tmp_path_factory):
    """edgekit caches probe verdicts by file hash (edgekit/runtime/probe.py): keep the suite's under tmp."""
    os.environ["EDGEKIT_CACHE_DIR"] = str(tmp_path_factory.mktemp("edgekit-cache"))
    yield
