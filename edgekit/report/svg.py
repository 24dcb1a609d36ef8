"""Small inline-SVG charts: a scatter with a Pareto front, horizontal bars, latency whisker rows.

Hand-written so the report needs no plotting library and no JavaScript: the page is plain HTML with
SVG elements a browser draws as is. Every mark carries a class (``pt``, ``bar``, ``lat-row``) so tests
can count what was drawn, and a ``<title>`` so hovering shows the exact figure.
"""
from __future__ import annotations

import math
from html import escape

FORMAT_COLORS = {"onnx": "#1f77b4", "tflite": "#ff7f0e"}
OTHER_COLOR = "#7f7f7f"
PARETO_COLOR = "#d62728"
BUDGET_COLOR = "#9467bd"  # the target's budget lines
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"'


def color(fmt: str | None) -> str:
    return FORMAT_COLORS.get((fmt or "").lower(), OTHER_COLOR)


def _e(text) -> str:
    return escape(str(text), quote=True)


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return f"{v:.0f}"
    return f"{v:.3g}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values (1, 2, 5 x 10^k steps) covering [lo, hi]."""
    if hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    return [round(start + i * step, 12) for i in range(int((hi - start) / step + 1e-9) + 1)]


def log_ticks(lo: float, hi: float) -> list[float]:
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    mults = (1, 2, 5) if len(decades) <= 4 else (1,)
    return [m * 10 ** d for d in decades for m in mults if lo <= m * 10 ** d <= hi]


class Axis:
    """Maps data values to pixels; logarithmic when the data spans more than ``log_ratio``x."""

    def __init__(self, values, p0: float, p1: float, log_ratio: float | None = 30.0, pad: float = 0.08,
                 zero: bool = False):
        lo, hi = min(values), max(values)
        self.log = bool(log_ratio and lo > 0 and hi / lo > log_ratio)
        if self.log:
            lo, hi = math.log10(lo), math.log10(hi)
        span = (hi - lo) or (abs(hi) * 0.5 or 1.0)  # one value: show a window around it
        self.lo, self.hi = (0.0 if zero and not self.log else lo - span * pad), hi + span * pad
        if self.lo == self.hi:
            self.hi = self.lo + 1.0
        self.p0, self.p1 = p0, p1

    def __call__(self, v: float) -> float:
        t = math.log10(v) if self.log else v
        return self.p0 + (t - self.lo) / (self.hi - self.lo) * (self.p1 - self.p0)

    def ticks(self) -> list[float]:
        if self.log:
            return log_ticks(10 ** self.lo, 10 ** self.hi)
        return nice_ticks(self.lo, self.hi)

    def labels(self) -> list[tuple[float, str]]:
        """Ticks with text: as many decimals as the tick step needs (0.98, 1, 1.02 — never 1, 1, 1)."""
        ticks = self.ticks()
        if self.log or len(ticks) < 2:
            return [(t, _fmt(t)) for t in ticks]
        decimals = max(0, -math.floor(math.log10(ticks[1] - ticks[0]) + 1e-9))
        return [(t, f"{t:.{decimals}f}") for t in ticks]


def _svg(width: int, height: int, label: str, body: list[str], cls: str) -> str:
    return (f'<svg class="{cls}" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" '
            f'aria-label="{_e(label)}" {FONT} font-size="11">' + "".join(body) + "</svg>")


def _x_axis(ax: Axis, y: float, top: float, label: str, width: float) -> list[str]:
    out = [f'<line x1="{ax.p0:.1f}" y1="{y:.1f}" x2="{ax.p1:.1f}" y2="{y:.1f}" stroke="#333"/>']
    for t, text in ax.labels():
        x = ax(t)
        out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x:.1f}" y="{y + 14:.1f}" text-anchor="middle" fill="#444">{text}</text>')
    scale = " (log scale)" if ax.log else ""
    out.append(f'<text x="{(ax.p0 + ax.p1) / 2:.1f}" y="{y + 32:.1f}" text-anchor="middle" fill="#222">'
               f'{_e(label + scale)}</text>')
    return out


