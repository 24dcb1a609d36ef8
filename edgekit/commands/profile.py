"""edgekit profile MODEL --target T: latency and memory on the host or a device.

``--remote ssh://...|adb://...`` measures on a device (docs/remote.md); ``--targets T1,T2`` with
``--remote-map T=URL`` measures every model on every target and prints one table.
"""
from __future__ import annotations

import argparse


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("profile", help="measure latency and memory of a model for a target",
                       description="Measure load time, latency percentiles, throughput and memory in a fresh process, "
                                   "on this host or on a device over ssh or adb.")
    p.add_argument("models", nargs="+", metavar="MODEL", help=".onnx or .tflite file(s)")
    p.add_argument("--target", default=None, help="target name or .toml path (default: this host's)")
    p.add_argument("--targets", default=None, metavar="T1,T2",
                   help="several targets: measure every MODEL on every target, one table")
    p.add_argument("--threads", type=int, default=None, help="threads (default: the target's)")
    p.add_argument("--warmup", type=int, default=10, help="untimed runs before measuring (default 10)")
    p.add_argument("--runs", type=int, default=100, help="timed runs (default 100)")
    p.add_argument("--duration", type=float, default=None, help="time for S seconds instead of --runs")
    p.add_argument("--on-host", action="store_true",
                   help="measure on this host even if the target is another architecture (the record says so)")
    r = p.add_argument_group("on a device")
    r.add_argument("--remote", default=None, metavar="URL",
                   help="ssh://[user@]host[:port], ssh://alias (from your ssh config), adb://SERIAL or adb://")
    r.add_argument("--remote-map", action="append", default=[], metavar="T=URL",
                   help="with --targets: where target T is measured (repeatable); others use --remote or the host")
    r.add_argument("--identity", default=None, metavar="FILE", help="ssh private key (ssh -i)")
    r.add_argument("--ssh-config", default=None, metavar="FILE", help="ssh config file (ssh -F)")
    r.add_argument("--remote-python", default=None, metavar="PATH",
                   help="Python on the device (default python3; e.g. ~/venv/bin/python)")
    r.add_argument("--benchmark-binary", default=None, metavar="PATH",
                   help="adb: a TFLite benchmark_model to push (default: one already in /data/local/tmp)")
    r.add_argument("--perf-test-binary", default=None, metavar="PATH",
                   help="adb: an onnxruntime_perf_test to push, for .onnx models")
    r.add_argument("--delegate", default=None, choices=["xnnpack", "gpu", "nnapi"],
                   help="adb: the delegate benchmark_model uses (default: the target's first)")
    p.add_argument("--json", metavar="OUT", default=None, help="write the record(s) as JSON")
    p.set_defaults(func=run)
    return p


def plan(args) -> list[tuple[str, str | None, str | None]]:
    """(model, target, remote URL) for every measurement: models x targets."""
    from ..errors import InputError

    if args.targets and args.target:
        raise InputError("--target and --targets together", "they mean different things",
                         "give one target with --target or several with --targets T1,T2")
    targets = [t.strip() for t in args.targets.split(",") if t.strip()] if args.targets else [args.target]
    mapping = {}
    for item in args.remote_map:
        name, sep, url = item.partition("=")
        if not sep or not name.strip() or not url.strip():
            raise InputError(f"--remote-map {item!r} is not T=URL", "expected a target name, '=' and an address",
                             "e.g. --remote-map raspberry-pi-4=ssh://pi@raspberrypi.local")
        mapping[name.strip()] = url.strip()
    unknown = sorted(set(mapping) - set(targets))
    if unknown:
        raise InputError(f"--remote-map names {unknown[0]!r}, which is not in --targets/--target",
                         f"targets: {', '.join(str(t) for t in targets)}", "add it to --targets or fix the name")
    return [(m, t, mapping.get(t, args.remote)) for m in args.models for t in targets]


def run(args) -> int:
    import json
    import sys
    import warnings

    from .._io import write_text
    from ..errors import EdgekitError
    from ..profile import TABLE_HEADERS, profile, table_row
    from ..ui import print_warnings, progress, table

    remote_opts = {"identity": args.identity, "ssh_config": args.ssh_config, "remote_python": args.remote_python,
                   "benchmark_binary": args.benchmark_binary, "perf_test_binary": args.perf_test_binary,
                   "delegate": args.delegate}
    jobs = plan(args)
    records, failed = [], []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for model, target, remote in progress(jobs, total=len(jobs), desc="profile", unit="model"):
            kwargs = dict(threads=args.threads, warmup=args.warmup, runs=args.runs, duration=args.duration,
                          on_host=args.on_host, remote=remote)
            if remote:
                kwargs.update(remote_opts)
            try:
                records.append(profile(model, target, **kwargs))
            except EdgekitError as exc:
                if len(jobs) == 1:
                    raise
                failed.append((model, target, exc))  # a matrix goes on: one offline device must not cost the rest
    print_warnings("profile", caught)  # only edgekit's own: library chatter stays out of the results
    if records:
        print(table([table_row(r) for r in records], TABLE_HEADERS))
    notes = dict.fromkeys((r.target, r.measured_on, r.note) for r in records if r.note)
    for target, where, note in notes:  # once per target and device, not once per model
        print(f"note ({target}, {where}): {note}" if len(jobs) > 1 else f"note: {note}")
    for model, target, exc in failed:
        print(f"edgekit profile: error: {model} on {target}: {exc.line()}", file=sys.stderr)
    if args.json and records:
        single = len(jobs) == 1 and not args.targets  # a matrix is always a list, even of one
        dicts = [r.to_dict() for r in records]
        write_text(args.json, json.dumps(dicts[0] if single else dicts, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 2 if failed else 0
