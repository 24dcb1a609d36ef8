"""edgekit report RESULTS.json [...] -o report.html: an HTML page with plots, and a Markdown summary."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("report", help="HTML report (plots) and Markdown summary from profile/eval results",
                       description="Merge profile and eval records by model and write a self-contained HTML page "
                                   "(accuracy vs latency with the Pareto front, sizes, latency distributions, "
                                   "a table) and a Markdown summary beside it.")
    p.add_argument("results", nargs="+", metavar="RESULTS.json",
                   help="files from `edgekit profile --json`, `edgekit eval --json` or the demo")
    p.add_argument("-o", "--output", default="report.html", metavar="HTML", help="page to write (default report.html)")
    p.add_argument("--title", default=None, help="page title")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from pathlib import Path

    from .._io import check_output
    from ..report import report

    for out in (Path(args.output), Path(args.output).with_suffix(".md")):  # the .md summary is written too
        check_output(out, "report output", inputs=args.results)

    html = report(args.results, args.output, title=args.title)
    print(f"wrote {html} and {html.with_suffix('.md')}")
    return 0
