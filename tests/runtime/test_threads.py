"""Issue 17 item 3: thread counts are bounded 1..max(8, 4 x usable cores) on every route to a backend.

threads=1_000_000 reached 14 GB and exhausted the machine's thread limit; a bundle saying so segfaulted.
"""
from __future__ import annotations

import numpy as np
import pytest

import edgekit
from edgekit.errors import InputError
from edgekit.profile import profile
from edgekit.runtime import device
from edgekit.runtime.device import check_threads, thread_limit, usable_cores
from helpers import onnx_builder, tflite_builder


def test_the_bound_follows_the_usable_cores():
    assert thread_limit() == max(8, 4 * usable_cores())
    assert (thread_limit(1), thread_limit(2), thread_limit(16)) == (8, 8, 64)
    assert check_threads(None) is None and check_threads(np.int64(3)) == 3 and type(check_threads(3)) is int


@pytest.mark.parametrize("bad", [0, -1, 10**6, 2.0, True, "4"])
def test_out_of_range_or_mistyped_threads_are_one_line(bad):
    with pytest.raises(InputError) as exc:
        check_threads(bad, "threads")
    assert f"from 1 to {thread_limit()}" in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize("builder", [onnx_builder, tflite_builder], ids=["onnx", "tflite"])
def test_load_refuses_a_million_threads_before_opening(tmp_path, builder, monkeypatch):
    path = builder.add_relu_model(tmp_path / ("m.onnx" if builder is onnx_builder else "m.tflite"))
    opened = []
    monkeypatch.setattr(device, "detect_format", lambda p: opened.append(p) or "onnx")
    with pytest.raises(InputError, match="from 1 to"):
        edgekit.load(path, threads=1_000_000)
    assert opened == []  # refused before any backend was touched
    monkeypatch.undo()
    assert edgekit.load(path, threads=thread_limit()).threads == thread_limit()  # the bound itself is allowed


def test_profile_and_the_device_runner_refuse_too(tmp_path):
    path = onnx_builder.add_relu_model(tmp_path / "m.onnx")
    with pytest.raises(InputError, match="--threads must be a whole number from 1 to"):
        profile(path, threads=100_000, runs=1, warmup=0)
    assert device.main([str(path), "--threads", "100000", "--runs", "1"]) == 3
