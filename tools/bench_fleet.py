"""Fleet scheduling: overhead per job and scaling with devices, on a local Ray and in-process.

1. STAND-IN devices (``sleep://``, edgekit/fleet/standin.py: each "inference" sleeps --latency-ms; no
   lab of 64 boards exists here): 1 to 64 devices, 8 models each. Wall time of ``run_fleet`` (model
   hashing as host tasks, job planning, actors or threads, store writes) against the ideal
   jobs x latency / devices; overhead per job = (wall - ideal) / jobs per device, i.e. what each job in
   a device's queue costs beyond its own latency. Ray is started once, before timing (startup is
   printed separately): a fleet run on a lab joins a running cluster.
2. THREE LOOPBACK DEVICES: three real sshd on 127.0.0.1 (tests/helpers/sshd.py), the same models measured
   by the fleet (Ray) and by today's sequential ``--targets ... --remote-map`` matrix; wall times and
   whether the records agree (everything but the timings).

    python tools/bench_fleet.py [--devices 1,2,4,8,16,32,64] [--latency-ms 100] [--write-docs]
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tools")]

MODELS_PER_DEVICE = 8
SECTION = "## Fleet scheduling (Ray and in-process)"
PREAMBLE = """`edgekit profile --fleet` (docs/fleet.md) on a local Ray and in-process (threads). The first table uses
STAND-IN devices (`sleep://NAME/MS`, edgekit/fleet/standin.py: a "measurement" sleeps 100 ms; no lab of 64
boards exists here), 8 models per device; ideal = jobs x latency / devices; overhead/job = (wall - ideal) /
jobs per device, the delay each job in a device's queue adds. Every run starts its device actors (Ray) or
threads, hashes the models, plans, and appends each result to the store with an fsync. The steady-state
table takes 8 and then 32 models per device and divides the extra wall time by the 24 extra jobs, so actor
start-up cancels out. The last table runs three real sshd devices on 127.0.0.1, sequential `--targets
--remote-map` against `--fleet`; those devices share this machine's 2 cores, so the speed-up is the
overlap of ssh and process start-up, not of measurements (on boards, each measures on its own CPU).
"""
NOTES: list[str] = []  # Ray startup times, printed with the figures


def tiny_models(d: Path, n: int) -> list[Path]:
    from helpers import onnx_builder

    return [onnx_builder.add_relu_model(d / f"m{i}.onnx", n=i + 2) for i in range(n)]


def standin_fleet(d: Path, n: int, ms: int) -> Path:
    path = d / f"fleet{n}.toml"
    path.write_text("".join(f'[[devices]]\nname = "s{i}"\ntarget = "x86_64"\naddress = "sleep://s{i}/{ms}"\n\n'
                            for i in range(n)))
    return path


def scaling(args, work: Path) -> list[list]:
    import ray

    from edgekit.ui import table

    from edgekit.fleet import Policy, run_fleet
    from edgekit.fleet.standin import register_standin
    from edgekit.profile import Protocol

    register_standin()
    counts = [int(x) for x in args.devices.split(",")]
    models = tiny_models(work, MODELS_PER_DEVICE)
    t0 = time.perf_counter()
    ray.init(num_cpus=2, resources={f"edgekit-device:s{i}": 1 for i in range(max(counts))}, include_dashboard=False,
             log_to_driver=False, configure_logging=False)
    NOTES.append(f"local Ray startup for the stand-in table: {time.perf_counter() - t0:.1f} s (not in its figures)")
    rows = []
    for n in counts:
        fleet = standin_fleet(work, n, args.latency_ms)
        ideal = MODELS_PER_DEVICE * n * args.latency_ms / 1000 / n
        for engine in ("auto", "off"):
            walls = []
            for r in range(args.repeats):
                t0 = time.perf_counter()
                res = run_fleet(models, fleet, ray=engine, force=True, store=work / f"s{n}{engine}{r}.jsonl",
                                proto=Protocol(runs=1, warmup=0), policy=Policy(), show_progress=False)
                walls.append(time.perf_counter() - t0)
                assert res.complete and res.measured == MODELS_PER_DEVICE * n
            wall = statistics.median(walls)
            rows.append([n, MODELS_PER_DEVICE * n, "Ray" if engine == "auto" else "threads", round(ideal, 2),
                         round(wall, 2), round(wall / ideal, 2),
                         round((wall - ideal) / MODELS_PER_DEVICE * 1000, 1)])
            print(rows[-1], file=sys.stderr)
    steady = []  # per-job cost once the actors run: the slope between 8 and 32 jobs per device
    n = min(4, max(counts))
    fleet = standin_fleet(work, n, args.latency_ms)
    (work / "many").mkdir()
    many = tiny_models(work / "many", 32)
    for engine in ("auto", "off"):
        walls = {}
        for k in (8, 32):
            t0 = time.perf_counter()
            run_fleet(many[:k], fleet, ray=engine, force=True, store=work / f"steady{engine}{k}.jsonl",
                      proto=Protocol(runs=1, warmup=0), policy=Policy(), show_progress=False)
            walls[k] = time.perf_counter() - t0
        slope = (walls[32] - walls[8]) / 24  # seconds per extra job on each device
        steady.append([n, "Ray" if engine == "auto" else "threads", round(walls[8], 2), round(walls[32], 2),
                       round((slope - args.latency_ms / 1000) * 1000, 1)])
        print(steady[-1], file=sys.stderr)
    NOTES.append(table(steady, ["devices", "engine", "wall 8/dev s", "wall 32/dev s", "steady overhead/job ms"],
                       title="\nsteady state (actors running): extra wall per extra job on a device, minus its latency"))
    ray.shutdown()
    return rows


def loopback(args, work: Path) -> tuple[list[list], str]:
    import ray

    from edgekit.cli import main as cli_main
    from helpers.sshd import start_sshd

    targets = ["x86_64", "raspberry-pi-4", "raspberry-pi-5"]  # --remote-map is keyed by target: one each
    servers = [start_sshd(Path(tempfile.mkdtemp(dir=work)), alias=f"bench{i}") for i in range(3)]
    try:
        fleet = work / "loop.toml"
        fleet.write_text("".join(
            f'[[devices]]\nname = "dev{i}"\ntarget = "{t}"\naddress = "ssh://127.0.0.1:{s.port}"\n'
            f'python = "{s.python}"\nssh_config = "{s.config}"\n\n' for i, (t, s) in enumerate(zip(targets, servers))))
        (work / "loop").mkdir()
        models = [str(m) for m in tiny_models(work / "loop", 4)]
        t0 = time.perf_counter()
        ray.init(resources={f"edgekit-device:dev{i}": 1 for i in range(3)}, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
        NOTES.append(f"local Ray startup for the loopback table: {time.perf_counter() - t0:.1f} s (not in its figures)")
        proto = ["--runs", str(args.runs), "--warmup", "5"]
        rows, same = [], []
        for r in range(args.repeats):
            seq, fl = work / f"seq{r}.json", work / f"fleet{r}.json"
            maps = []
            for t, s in zip(targets, servers):
                maps += ["--remote-map", f"{t}=ssh://127.0.0.1:{s.port}"]
            # one ssh config for the sequential run: the three servers' known_hosts side by side
            cfg = work / "seq_config"
            known = work / "seq_known"
            known.write_text("".join(f"[127.0.0.1]:{s.port} " + s.known_hosts.read_text().split(" ", 1)[1]
                                     for s in servers))
            keys = "".join(f"  IdentityFile {s.key}\n" for s in servers)  # each server knows its own key
            cfg.write_text(f"Host *\n{keys}  IdentitiesOnly yes\n"
                           f"  UserKnownHostsFile {known}\n  GlobalKnownHostsFile /dev/null\n"
                           "  StrictHostKeyChecking yes\n")
            quiet = contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO())
            t0 = time.perf_counter()
            with quiet[0], quiet[1]:
                rc = cli_main(["profile", *models, "--targets", ",".join(targets), *maps, "--ssh-config", str(cfg),
                               "--remote-python", servers[0].python, *proto, "--json", str(seq)])
            t_seq = time.perf_counter() - t0
            t_fleet = {}
            for engine in ("auto", "off"):  # Ray already running (started above, timed apart), then threads
                t0 = time.perf_counter()
                with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                    rc2 = cli_main(["profile", *models, "--fleet", str(fleet), "--ray", engine, "--force", "--store",
                                    str(work / f"loop{r}{engine}.jsonl"), *proto,
                                    "--json", str(fl if engine == "auto" else work / f"threads{r}.json")])
                t_fleet[engine] = time.perf_counter() - t0
                rc = rc or rc2
            if rc:
                raise SystemExit(f"a run failed (exit {rc}); see {work}")
            a, b = json.loads(seq.read_text()), json.loads(fl.read_text())
            c = json.loads((work / f"threads{r}.json").read_text())
            key = lambda x: (x["model"], x["target"], x["format"], x["runtime"]["name"], x["threads"], x["runs"],  # noqa: E731
                             x["model_bytes"], x["host"]["arch"])
            same.append(sorted(map(key, a)) == sorted(map(key, b)) == sorted(map(key, c)) and len(a) == len(b))
            p50 = lambda recs: statistics.median(x["latency_ms"]["p50"] for x in recs)  # noqa: E731
            rows.append([r + 1, len(a), round(t_seq, 2), round(t_fleet["auto"], 2), round(t_fleet["off"], 2),
                         round(t_seq / t_fleet["auto"], 2), round(t_seq / t_fleet["off"], 2),
                         round(p50(a), 4), round(p50(b), 4), same[-1]])
            print(rows[-1], file=sys.stderr)
        if ray.is_initialized():
            ray.shutdown()
        return rows, f"records agree (model, target, format, runtime, threads, runs, size, arch): {all(same)}"
    finally:
        for s in servers:
            s.stop()


def main() -> int:
    from edgekit.ui import table

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--devices", default="1,2,4,8,16,32,64")
    ap.add_argument("--latency-ms", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--runs", type=int, default=200, help="timed runs per loopback measurement")
    ap.add_argument("--skip-scaling", action="store_true")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-fleet-"))
    out = [f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
           f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.platform()}, "
           f"load average {os.getloadavg()[0]:.1f}",
           "command: python tools/bench_fleet.py " + " ".join(sys.argv[1:]), ""]
    if not args.skip_scaling:
        rows = scaling(args, work)
        out += [f"stand-in devices (sleep://, {args.latency_ms} ms per job), {MODELS_PER_DEVICE} models each, "
                f"median of {args.repeats}:", "",
                table(rows, ["devices", "jobs", "engine", "ideal s", "wall s", "wall/ideal", "overhead/job ms"]), ""]
    rows, verdict = loopback(args, work)
    out += [f"three loopback sshd devices, 4 models, {args.runs} runs each: sequential --targets vs --fleet on Ray "
            "(running) and in-process:", "",
            table(rows, ["round", "jobs", "sequential s", "fleet Ray s", "fleet threads s", "seq/Ray", "seq/threads",
                         "seq p50 ms", "Ray p50 ms", "same"]), "", verdict,
            *NOTES, f"load average after: {os.getloadavg()[0]:.1f}"]
    text = "\n".join(out)
    print(text)
    if args.write_docs:
        from bench_quantize import write_docs

        write_docs(PREAMBLE + "\n```\n" + text + "\n```", SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