def _y_axis(ax: Axis, x: float, right: float, label: str) -> list[str]:
    out = [f'<line x1="{x:.1f}" y1="{ax.p0:.1f}" x2="{x:.1f}" y2="{ax.p1:.1f}" stroke="#333"/>']
    for t, text in ax.labels():
        y = ax(t)
        out.append(f'<line x1="{x:.1f}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>')
        out.append(f'<text x="{x - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="#444">{text}</text>')
    mid = (ax.p0 + ax.p1) / 2
    out.append(f'<text x="14" y="{mid:.1f}" text-anchor="middle" fill="#222" '
               f'transform="rotate(-90 14 {mid:.1f})">{_e(label)}</text>')
    return out


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: lower-or-equal x and higher-or-equal y, one strictly.

    Sweep by x ascending (ties: best y first); a point is on the front when its y beats every y seen.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -math.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _place_labels(marks: list[tuple[float, float, str]], right: float, top: float = 0.0,
                  bottom: float = 1e9) -> list[tuple[float, float, str]]:
    """Put each tag right of its point (left near the edge), moved down then up until it overlaps no
    earlier tag and no other point (width guessed from the text); returns (x, y, text) per mark, in order."""
    placed: list = [None] * len(marks)
    boxes: list[tuple[float, float, float]] = []
    points = [(x, y) for x, y, _ in marks]
    for k in sorted(range(len(marks)), key=lambda k: (marks[k][1], marks[k][0])):
        x, y, text = marks[k]
        w = 6.2 * len(text) + 2
        lx = x + 8 if x + 8 + w <= right else x - 8 - w

        def free(ly):
            return top <= ly - 9 and ly <= bottom and not any(
                abs(ly - by) < 12 and lx < bx + bw and bx < lx + w for bx, by, bw in boxes) and not any(
                (px, py) != (x, y) and lx - 5 < px < lx + w + 5 and ly - 14 < py < ly + 5 for px, py in points)

        ly = next((y + 4 + d for d in (0, 12, -12, 24, -24, 36, -36, 48, -48, 60) if free(y + 4 + d)), y + 4)
        boxes.append((lx, ly, w))
        placed[k] = (lx, ly, text)
    return placed


def _budget_x(ax: "Axis", value: float, top: float, bottom: float, text: str, label: str | None = None,
              label_y: float | None = None) -> list[str]:
    """A vertical dashed line at a budget; ``label`` (default ``text``) at its top, inside the plot, or
    centred above it at ``label_y``. ``text`` is the hover title."""
    x = ax(value)
    out = [f'<line class="budget" x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{bottom:.1f}" stroke="{BUDGET_COLOR}" '
           f'stroke-width="2" stroke-dasharray="6 3"><title>{_e(text)}</title></line>']
    if label_y is None:
        out.append(f'<text x="{x - 4:.1f}" y="{top + 11:.1f}" text-anchor="end" fill="{BUDGET_COLOR}" '
                   f'font-size="10">{_e(label or text)}</text>')
    else:
        out.append(f'<text x="{x:.1f}" y="{label_y:.1f}" text-anchor="middle" fill="{BUDGET_COLOR}" '
                   f'font-size="10">{_e(label or text)}</text>')
    return out


def _budget_lines(ax: "Axis", budgets, top: float, bottom: float, unit: str) -> list[str]:
    """Budget lines of a bar/latency chart, labelled above the plot; a label that would overlap the one
    before moves up a row."""
    out, last = [], None
    for value, text in sorted(budgets):
        label = f"{_fmt(value)} {unit}"
        x, w = ax(value), 6 * len(label)
        row = 1 if last is not None and last[1] == 0 and abs(x - last[0]) < (w + last[2]) / 2 + 4 else 0
        out += _budget_x(ax, value, top, bottom, text, label, top - 4 - 11 * row)
        last = (x, row, w)
    return out


