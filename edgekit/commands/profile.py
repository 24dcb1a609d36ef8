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
    f = p.add_argument_group("on a fleet (docs/fleet.md)")
    f.add_argument("--fleet", default=None, metavar="FILE",
                   help="fleet.toml: measure every MODEL on every device, in parallel, resumable")
    f.add_argument("--devices", default=None, metavar="NAME,...", help="only these devices of the fleet")
    f.add_argument("--tags", default=None, metavar="TAG,...", help="only devices carrying one of these tags")
    f.add_argument("--ray", default="auto", metavar="auto|ADDRESS|off",
                   help="auto: a local Ray (in-process threads when Ray is not installed); ADDRESS: join that "
                        "cluster; off: in-process threads")
    f.add_argument("--force", action="store_true", help="measure again what the result store already holds")
    f.add_argument("--store", default=None, metavar="FILE",
                   help="result store (default ~/.cache/edgekit/fleet-results.jsonl)")
    f.add_argument("--retries", type=int, default=3, help="failures in a row before a device is down (default 3)")
    f.add_argument("--backoff", type=float, default=2.0, help="seconds before the first retry, doubling (default 2)")
    f.add_argument("--timeout", type=float, default=600.0, help="seconds for one measurement (default 600)")
    f.add_argument("--cooldown", type=float, default=0.0, help="seconds between two runs on one device")
    f.add_argument("--thermal-limit", type=float, default=70.0,
                   help="wait before a run while the device is at or above this degC (default 70)")
    p.add_argument("--json", metavar="OUT", default=None, help="write the record(s) as JSON")
    p.add_argument("--trusted-key", action="append", default=None, metavar="KEY.pub",
                   help="a bundle MODEL must be signed by this Ed25519 public key (repeatable; docs/bundle.md)")
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
    if args.json:  # before measuring, and never over a model or the fleet file
        from .._io import check_output

        check_output(args.json, "--json file", inputs=[*args.models, args.fleet])
    if args.fleet:
        return run_fleet(args)
    return run_matrix(args)


def _names(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def run_fleet(args) -> int:
    import json
    import sys
    import warnings

    from .._io import write_text
    from ..fleet import FleetError, Policy, TABLE_HEADERS, run_fleet as fleet_run, table_row
    from ..profile import Protocol
    from ..ui import print_warnings, table

    mixed = [flag for flag, v in (("--target", args.target), ("--targets", args.targets), ("--remote", args.remote),
                                  ("--remote-map", args.remote_map), ("--on-host", args.on_host),
                                  ("--trusted-key", args.trusted_key)) if v]
    if mixed:
        raise FleetError(f"--fleet and {mixed[0]} together", "the fleet file says where each model is measured",
                         "give devices and targets in the fleet file, or leave out --fleet")
    policy = Policy(retries=args.retries, backoff_s=args.backoff, timeout_s=args.timeout, cooldown_s=args.cooldown,
                    thermal_limit_c=args.thermal_limit)
    proto = Protocol(args.threads, args.warmup, args.runs, args.duration)
    with warnings.catch_warnings(record=True) as caught:  # device warnings: once each, after the table
        warnings.simplefilter("always")
        result = fleet_run(args.models, args.fleet, devices=_names(args.devices), tags=_names(args.tags),
                           ray=args.ray, force=args.force, store=args.store, proto=proto, policy=policy)
    print_warnings("profile", list({str(w.message): w for w in caught}.values()))
    print(table([table_row(r) for r in result.results], TABLE_HEADERS))
    print(f"{len(result.results)} jobs: {result.measured} measured, {result.reused} from the store "
          f"({result.store}), {len(result.not_run)} not run; engine: {result.engine}")
    for r in result.not_run:
        print(f"edgekit profile: error: {r.model} on {r.device}: not run ({r.reason}): {r.error}", file=sys.stderr)
    if args.json:
        write_text(args.json, json.dumps([r.to_dict() for r in result.results], indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0 if result.complete else 2


def run_matrix(args) -> int:
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
                          on_host=args.on_host, remote=remote, trusted_keys=args.trusted_key)
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
    lms = [r for r in records if r.lm is not None]
    if lms:
        from ..profile.lm import LM_HEADERS, lm_row

        print(table([lm_row(r) for r in lms], LM_HEADERS, title="language model: tokens (greedy, host)"))
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
