"""What the plots show: fidelity without labels, point tags with a key, colour legends, budget lines, and a
warning for latencies measured on a loaded host."""
from __future__ import annotations

import re

import edgekit
from edgekit.report.records import read_rows
from edgekit.report.svg import _place_labels

from .conftest import MODELS, profile
from .test_report import svgs


def test_unlabelled_results_plot_agreement_and_sqnr_with_the_pareto_front(tmp_path, unlabelled_records):
    html = edgekit.report(unlabelled_records, tmp_path / "r.html").read_text()
    assert "nothing to plot" not in html
    agree, sqnr = svgs(html, "scatter")
    assert "agreement with reference" in agree and "SQNR against reference" in sqnr
    for svg in (agree, sqnr):
        assert svg.count('<circle class="pt') == len(MODELS)  # the infinite SQNR is plotted too (on its own row)
        assert svg.count('class="front"') == 1
    # front: int8 tflite (fastest) -> student.onnx -> teacher (best); student.tflite is slower and worse
    assert agree.count('<circle class="pt pareto"') == 3 and sqnr.count('<circle class="pt pareto"') == 3
    assert "\u221e" in sqnr


def test_points_carry_tags_named_in_a_key(tmp_path, demo_records):
    html = edgekit.report(demo_records, tmp_path / "r.html").read_text()
    svg = svgs(html, "scatter")[0]
    tags = re.findall(r'<text class="pt-label"[^>]*>(\d+)</text>', svg)
    assert sorted(tags) == [str(i) for i in range(1, len(MODELS) + 1)]  # short numbers, not file names
    keys = re.findall(r'<g class="key-item">.*?</g>', svg)
    assert len(keys) == len(MODELS) and all(m.rsplit("/", 1)[1] in "".join(keys) for m in MODELS)


def test_tags_do_not_overlap_even_for_coinciding_points():
    marks = [(100.0, 100.0, str(i)) for i in range(1, 6)] + [(104.0, 102.0, "6")]
    placed = _place_labels(marks, right=500, top=0, bottom=400)
    boxes = [(x, y, 6.2 * len(t) + 2) for x, y, t in placed]
    for i, (x1, y1, w1) in enumerate(boxes):
        for x2, y2, w2 in boxes[i + 1:]:
            assert abs(y1 - y2) >= 12 or x1 + w1 <= x2 or x2 + w2 <= x1


def test_size_and_latency_charts_have_a_colour_legend_and_budget_lines(tmp_path, unlabelled_records):
    html = edgekit.report(unlabelled_records, tmp_path / "r.html").read_text()
    for cls in ("bars", "latency", "scatter"):
        for svg in svgs(html, cls):
            legend = re.search(r'<g class="legend">.*?</g>', svg, flags=re.S).group(0)
            assert ">onnx<" in legend and ">tflite<" in legend and ">budget<" in legend, cls
            assert svg.count('class="budget"') == 1, cls
    assert "50 MB" in svgs(html, "bars")[0] and "20 ms" in svgs(html, "latency")[0]


def test_budgets_come_from_the_shipped_target_when_the_records_have_none(tmp_path, demo_records):
    html = edgekit.report(demo_records, tmp_path / "r.html").read_text()
    pi, x86 = svgs(html, "scatter")[1], svgs(html, "scatter")[0]
    assert "latency budget 100 ms" in pi and "latency budget 20 ms" in x86  # targets/*.toml


def test_loaded_host_is_flagged(tmp_path, unlabelled_records, demo_records):
    html = edgekit.report(unlabelled_records, tmp_path / "r.html").read_text()
    warn = re.search(r"<div class=warn>(.*?)</div>", html, flags=re.S).group(1)
    assert "Noisy latency on x86_64" in warn and "load average up to 7.9 on 2 CPUs" in warn
    assert "p99 up to 24x p50" in warn
    assert "7.9/2" in html  # the load column of the table
    assert "> **Warning:** Noisy latency" in (tmp_path / "r.md").read_text()
    quiet = edgekit.report(demo_records, tmp_path / "q.html").read_text()  # p99 1.7x p50, no load recorded
    assert "class=warn" not in quiet


def test_profile_records_the_host_load(tmp_path):
    from tests.helpers.onnx_builder import add_relu_model

    rec = edgekit.profile(add_relu_model(tmp_path / "m.onnx"), runs=3, warmup=1)
    load = rec.host["load_avg"]
    assert len(load) == 3 and all(v >= 0 for v in load) and rec.host["cores"] >= 1
    row = read_rows(rec.to_dict())[0]
    assert row.load_avg == load[0] and row.cores == rec.host["cores"]
