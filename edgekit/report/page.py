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
.warn{background:#fff6e0;border:1px solid #e8b04a;border-radius:6px;padding:2px 10px;margin:10px 0;font-size:13px}
"""
COLUMNS = ["model", "format", "target", "measured on", "size", "top-1 %", "top-5 %", "agree %", "SQNR dB",
           "p50 ms", "p90 ms", "p99 ms", "peak MB", "runtime", "thr", "load/CPUs", "Pareto"]
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


METRICS = {"top1": "top-1 accuracy (%)", "agreement": "agreement with reference (%)",
           "sqnr_db": "SQNR against reference (dB)"}
# A model does the same work on every run, so a tail this far above the median means other work took
# the CPU (the loaded host showed p99 at 20-30x p50). Load per CPU of 1 or more: every core had
# a queue of runnable tasks.
NOISY_TAIL = 5.0
NOISY_LOAD_PER_CPU = 1.0


class Analysis:
    """The figures both outputs show: the metrics plotted, display names and keys, Pareto rows per target,
    budgets per target and rows measured on a loaded host."""

    def __init__(self, rows: list[Row]):
        self.rows = rows
        # Labelled data: top-1. Without labels, the fidelity figures eval measured against a reference.
        if any(r.top1 is not None for r in rows):
            self.metrics = ["top1"]
        else:
            self.metrics = [m for m in ("agreement", "sqnr_db") if any(getattr(r, m) is not None for r in rows)]
        self.metric = (self.metrics or ["top1"])[0]
        self.metric_label = METRICS[self.metric]
        self.names = _names(rows)
        models = list(dict.fromkeys(r.model for r in rows))
        self.keys = [str(models.index(r.model) + 1) for r in rows]  # a model keeps its tag on every plot
        self.targets = list(dict.fromkeys(r.target for r in rows if r.profiled))
        self.pareto: set[int] = set()
        for t in self.targets:
            idx = self.plotted(t)
            self.pareto |= {idx[i] for i in pareto_front([(rows[k].p50, self.acc(rows[k])) for k in idx])}
        self.noisy = {i: why for i, r in enumerate(rows) if (why := noise(r))}

    def acc(self, row: Row, metric: str | None = None) -> float | None:
        return getattr(row, metric or self.metric)

    def plotted(self, target: str, metric: str | None = None) -> list[int]:
        """Row indices on ``target`` with both a latency and the metric."""
        return [i for i, r in enumerate(self.rows)
                if r.target == target and r.profiled and self.acc(r, metric) is not None]

    def front(self, target: str) -> list[int]:
        return sorted((i for i in self.plotted(target) if i in self.pareto), key=lambda i: self.rows[i].p50)

    def budgets(self, target: str) -> dict:
        """The target's budgets: as recorded with its profiles, else from its shipped profile."""
        for r in self.rows:
            if r.target == target and r.budgets:
                return r.budgets
        from ..errors import EdgekitError
        from ..targets import get_target

        try:
            b = get_target(target).budgets
        except (EdgekitError, OSError, ValueError):  # a name no shipped target has
            return {}
        return {k: v for k, v in (("latency_ms", b.latency_ms), ("memory_mb", b.memory_mb),
                                  ("model_mb", b.model_mb)) if v is not None}


def noise(r: Row) -> str:
    """Why ``r``'s latency was measured on a loaded host, or ""."""
    why = []
    p99 = r.latency.get("p99")
    if p99 is not None and r.p50 and p99 >= NOISY_TAIL * r.p50:
        why.append(f"p99 is {p99 / r.p50:.0f}x p50")
    if r.load_avg is not None and r.cores and r.load_avg >= NOISY_LOAD_PER_CPU * r.cores:
        why.append(f"load average {r.load_avg:.1f} on {r.cores} CPU{'s' if r.cores != 1 else ''}")
    return ", ".join(why)


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


def _tip(a: Analysis, i: int, metric: str) -> str:
    r = a.rows[i]
    unit = " dB" if metric == "sqnr_db" else " %"
    return (f"{a.names[i]} ({r.format or '?'}) on {r.target}: {METRICS[metric].split(' (')[0]} "
            f"{num(a.acc(r, metric))}{unit}, p50 {num(r.p50)} ms, size {fmt_bytes(r.model_bytes)}")


def scatters(a: Analysis) -> list[str]:
    """One plot per target and metric: top-1, or agreement and SQNR against the reference without labels."""
    out = []
    for t in a.targets:
        lat = a.budgets(t).get("latency_ms")
        for metric in a.metrics:
            idx = a.plotted(t, metric)
            if not idx:
                continue
            on = a.rows[idx[0]].measured_on
            title = f"{t}" + (f" (measured on {on})" if on and on != t else "")
            pts = [{"x": a.rows[i].p50, "y": a.acc(a.rows[i], metric), "key": a.keys[i], "label": a.names[i],
                    "format": a.rows[i].format, "tip": _tip(a, i, metric)} for i in idx]
            out.append(scatter(pts, title, "p50 latency (ms)", METRICS[metric], x_budget=lat,
                               budget_text=f"latency budget {num(lat)} ms" if lat is not None else ""))
    return out


def size_chart(a: Analysis) -> str | None:
    seen, items = set(), []
    for i, r in enumerate(a.rows):
        if r.model_bytes is not None and r.model not in seen:
            seen.add(r.model)
            items.append({"label": a.names[i], "value": r.model_bytes / 1e6, "text": fmt_bytes(r.model_bytes),
                          "format": r.format})
    by_limit: dict[float, list[str]] = {}
    for t in a.targets:
        if (limit := a.budgets(t).get("model_mb")) is not None:
            by_limit.setdefault(limit, []).append(t)
    budgets = [(v, f"{', '.join(ts)} budget {num(v)} MB") for v, ts in by_limit.items()]
    return bars(items, "Model file size", "MB", budgets=budgets) if items else None


def latency_charts(a: Analysis) -> list[str]:
    out = []
    for t in a.targets:
        items = [{"label": a.names[i], "stats": r.latency, "format": r.format}
                 for i, r in enumerate(a.rows) if r.target == t and r.profiled]
        out.append(latency_rows(items, f"Latency on {t}", budget=a.budgets(t).get("latency_ms")))
    return out


def _load(r: Row) -> str:
    if r.load_avg is None:
        return "-"
    return f"{num(r.load_avg)}/{r.cores}" if r.cores else num(r.load_avg)


def table_rows(a: Analysis) -> list[list[str]]:
    return [[a.names[i], r.format or "-", r.target or "-", r.measured_on or "-", fmt_bytes(r.model_bytes),
             num(r.top1, 4), num(r.top5, 4), num(r.agreement, 4), num(r.sqnr_db), num(r.p50),
             num(r.latency.get("p90")), num(r.latency.get("p99")), num(r.peak_mb), r.runtime or "-",
             num(r.threads), _load(r), "yes" if i in a.pareto else ""] for i, r in enumerate(a.rows)]


def _summary(a: Analysis, esc=str) -> list[str]:
    lines = []
    unit = " dB" if a.metric == "sqnr_db" else " %"
    for t in a.targets:
        front = a.front(t)
        if front:
            chain = " \u2192 ".join(f"{esc(a.names[i])} ({num(a.acc(a.rows[i]), 4)}{unit}, {num(a.rows[i].p50)} ms)"
                                    for i in front)
            lines.append(f"{esc(t)}: Pareto front (fastest to best {a.metric_label.split(' (')[0]}): {chain}")
    return lines


def noise_warnings(a: Analysis) -> list[str]:
    """One line per target measured on a loaded host: its latencies are not the device's."""
    out = []
    for t in a.targets:
        rows = [a.rows[i] for i in a.noisy if a.rows[i].target == t]
        if not rows:
            continue
        n = sum(1 for r in a.rows if r.target == t and r.profiled)
        why = []
        loads = [r for r in rows if r.load_avg is not None and r.cores]
        if loads:
            r = max(loads, key=lambda r: r.load_avg / r.cores)
            why.append(f"load average up to {r.load_avg:.1f} on {r.cores} CPU{'s' if r.cores != 1 else ''}")
        tails = [r.latency["p99"] / r.p50 for r in rows if r.latency.get("p99") and r.p50]
        if tails and max(tails) >= NOISY_TAIL:
            why.append(f"p99 up to {max(tails):.0f}x p50")
        out.append(f"Noisy latency on {t}: the host was busy while measuring {len(rows)} of {n} models "
                   f"({'; '.join(why)}). Tails and possibly medians are inflated: re-profile on an idle machine "
                   "before comparing with the budgets.")
    return out


def _main_plot_heading(a: Analysis) -> tuple[str, str]:
    if a.metric == "top1":
        return "Accuracy vs latency", f"Y: {a.metric_label}."
    return ("Agreement and SQNR vs latency",
            "The data has no labels, so the plots show fidelity against the --reference model: agreement "
            "(same top-1 class) and SQNR of the first output (\u221e: identical outputs).")


def html_page(a: Analysis, title: str, generator: str) -> str:
    sc, lat, size = scatters(a), latency_charts(a), size_chart(a)
    card = lambda svg: f'<div class="card">{svg}</div>'  # noqa: E731
    head = [f"<th class={'l' if c in LEFT else 'r'}>{_e(c)}</th>" for c in COLUMNS]
    body = []
    for i, cells in enumerate(table_rows(a)):
        tds = "".join(f"<td class={'l' if c in LEFT else 'r'}>{_e(v)}</td>" for c, v in zip(COLUMNS, cells))
        body.append(f'<tr{" class=pareto" if i in a.pareto else ""}>{tds}</tr>')
    heading, y_note = _main_plot_heading(a)
    warns = noise_warnings(a)
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1><p class=meta>{_e(generator)}</p>",
        "<div class=warn>" + "".join(f"<p>\u26a0 {_e(w)}</p>" for w in warns) + "</div>" if warns else "",
        "<ul>" + "".join(f"<li>{_e(s)}</li>" for s in _summary(a)) + "</ul>" if _summary(a) else "",
        f"<h2>{_e(heading)}</h2>",
        '<div class="grid">' + "".join(card(s) for s in sc) + "</div>" if sc else
        "<p class=note>No model has both a latency and an accuracy or fidelity figure, so there is nothing to "
        "plot: profile the models, and evaluate them with labelled data or --reference.</p>",
        f"<p class=note>{_e(y_note)} X: median (p50) latency. Ringed points joined by the dashed step line are "
        "the Pareto front: no other model on that target is both faster and better. The purple dashed line is "
        "the target's latency budget. Numbers on the points refer to the key under each plot.</p>",
        "<h2>Size and latency</h2>", '<div class="grid">' + (card(size) if size else "") +
        "".join(card(s) for s in lat) + "</div>",
        "<h2>Results</h2>", f"<div class=scroll><table><thead><tr>{''.join(head)}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


def markdown(a: Analysis, title: str, generator: str) -> str:
    lines = [f"# {_md(title)}", "", generator, ""]
    lines += [f"> **Warning:** {_md(w)}" for w in noise_warnings(a)] + ([""] if a.noisy else [])
    summary = _summary(a, _md)
    if summary:
        lines += ["## Pareto front per target", ""] + [f"- {s}" for s in summary] + [""]
    lines += ["## Results", "", "| " + " | ".join(COLUMNS) + " |",
              "|" + "|".join(":--" if c in LEFT else "--:" for c in COLUMNS) + "|"]
    for cells in table_rows(a):
        lines.append("| " + " | ".join(_md(c) or " " for c in cells) + " |")
    return "\n".join(lines) + "\n"
