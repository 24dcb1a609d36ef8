"""edgekit.ui's heartbeat: progress lines for logs, on a fake clock (tests never read the real one)."""
from __future__ import annotations

import io
import subprocess
import sys

from edgekit import ui


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def beat(enabled: bool = True):
    clock, out = Clock(), io.StringIO()
    return ui.Heartbeat(15.0, enabled=enabled, stream=out, clock=clock), clock, out


def test_a_line_after_an_interval_of_silence_with_elapsed_time_rate_and_eta():
    hb, clock, out = beat()
    with hb:
        ui.activity("distilling (20 epochs)")
        clock.now += 10
        assert not hb.tick() and out.getvalue() == ""  # 10 s of silence: not yet
        for i in ui.progress(range(40), desc="epoch 3/20", unit="batch"):
            if i == 10:  # 10 batches done: the heartbeat thread would tick now
                assert hb.tick()
            clock.now += 0.5  # 0.5 s per batch
        clock.now += 15
        assert hb.tick()  # the loop has ended: no stale count
    first, second = out.getvalue().splitlines()
    assert second.strip() == "... distilling (20 epochs): 45 s; 45 s since start"
    line = first.strip()
    # 15 s since the step began; 10 of 40 batches in 5 s: 0.5 s each, 30 batches = 15 s left
    assert line == ("... distilling (20 epochs): 15 s; epoch 3/20 10/40 batch, 0.5 s/batch, ETA 15 s; "
                    "15 s since start")


def test_output_resets_the_wait_and_a_terminal_gets_no_lines():
    hb, clock, out = beat()
    with hb:
        clock.now += 14
        ui.touch()  # the demo printed a line
        clock.now += 14
        assert not hb.tick()
        clock.now += 1
        assert hb.tick()
        clock.now += 5
        assert not hb.tick()  # the beat itself counts as output
    tty, clock, out = beat(enabled=False)  # a terminal shows tqdm bars instead
    with tty:
        clock.now += 100
        assert not tty.tick() and out.getvalue() == ""


def test_no_heartbeat_no_tracking():
    bar = ui.progress(range(3), desc="x")
    assert list(bar) == [0, 1, 2] and type(bar).__name__ == "tqdm"  # a plain bar when nothing listens


def test_eta_per_epoch_leaves_out_the_first_epochs_setup():
    clock = Clock()
    eta = ui.Eta(10, clock=clock)
    clock.now += 30  # epoch 1 includes loading data and the teacher's logits
    assert eta.line(1) == "30 s elapsed, 30.0 s/epoch, ETA 4m30s"
    clock.now += 8
    clock.now += 8
    assert eta.line(3) == "46 s elapsed, 8.0 s/epoch, ETA 56 s"
    clock.now += 56
    assert eta.line(10) == "1m42s elapsed, 8.0 s/epoch"


HEARTBEAT_UNDER_QUIET = """
import os, sys
from edgekit import ui
from edgekit.runtime.device import quiet_stderr
t = [0.0]
with ui.Heartbeat(15.0, enabled=True, clock=lambda: t[0]) as hb:
    ui.activity("converting")
    with quiet_stderr():
        os.write(2, b"ERROR: from the runtime\\n")
        t[0] = 20.0
        hb.tick()
"""


def test_heartbeat_is_not_held_back_while_stderr_is_silenced():
    """It writes to its own copy of fd 2: its line comes out at once, before what quiet_stderr re-emits."""
    proc = subprocess.run([sys.executable, "-c", HEARTBEAT_UNDER_QUIET], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("      ... converting: 20 s") and lines[1] == "ERROR: from the runtime"
