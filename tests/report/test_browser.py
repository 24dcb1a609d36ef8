"""The report page rendered by a real headless browser (Debian's chromium): the plots are drawn.

--dump-dom shows the DOM Chromium built from the page (the SVG marks inside their charts); --screenshot
shows what it painted: the chart colours appear only in SVG marks (the page CSS uses greys only), so
enough pixels of each colour prove the plots rendered.
"""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

import edgekit
from edgekit.report.svg import BUDGET_COLOR, FORMAT_COLORS, PARETO_COLOR

from .conftest import MODELS

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed "
                                "(`apt-get install chromium`; .ci/run installs it)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars"]


def chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc


@pytest.fixture
def page(tmp_path, demo_records):
    return edgekit.report(demo_records, tmp_path / "report.html")


def test_dom_holds_every_mark(tmp_path, page):
    dom = chromium(tmp_path, "--dump-dom", page.as_uri()).stdout
    charts = re.findall(r'<svg class="chart scatter".*?</svg>', dom, flags=re.S)
    assert len(charts) == 2
    for svg in charts:  # parsed as SVG children, not as stray HTML: all points and the front are inside
        assert len(re.findall(r"<circle class=\"pt", svg)) == len(MODELS)
        assert len(re.findall(r"<circle class=\"pt pareto\"", svg)) == 3
        assert "<path class=\"front\"" in svg
    assert len(re.findall(r'class="lat-row"', dom)) == 2 * len(MODELS)


def _pixels_near(img: np.ndarray, hex_color: str, tol: int = 40) -> int:
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)])
    return int((np.abs(img[..., :3].astype(int) - rgb).sum(axis=2) <= tol).sum())


def _screenshot(tmp_path, page, height: int = 1600) -> np.ndarray:
    from PIL import Image

    shot = tmp_path / f"{page.stem}.png"
    chromium(tmp_path, f"--window-size=1280,{height}", f"--screenshot={shot}", page.as_uri())
    img = np.asarray(Image.open(shot).convert("RGB"))
    assert img.shape == (height, 1280, 3)
    assert img.std() > 20  # not a blank page
    return img


def _main_plots(img: np.ndarray) -> np.ndarray:
    """The band of the page holding the main plots: from the first row with Pareto red to the last."""
    rows = np.flatnonzero([_pixels_near(img[y:y + 1], PARETO_COLOR) for y in range(img.shape[0])])
    return img[rows[0]:rows[-1] + 1]


def test_screenshot_shows_the_plots(tmp_path, page):
    img = _screenshot(tmp_path, page)
    # Rings and dashed step lines (Pareto red), points/bars/boxes in the ONNX blue and TFLite orange, the
    # budget lines in purple. A 6 px ring alone paints ~90 pixels; 200 means several marks of each kind.
    for name, colour in (("pareto", PARETO_COLOR), ("onnx", FORMAT_COLORS["onnx"]),
                         ("tflite", FORMAT_COLORS["tflite"]), ("budget", BUDGET_COLOR)):
        assert _pixels_near(img, colour) > 200, name


def test_screenshot_of_unlabelled_results_has_a_main_plot(tmp_path, unlabelled_records):
    """Without labels the main plots show agreement and SQNR: points of both formats, the front, the
    budget line and the legend are painted in them (the legend's swatches are the format colours too)."""
    page = edgekit.report(unlabelled_records, tmp_path / "unlabelled.html")
    img = _screenshot(tmp_path, page, height=1300)
    band = _main_plots(img)
    assert band.shape[0] > 150  # a plot's height, not a line of text
    for name, colour in (("pareto", PARETO_COLOR), ("onnx", FORMAT_COLORS["onnx"]),
                         ("tflite", FORMAT_COLORS["tflite"]), ("budget", BUDGET_COLOR)):
        assert _pixels_near(band, colour) > 200, name
    # the noise warning's amber box is painted above the plots
    assert _pixels_near(img, "#fff6e0", tol=6) > 20_000
