"""edgekit profile MODEL --target T: latency and memory on the host or a device."""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("profile", help="measure latency and memory of a model for a target",
                       description="Measure load time, latency percentiles, throughput and memory in a fresh process.")
    p.add_argument("models", nargs="+", metavar="MODEL", help=".onnx or .tflite file(s)")
    p.add_argument("--target", default=None, help="target name or .toml path (default: this host's)")
    p.add_argument("--threads", type=int, default=None, help="threads (default: the target's)")
    p.add_argument("--warmup", type=int, default=10, help="untimed runs before measuring (default 10)")
    p.add_argument("--runs", type=int, default=100, help="timed runs (default 100)")
    p.add_argument("--duration", type=float, default=None, help="time for S seconds instead of --runs")
    p.add_argument("--on-host", action="store_true",
                   help="measure on this host even if the target is another architecture (the record says so)")
    p.add_argument("--json", metavar="OUT", default=None, help="write the record(s) as JSON")
    p.set_defaults(func=run)
    return p


def run(args) -> int:
    import json
    import warnings

    from .._io import write_text
    from ..profile import TABLE_HEADERS, profile, table_row
    from ..ui import table

    records = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for model in args.models:
            records.append(profile(model, args.target, threads=args.threads, warmup=args.warmup, runs=args.runs,
                                   duration=args.duration, on_host=args.on_host))
    for w in caught:
        print(f"edgekit profile: warning: {w.message}")
    print(table([table_row(r) for r in records], TABLE_HEADERS))
    for r in records:
        if "note" in r:
            print(f"note: {r['note']}")
    if args.json:
        write_text(args.json, json.dumps(records[0] if len(records) == 1 else records, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0
