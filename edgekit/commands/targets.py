"""edgekit targets: list the target profiles."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("targets", help="list target profiles", description="List the shipped target profiles.")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import json

    from ..targets import list_targets
    from ..ui import table

    targets = list_targets()
    if args.json:
        print(json.dumps([t.to_dict() for t in targets], indent=2))
        return 0
    rows = [[t.name, t.arch, t.cpu, t.cores, t.threads, t.ram_mb, t.runtime.format.value, t.runtime.name,
             f"{_q(t.onnx_int8.activations)}{_q(t.onnx_int8.weights)} {t.onnx_int8.format.value}",
             ",".join(t.runtime.delegates) or "-", t.reach.value, t.budgets.latency_ms] for t in targets]
    print(table(rows, ["name", "arch", "cpu", "cores", "threads", "RAM MB", "format", "runtime", "onnx int8",
                       "delegates", "reach", "budget ms"]))
    return 0


def _q(qtype) -> str:
    """uint8 -> U8, int8 -> S8 (the naming onnxruntime's docs use for activation/weight pairs)."""
    return "U8" if qtype.value == "uint8" else "S8"
