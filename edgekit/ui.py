"""What people look at: progress bars for long work, tables for results."""
from __future__ import annotations

import sys
from typing import Iterable, Sequence


def progress(iterable: Iterable, total: int | None = None, desc: str = "", unit: str = "it", leave: bool = False):
    """A progress bar on stderr (hidden when stderr is not a terminal, so logs stay clean)."""
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit=unit, leave=leave, file=sys.stderr,
                disable=None, dynamic_ncols=True)


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