def _with_budget(values: list[float], budget: float | None) -> list[float]:
    """The axis domain: the data plus the budget line, so the line is drawn where it belongs."""
    return values + ([budget] if budget is not None and budget > 0 else [])


def _finite_y(ys: list[float]) -> tuple[list[float], float | None]:
    """Plot positions for y values where +inf (identical outputs: SQNR is infinite) sits on a row
    above the finite values; returns (positions, the row's value or None)."""
    finite = [y for y in ys if math.isfinite(y)]
    if len(finite) == len(ys):
        return ys, None
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 0.0)
    cap = hi + max((hi - lo) * 0.2, abs(hi) * 0.1, 5.0)
    floor = lo - max((hi - lo) * 0.2, 5.0)
    return [cap if y == math.inf else floor if y == -math.inf else y for y in ys], cap


def scatter(points: list[dict], title: str, x_label: str, y_label: str, *, x_budget: float | None = None,
            budget_text: str = "", width: int = 580, plot_height: int = 330) -> str:
    """Points ``{x, y, key, label, format, tip}``; the Pareto front (min x, max y) is ringed and joined by
    steps. Each point carries its short ``key`` (placed clear of other tags and points, with a leader
    line when moved); the key below the plot names them. ``x_budget`` draws the target's latency budget."""
    left, right, top, bottom = 62, width - 16, 46, plot_height - 56
    ax = Axis(_with_budget([p["x"] for p in points], x_budget), left, right)
    ys, cap = _finite_y([p["y"] for p in points])
    ay = Axis(ys, bottom, top, log_ratio=None, pad=0.12)
    body = [f'<text x="{left}" y="18" font-size="13" font-weight="600" fill="#111">{_e(title)}</text>']
    body += _x_axis(ax, bottom, top, x_label, width) + _y_axis(ay, left, right, y_label)
    if cap is not None:
        body.append(f'<text x="{left - 6}" y="{ay(cap) + 4:.1f}" text-anchor="end" fill="#444">\u221e</text>')
    if x_budget is not None:
        body += _budget_x(ax, x_budget, top, bottom, budget_text or f"budget {_fmt(x_budget)}")
    front = pareto_front([(p["x"], p["y"]) for p in points])
    steps = sorted(front, key=lambda i: points[i]["x"])
    if steps:
        d = f'M{ax(points[steps[0]]["x"]):.1f},{ay(ys[steps[0]]):.1f}'
        for i in steps[1:]:
            d += f' H{ax(points[i]["x"]):.1f} V{ay(ys[i]):.1f}'
        body.append(f'<path class="front" d="{d}" fill="none" stroke="{PARETO_COLOR}" stroke-width="1.5" '
                    f'stroke-dasharray="5 3"/>')
    xy = [(ax(p["x"]), ay(y)) for p, y in zip(points, ys)]
    for i, p in enumerate(points):
        on = i in front
        ring = f' stroke="{PARETO_COLOR}" stroke-width="2.5"' if on else ' stroke="#fff" stroke-width="1"'
        body.append(f'<circle class="pt{" pareto" if on else ""}" cx="{xy[i][0]:.1f}" cy="{xy[i][1]:.1f}" '
                    f'r="{6 if on else 5}" fill="{color(p.get("format"))}"{ring}><title>{_e(p["tip"])}</title>'
                    f'</circle>')
    tags = _place_labels([(x, y, str(p["key"])) for (x, y), p in zip(xy, points)], right, top, bottom - 2)
    for (x, y), (lx, ly, text) in zip(xy, tags):
        if abs(ly - 4 - y) > 6:  # moved off its point: a leader line says whose tag it is
            ex = lx if lx > x else lx + 6.2 * len(text) + 2
            body.append(f'<line class="leader" x1="{x:.1f}" y1="{y:.1f}" x2="{ex:.1f}" y2="{ly - 4:.1f}" '
                        f'stroke="#888" stroke-width="0.8"/>')
        body.append(f'<text class="pt-label" x="{lx:.1f}" y="{ly:.1f}" fill="#222" font-weight="600">'
                    f'{_e(text)}</text>')
    formats = sorted({(p.get("format") or "other") for p in points})
    body += _legend(_items(formats, pareto=True, budget=x_budget is not None), right, top)
    key_lines, key_body = _key(points, left, plot_height, width)
    body += key_body
    return _svg(width, plot_height + key_lines * 16 + 6, title, body, "chart scatter")


