"""edgekit.report: a self-contained HTML page with the plots and a Markdown summary beside it."""
from __future__ import annotations

import json
import re

import pytest

import edgekit
from edgekit.cli import main
from edgekit.errors import InputError

from .conftest import MODELS, evaluation, profile


def svgs(html: str, cls: str) -> list[str]:
    return re.findall(rf'<svg class="chart {cls}".*?</svg>', html, flags=re.S)


def test_page_has_one_scatter_per_target_with_the_pareto_front(tmp_path, demo_records):
    out = edgekit.report(demo_records, tmp_path / "report.html")
    html = out.read_text()
    scatters = svgs(html, "scatter")
    assert len(scatters) == 2 and "x86_64" in scatters[0] and "raspberry-pi-4" in scatters[1]
    for svg in scatters:
        assert svg.count('<circle class="pt') == len(MODELS)
        assert svg.count('<circle class="pt pareto"') == 3  # the dominated student.tflite is not on it
        assert svg.count('class="front"') == 1
        assert re.search(r'class="pt".*?student\.tflite', svg, flags=re.S)
    assert len(re.findall(r'<rect class="bar"', "".join(svgs(html, "bars")))) == len(MODELS)  # one bar per file
    lat = svgs(html, "latency")
    assert len(lat) == 2 and all(s.count('class="lat-row"') == len(MODELS) for s in lat)
    assert html.count("<tr") == 1 + 2 * len(MODELS)  # header + a row per model and target


def test_page_is_self_contained(tmp_path, demo_records):
    html = edgekit.report(demo_records, tmp_path / "r.html").read_text()
    for needle in ("http:", "https:", "//", "<script", "src=", "url(", "@import", "<link"):
        assert needle not in html, needle


def test_text_from_results_is_escaped(tmp_path):
    evil = 'm/<img src=x onerror="alert(1)">.onnx'
    html = edgekit.report([{**profile(evil, "x86_64", 1.0), **evaluation(evil, 90.0)}], tmp_path / "r.html").read_text()
    assert "<img" not in html and "&lt;img" in html


def test_markdown_summary_beside_the_page(tmp_path, demo_records):
    edgekit.report(demo_records, tmp_path / "report.html", title="Shapes demo")
    md = (tmp_path / "report.md").read_text()
    assert md.startswith("# Shapes demo")
    table = [l for l in md.splitlines() if l.startswith("| out/") or l.startswith("| teacher") or
             l.startswith("| student")]
    assert len(table) == 2 * len(MODELS)
    front = next(l for l in md.splitlines() if l.startswith("- x86_64"))
    assert front.index("student_int8.tflite") < front.index("student.onnx") < front.index("teacher.onnx")
    assert "student.tflite" not in front


def test_eval_only_and_profile_only_results_still_report(tmp_path):
    out = edgekit.report([evaluation("a.onnx", 80.0), profile("b.onnx", "x86_64", 2.0)], tmp_path / "r.html")
    html = out.read_text()
    assert svgs(html, "scatter") == [] and "nothing to plot" in html
    assert len(svgs(html, "latency")) == 1 and html.count("<tr") == 3


def test_agreement_is_plotted_when_there_is_no_top1(tmp_path):
    recs = [{**profile(m, "x86_64", p), "model": m, "agreement": a} for m, p, a in
            (("a.onnx", 1.0, 99.0), ("b.onnx", 0.5, 97.0))]
    html = edgekit.report(recs, tmp_path / "r.html").read_text()
    assert "agreement with reference" in svgs(html, "scatter")[0]


def test_bad_output_and_input_write_nothing(tmp_path, demo_records):
    with pytest.raises(InputError, match="must end in .html"):
        edgekit.report(demo_records, tmp_path / "report.md")
    bad = tmp_path / "bad.json"
    bad.write_text("nope")
    with pytest.raises(InputError, match="bad.json is not JSON"):
        edgekit.report(bad, tmp_path / "r.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_cli_report_from_several_files(tmp_path, capsys):
    prof, ev = tmp_path / "p.json", tmp_path / "e.json"
    prof.write_text(json.dumps([profile(m, "x86_64", p) for m, (_, p, _) in MODELS.items()]))
    ev.write_text(json.dumps([evaluation(m, t) for m, (t, _, _) in MODELS.items()]))
    out = tmp_path / "site" / "report.html"
    assert main(["report", str(prof), str(ev), "-o", str(out)]) == 0
    assert "report.md" in capsys.readouterr().out
    assert svgs(out.read_text(), "scatter")[0].count('<circle class="pt') == len(MODELS)
    assert main(["report", str(tmp_path / "none.json"), "-o", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_markdown_names_are_escaped_and_stay_on_one_line(tmp_path):
    """Issue 17 item 9: a model or target name could inject HTML or break the table in report.md."""
    evil = 'm<img src=x onerror=alert(1)>|x\n| injected | row |[link](javascript:alert(1)).onnx'
    target = "t|<b>x</b>\nnew"
    rec = {**profile(evil, target, 1.0), **evaluation(evil, 90.0)}
    edgekit.report([rec], tmp_path / "r.html", title="T <i>x</i>\n# h")
    md = (tmp_path / "r.md").read_text()
    assert "<img" not in md and "<b>" not in md and "<i>" not in md and "&lt;img src=x" in md
    assert md.splitlines()[0] == "# T &lt;i&gt;x&lt;/i&gt; # h"
    rows = [l for l in md.splitlines() if l.startswith("| ") and "img src" in l]
    assert len(rows) == 1  # the newline did not start a row of its own
    cells = re.split(r"(?<!\\)\|", rows[0].strip())[1:-1]  # split on unescaped pipes only
    header = next(l for l in md.splitlines() if l.startswith("| model"))
    assert len(cells) == header.count("|") - 1  # the name's pipes did not add cells
    assert "\\[link\\](javascript" in md
