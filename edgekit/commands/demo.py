"""edgekit demo [--out DIR]: the whole pipeline on built-in data, in a few minutes."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("demo", help="run the whole pipeline on a built-in dataset",
                       description="Draw a 10-class shapes dataset, distill the shipped teacher into a small "
                                   "student (or use the shipped student without torch), quantize and convert it, "
                                   "measure accuracy and latency of every variant, write a report and one "
                                   "deployment bundle per target.")
    p.add_argument("--out", default="edgekit-demo", help="output directory (default ./edgekit-demo)")
    p.add_argument("--target", default=None, help="target to profile for (default: this host's)")
    p.add_argument("--epochs", type=int, default=None,
                   help="distillation epochs (default: as many as the shipped student's recipe; with fewer "
                        "the demo says so, keeps the better of its own and the shipped student and says which)")
    p.add_argument("--no-distill", action="store_true", help="use the shipped pre-distilled student")
    p.add_argument("--runs", type=int, default=50, help="timed runs per model when profiling (default 50)")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    from ..demo import demo

    demo(args.out, target=args.target, epochs=args.epochs, distill=not args.no_distill, runs=args.runs)
    return 0
