"""What people look at: progress bars for long work, tables for results."""
from __future__ import annotations

import sys
from typing import Iterable, Sequence


def progress(iterable: Iterable, total: int | None = None, desc: str = "", unit: str = "it", leave: bool = False):
    """A progress bar on stderr (hidden when stderr is not a terminal, so logs stay clean; a running
    ``Heartbeat`` then reports the count and an ETA in its lines instead)."""
    from tqdm import tqdm

    bar = tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr,
               disable=None, dynamic_ncols=True)
    return bar if _ACTIVE is None else _tracked(bar, _ACTIVE, desc, bar.total, unit)


def print_warnings(command: str, caught, own_only: bool = True) -> None:
    """One stderr line per caught warning, instead of python's file:line format; ``own_only`` keeps
    edgekit's own (EdgekitWarning) and drops library chatter."""
    from .errors import EdgekitWarning

    for w in caught:
        if not own_only or issubclass(w.category, EdgekitWarning):
            print(f"edgekit {command}: warning: {w.message}", file=sys.stderr)


LIST_INLINE = 3  # names a table cell shows itself; longer lists go under the table


def name_list(label: str, names, below: list) -> str:
    """Table cell for ``names``: the names when few, else their count, with the names queued in ``below``
    to print under the table (inline, a long list would stretch every row of the table to its width)."""
    names = list(names)
    if len(names) <= LIST_INLINE:
        return ", ".join(names) or "none"
    below.append(f"{label}:\n" + "\n".join(f"  {n}" for n in names))
    return f"{len(names)} (below)"


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def table(rows: Sequence[Sequence], headers: Sequence[str], title: str | None = None) -> str:
    """Format rows as a plain-text table; numbers are right-aligned."""
    cells = [[_cell(v) for v in row] for row in rows]
    numeric = [all(isinstance(r[i], (int, float)) or r[i] is None for r in rows) if rows else False
               for i in range(len(headers))]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]

    def fmt(row):
        return "  ".join(c.rjust(w) if numeric[i] else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip()

    lines = ([title] if title else []) + [fmt(headers), "  ".join("-" * w for w in widths)]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


# --- heartbeat: progress in logs -----------------------------------------------------------------

def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def duration(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s} s" if s < 60 else f"{s // 60}m{s % 60:02d}s"


class Heartbeat:
    """Progress lines for logs: when stderr is not a terminal (tqdm bars are hidden there), a line every
    ``interval`` seconds of silence says what runs, for how long, and how far along it is with an ETA.

    A background thread prints it, so steps without natural progress points (a conversion, one long
    library call) show they are alive. It writes to its own duplicate of the stderr file descriptor:
    code that silences fd 2 for a while (``edgekit.runtime.device.quiet_stderr``) does not hold the
    heartbeat back. Use as a context manager; ``activity``/``advance`` update what it shows.
    """

    def __init__(self, interval: float = 15.0, *, enabled: bool | None = None, stream=None, clock=None):
        import time

        self.interval = interval
        self.enabled = (not _isatty(sys.stderr)) if enabled is None else enabled
        self.clock = clock or time.monotonic
        self._stream = stream
        self._own = None
        self.start = self.last = self.step_start = self.clock()
        self.what = "working"
        self.count: tuple | None = None  # (desc, done, total, unit, started)
        self._stop = None

    # what is shown
    def activity(self, what: str, new_step: bool = True) -> None:
        self.what = what
        if new_step:
            self.count, self.step_start = None, self.clock()

    def advance(self, desc: str, done: int, total: int | None, unit: str) -> None:
        now = self.clock()
        if self.count is None or self.count[0] != desc or done < self.count[1]:
            self.count = (desc, done, total, unit, now)
        else:
            self.count = (desc, done, total, unit, self.count[4])

    def touch(self) -> None:
        """Output was just printed: the next beat is due ``interval`` from now."""
        self.last = self.clock()

    def line(self) -> str:
        now = self.clock()
        parts = [f"{self.what}: {duration(now - self.step_start)}"]
        if self.count is not None:
            desc, done, total, unit, started = self.count
            text = f"{desc} {done}/{total} {unit}" if total else f"{desc} {done} {unit}"
            if done > 0:
                per = (now - started) / done
                rate = f"{per:.0f}" if per >= 10 else f"{per:.2g}"  # 250, not 2.5e+02
                text += f", {rate} s/{unit}" + (f", ETA {duration(per * (total - done))}" if total else "")
            parts.append(text)
        parts.append(f"{duration(now - self.start)} since start")
        return "      ... " + "; ".join(parts)

    def tick(self) -> bool:
        """Print a line if ``interval`` seconds passed without output; True when it printed."""
        if not self.enabled or self.clock() - self.last < self.interval:
            return False
        out = self._own or self._stream or sys.stderr
        try:
            out.write(self.line() + "\n")
            out.flush()
        except (OSError, ValueError):  # a closed log: progress is not worth failing for
            return False
        self.touch()
        return True

    # lifetime
    def __enter__(self):
        import threading

        global _ACTIVE
        self.start = self.last = self.step_start = self.clock()
        if self.enabled:
            if self._stream is None:
                try:
                    import os

                    self._own = os.fdopen(os.dup(sys.stderr.fileno()), "w", buffering=1)
                except (AttributeError, OSError, ValueError):  # no real fd (captured): write to the object
                    self._own = None
            self._stop = threading.Event()
            thread = threading.Thread(target=self._run, name="edgekit-heartbeat", daemon=True)
            thread.start()
        self._prev, _ACTIVE = _ACTIVE, self
        return self

    def _run(self) -> None:
        while not self._stop.wait(min(1.0, self.interval / 4)):
            self.tick()

    def __exit__(self, *exc) -> None:
        global _ACTIVE
        _ACTIVE = self._prev
        if self._stop is not None:
            self._stop.set()
        if self._own is not None:
            self._own.close()
            self._own = None


_ACTIVE: Heartbeat | None = None


def activity(what: str, new_step: bool = True) -> None:
    """Tell the running heartbeat (if any) what is happening now (``new_step``: its clock restarts)."""
    if _ACTIVE is not None:
        _ACTIVE.activity(what, new_step)


class Eta:
    """Elapsed time, time per unit and time left for a loop of ``total`` units (e.g. epochs).

    The first unit carries the loop's set-up (data loading, cached teacher logits), so from the second
    unit on the rate is measured from the end of the first.
    """

    def __init__(self, total: int, unit: str = "epoch", clock=None):
        import time

        self.total, self.unit = total, unit
        self.clock = clock or time.monotonic
        self.start = self.clock()
        self.first: float | None = None

    def line(self, done: int) -> str:
        now = self.clock()
        if done <= 1 or self.first is None:
            self.first = now
            per = now - self.start
        else:
            per = (now - self.first) / (done - 1)
        left = per * max(0, self.total - done)
        return (f"{duration(now - self.start)} elapsed, {per:.1f} s/{self.unit}"
                + (f", ETA {duration(left)}" if done < self.total else ""))


def touch() -> None:
    """Output was printed: the running heartbeat (if any) waits a full interval before its next line."""
    if _ACTIVE is not None:
        _ACTIVE.touch()


def _tracked(bar, hb: Heartbeat, desc: str, total: int | None, unit: str):
    hb.advance(desc or "progress", 0, total, unit)  # the rate is measured from here
    try:
        for n, item in enumerate(bar, 1):
            yield item
            hb.advance(desc or "progress", n, total, unit)
    finally:
        bar.close()
        if hb.count is not None and hb.count[0] == (desc or "progress"):
            hb.count = None  # finished: later lines must not show a stale count