def _key(points: list[dict], left: float, y0: float, width: int) -> tuple[int, list[str]]:
    """The key under a scatter: tag, format colour and name of every point, two columns."""
    out, col_w = [], (width - left) / 2
    for n, p in enumerate(points):
        x, y = 12 + (n % 2) * col_w, y0 + (n // 2) * 16
        out.append(f'<g class="key-item"><circle cx="{x + 5:.1f}" cy="{y - 4:.1f}" r="4.5" '
                   f'fill="{color(p.get("format"))}"/><text x="{x + 14:.1f}" y="{y:.1f}" fill="#222">'
                   f'<tspan font-weight="600">{_e(p["key"])}</tspan> {_e(_short(p["label"], 44))}</text></g>')
    return -(-len(points) // 2), out


def _items(formats: list[str], pareto: bool = False, budget: bool = False) -> list[tuple[str, str, str]]:
    items = [(f, color(f), "circle") for f in formats]
    if pareto:
        items.append(("Pareto front", PARETO_COLOR, "line"))
    if budget:
        items.append(("budget", BUDGET_COLOR, "line"))
    return items


def _legend(items: list[tuple[str, str, str]], right: float, top: float) -> list[str]:
    """Colour legend in one row ending at ``right``, above the plot: (text, colour, circle|line)."""
    out, x = ['<g class="legend">'], right - sum(14 + 6.5 * len(t) + 14 for t, _, _ in items)
    for text, c, kind in items:
        if kind == "circle":
            out.append(f'<circle cx="{x + 5:.1f}" cy="{top - 12:.1f}" r="4.5" fill="{c}"/>')
        else:
            out.append(f'<line x1="{x:.1f}" y1="{top - 12:.1f}" x2="{x + 12:.1f}" y2="{top - 12:.1f}" stroke="{c}" '
                       f'stroke-width="2" stroke-dasharray="4 2"/>')
        out.append(f'<text x="{x + 15:.1f}" y="{top - 8:.1f}" fill="#333">{_e(text)}</text>')
        x += 14 + 6.5 * len(text) + 14
    return out + ["</g>"]


def _short(text: str, n: int = 30) -> str:
    return text if len(text) <= n else text[: n - 1] + "\u2026"


def bars(items: list[dict], title: str, unit: str, width: int = 580,
         budgets: list[tuple[float, str]] = ()) -> str:
    """Horizontal bars ``{label, value, text, format}``; ``text`` is printed after the bar. ``budgets``:
    (value, text) lines. A log axis when values span more than 30x (bars then start at the axis edge)."""
    row, left, top = 22, 196, 46
    height = top + row * len(items) + 40
    values = [it["value"] for it in items if it["value"] > 0]
    for value, _ in budgets:
        values = _with_budget(values, value)
    ax = Axis(values or [1.0], left, width - 70, pad=0.02)
    if not ax.log:  # bars from zero on a linear axis
        ax = Axis([0.0] + values, left, width - 70, log_ratio=None, pad=0.02, zero=True)
    body = [f'<text x="8" y="18" font-size="13" font-weight="600" fill="#111">{_e(title)}</text>']
    bottom = top + row * len(items)
    body += _x_axis(ax, bottom, top, unit, width)
    for k, it in enumerate(items):
        y = top + k * row
        w = max(ax(it["value"]) - left, 1.0) if it["value"] > 0 else 1.0
        body.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end" fill="#222">{_e(_short(it["label"]))}</text>')
        body.append(f'<rect class="bar" x="{left}" y="{y + 4}" width="{w:.1f}" height="{row - 8}" '
                    f'fill="{color(it.get("format"))}"><title>{_e(it["label"])}: {_e(it["text"])}</title></rect>')
        body.append(f'<text x="{left + w + 5:.1f}" y="{y + 15}" fill="#444">{_e(it["text"])}</text>')
    body += _budget_lines(ax, budgets, top, bottom, unit)
    formats = sorted({(it.get("format") or "other") for it in items})
    body += _legend(_items(formats, budget=bool(budgets)), width - 16, 30)
    return _svg(width, height, title, body, "chart bars")


def latency_rows(items: list[dict], title: str, width: int = 580, budget: float | None = None) -> str:
    """One row per ``{label, stats, format}``: whisker min..max, box p50..p90..p99, bar at p50, dot at mean;
    ``budget`` (ms) draws the target's latency budget."""
    row, left, top = 26, 196, 46
    values = [v for it in items for v in it["stats"].values() if v is not None and v > 0]
    ax = Axis(_with_budget(values, budget) or [1.0], left, width - 20, pad=0.05)
    bottom = top + row * len(items)
    body = [f'<text x="8" y="18" font-size="13" font-weight="600" fill="#111">{_e(title)}</text>']
    body += _x_axis(ax, bottom, top, "latency (ms)", width)
    for k, it in enumerate(items):
        body.append(_latency_row(ax, it, top + k * row + row / 2, left))
    if budget is not None:
        body += _budget_lines(ax, [(budget, f"latency budget {_fmt(budget)} ms")], top, bottom, "ms")
    formats = sorted({(it.get("format") or "other") for it in items})
    body += _legend(_items(formats, budget=budget is not None), width - 16, 30)
    legend = "whiskers min\u2013max \u00b7 box p50\u2013p90 (dark), p90\u2013p99 (light) \u00b7 bar p50 \u00b7 dot mean"
    body.append(f'<text x="8" y="{bottom + 48}" fill="#555" font-size="10">{_e(legend)}</text>')
    return _svg(width, bottom + 56, title, body, "chart latency")


def _latency_row(ax: Axis, it: dict, cy: float, left: float) -> str:
    s = {k: v for k, v in it["stats"].items() if v is not None and v > 0}
    c = color(it.get("format"))
    tip = ", ".join(f"{k} {_fmt(v)} ms" for k, v in s.items())
    parts = [f'<g class="lat-row"><title>{_e(it["label"])}: {_e(tip)}</title>',
             f'<text x="{left - 6}" y="{cy + 4:.1f}" text-anchor="end" fill="#222">{_e(_short(it["label"]))}</text>']
    lo, hi = s.get("min", s.get("p50")), s.get("max", s.get("p99", s.get("p50")))
    if lo is not None and hi is not None:
        parts.append(f'<line x1="{ax(lo):.1f}" y1="{cy:.1f}" x2="{ax(hi):.1f}" y2="{cy:.1f}" stroke="#555"/>')
        for v in (lo, hi):
            parts.append(f'<line x1="{ax(v):.1f}" y1="{cy - 5:.1f}" x2="{ax(v):.1f}" y2="{cy + 5:.1f}" stroke="#555"/>')
    for a, b, alpha in (("p50", "p90", 0.85), ("p90", "p99", 0.4)):
        if a in s and b in s:
            parts.append(f'<rect class="lat-box" x="{ax(s[a]):.1f}" y="{cy - 7:.1f}" width="{max(ax(s[b]) - ax(s[a]), 1):.1f}" '
                         f'height="14" fill="{c}" fill-opacity="{alpha}"/>')
    if "p50" in s:
        parts.append(f'<line class="lat-p50" x1="{ax(s["p50"]):.1f}" y1="{cy - 9:.1f}" x2="{ax(s["p50"]):.1f}" '
                     f'y2="{cy + 9:.1f}" stroke="#111" stroke-width="2.5"/>')
    if "mean" in s:
        parts.append(f'<circle cx="{ax(s["mean"]):.1f}" cy="{cy:.1f}" r="2.5" fill="#fff" stroke="#111"/>')
    return "".join(parts) + "</g>"
