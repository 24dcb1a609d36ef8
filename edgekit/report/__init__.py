"""``edgekit.report``: an HTML page with plots and a Markdown summary from profile and eval results.

See docs/bundle.md ("Report") for the input records and what the page shows.
"""
from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from .records import Row, read_rows

__all__ = ["report", "Row", "read_rows"]


def report(results, output="report.html", *, title: str | None = None) -> Path:
    """Write ``output`` (.html) and the Markdown summary beside it (same name, ``.md``); returns the HTML path.

    ``results``: a JSON file path, a record dict, or a list of paths and/or records. Profile records
    (``latency_ms``...) and eval records (``top1``...) are merged by model path.
    """
    from .. import __version__
    from .._io import write_text
    from .page import Analysis, html_page, markdown

    out = Path(output)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"report output {out} must end in .html", "the Markdown summary is written beside it as .md",
                         "give e.g. -o report.html")
    if out.is_dir():
        raise InputError(f"report output {out} is a directory", "it must be a file name", "give e.g. -o report.html")
    rows = read_rows(results)
    analysis = Analysis(rows)
    title = title or "edgekit report"
    n_targets = len(analysis.targets)
    generator = (f"edgekit {__version__} \u00b7 {len(rows)} result rows, {len({r.model for r in rows})} models, "
                 f"{n_targets} target{'s' if n_targets != 1 else ''}")
    write_text(out.with_suffix(".md"), markdown(analysis, title, generator))
    write_text(out, html_page(analysis, title, generator))
    return out
