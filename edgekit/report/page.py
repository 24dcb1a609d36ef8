"""Assemble the report: one self-contained HTML page (inline CSS and SVG, no scripts, no URLs) and
the Markdown summary written beside it."""
from __future__ import annotations

import re
from html import escape

from .records import Row
from .svg import bars, latency_rows, pareto_front, scatter

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:24px auto;max-width:1240px;
color:#111;padding:0 16px;line-height:1.4}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555;font-size:13px}.grid{display:flex;flex-wrap:wrap;gap:16px}
.card{border:1px solid #e3e3e3;border-radius:6px;padding:8px;background:#fff}
.note{color:#555;font-size:12px;margin:4px 0 0}
.scroll{overflow-x:auto}table{border-collapse:collapse;font-size:12px;width:100%}th,td{padding:3px 6px;border-bottom:1px solid #eee;
text-align:right;white-space:nowrap}th{background:#f6f6f6;position:sticky;top:0}td.l,th.l{text-align:left}
tr.pareto td:first-child{font-weight:600}ul{margin:4px 0 0 18px;padding:0}
"""
COLUMNS = ["model", "format", "target", "measured on", "size", "top-1 %", "top-5 %", "agree %", "SQNR dB",
           "p50 ms", "p90 ms", "p99 ms", "peak MB", "runtime", "thr", "Pareto"]
LEFT = {"model", "format", "target", "measured on", "runtime"}


def _e(text) -> str:
    return escape(str(text), quote=True)


_MD_SPECIAL = re.compile(r"([\\`\[\]|])")  # links, code spans, table cells; _ and * only restyle


def _md(text) -> str:
    """A name as inert Markdown: one line (a newline broke the table), HTML escaped (renderers pass raw
    HTML through: <script> in a model name ran), link/code/table characters backslash-escaped."""
    one_line = " ".join(str(text).split())
    return _MD_SPECIAL.sub(r"\\\1", escape(one_line, quote=False))


def fmt_bytes(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def num(v, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    if isinstance(v, int):
        return str(v)
    return f"{v:.{digits}g}" if abs(v) < 1000 else f"{v:.0f}"


class Analysis:
    """The figures both outputs show: the accuracy metric, display names, and Pareto rows per target."""

    def __init__(self, rows: list[Row]):
        self.rows = rows
        self.metric = "top1" if any(r.top1 is not None for r in rows) else "agreement"
        self.metric_label = "top-1 accuracy (%)" if self.metric == "top1" else "agreement with reference (%)"
        self.names = _names(rows)
        self.targets = list(dict.fromkeys(r.target for r in rows if r.profiled))
        self.pareto: set[int] = set()
        for t in self.targets:
            idx = self.plotted(t)
            self.pareto |= {idx[i] for i in pareto_front([(rows[k].p50, self.acc(rows[k])) for k in idx])}

    def acc(self, row: Row) -> float | None:
        return getattr(row, self.metric)

    def plotted(self, target: str) -> list[int]:
        """Row indices on ``target`` with both a latency and the accuracy metric."""
        return [i for i, r in enumerate(self.rows) if r.target == target and r.profiled and self.acc(r) is not None]

    def front(self, target: str) -> list[int]:
        return sorted((i for i in self.plotted(target) if i in self.pareto), key=lambda i: self.rows[i].p50)


def _names(rows: list[Row]) -> list[str]:
    """File names, lengthened with parent folders where two different paths share one."""
    names = []
    for r in rows:
        parts = r.model.replace("\\", "/").split("/")
        depth = 1
        while depth < len(parts) and any(o.model != r.model and o.model.replace("\\", "/").split("/")[-depth:]
                                         == parts[-depth:] for o in rows):
            depth += 1
        names.append("/".join(parts[-depth:]))
    return names


def _tip(a: Analysis, i: int) -> str:
    r = a.rows[i]
    return (f"{a.names[i]} ({r.format or '?'}) on {r.target}: {a.metric} {num(a.acc(r))} %, p50 {num(r.p50)} ms, "
            f"size {fmt_bytes(r.model_bytes)}")


def scatters(a: Analysis) -> list[str]:
    out = []
    for t in a.targets:
        idx = a.plotted(t)
        if not idx:
            continue
        on = a.rows[idx[0]].measured_on
        title = f"{t}" + (f" (measured on {on})" if on and on != t else "")
        pts = [{"x": a.rows[i].p50, "y": a.acc(a.rows[i]), "label": a.names[i], "format": a.rows[i].format,
                "tip": _tip(a, i)} for i in idx]
        out.append(scatter(pts, title, "p50 latency (ms)", a.metric_label))
    return out


def size_chart(a: Analysis) -> str | None:
    seen, items = set(), []
    for i, r in enumerate(a.rows):
        if r.model_bytes is not None and r.model not in seen:
            seen.add(r.model)
            items.append({"label": a.names[i], "value": r.model_bytes / 1e6, "text": fmt_bytes(r.model_bytes),
                          "format": r.format})
    return bars(items, "Model file size", "MB") if items else None


def latency_charts(a: Analysis) -> list[str]:
    out = []
    for t in a.targets:
        items = [{"label": a.names[i], "stats": r.latency, "format": r.format}
                 for i, r in enumerate(a.rows) if r.target == t and r.profiled]
        out.append(latency_rows(items, f"Latency on {t}"))
    return out


def table_rows(a: Analysis) -> list[list[str]]:
    return [[a.names[i], r.format or "-", r.target or "-", r.measured_on or "-", fmt_bytes(r.model_bytes),
             num(r.top1, 4), num(r.top5, 4), num(r.agreement, 4), num(r.sqnr_db), num(r.p50),
             num(r.latency.get("p90")), num(r.latency.get("p99")), num(r.peak_mb), r.runtime or "-",
             num(r.threads), "yes" if i in a.pareto else ""] for i, r in enumerate(a.rows)]


def _summary(a: Analysis, esc=str) -> list[str]:
    lines = []
    for t in a.targets:
        front = a.front(t)
        if front:
            chain = " \u2192 ".join(f"{esc(a.names[i])} ({num(a.acc(a.rows[i]), 4)} %, {num(a.rows[i].p50)} ms)"
                                    for i in front)
            lines.append(f"{esc(t)}: Pareto front (fastest to most accurate): {chain}")
    return lines


def html_page(a: Analysis, title: str, generator: str) -> str:
    sc, lat, size = scatters(a), latency_charts(a), size_chart(a)
    card = lambda svg: f'<div class="card">{svg}</div>'  # noqa: E731
    head = [f"<th class={'l' if c in LEFT else 'r'}>{_e(c)}</th>" for c in COLUMNS]
    body = []
    for i, cells in enumerate(table_rows(a)):
        tds = "".join(f"<td class={'l' if c in LEFT else 'r'}>{_e(v)}</td>" for c, v in zip(COLUMNS, cells))
        body.append(f'<tr{" class=pareto" if i in a.pareto else ""}>{tds}</tr>')
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1><p class=meta>{_e(generator)}</p>",
        "<ul>" + "".join(f"<li>{_e(s)}</li>" for s in _summary(a)) + "</ul>" if _summary(a) else "",
        "<h2>Accuracy vs latency</h2>",
        '<div class="grid">' + "".join(card(s) for s in sc) + "</div>" if sc else
        "<p class=note>No model has both an accuracy and a latency figure, so there is nothing to plot.</p>",
        f"<p class=note>Y: {_e(a.metric_label)}. X: median (p50) latency. Ringed points joined by the dashed step "
        "line are the Pareto front: no other model on that target is both faster and more accurate.</p>",
        "<h2>Size and latency</h2>", '<div class="grid">' + (card(size) if size else "") +
        "".join(card(s) for s in lat) + "</div>",
        "<h2>Results</h2>", f"<div class=scroll><table><thead><tr>{''.join(head)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def markdown(a: Analysis, title: str, generator: str) -> str:
    lines = [f"# {_md(title)}", "", generator, ""]
    summary = _summary(a, _md)
    if summary:
        lines += ["## Pareto front per target", ""] + [f"- {s}" for s in summary] + [""]
    lines += ["## Results", "", "| " + " | ".join(COLUMNS) + " |",
              "|" + "|".join(":--" if c in LEFT else "--:" for c in COLUMNS) + "|"]
    for cells in table_rows(a):
        lines.append("| " + " | ".join(_md(c) or " " for c in cells) + " |")
    return "\n".join(lines) + "\n"
