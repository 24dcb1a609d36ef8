"""A seeded, resumable mutation fuzzer over edgekit's entry points (issue 17, "Keep it true").

    python tools/fuzz.py --out fuzz-run --cases 10000 [--commands load,convert,...] [--seed 0]
    python tools/fuzz.py --out fuzz-run --summary

Each case mutates one input (model bytes, ONNX structure, TFLite structure, data, a bundle, a target
file), runs one command on it in a long-lived harness child (so a case costs the command, not Python's
start-up; a crash or hang costs a harness restart) and classifies the outcome:

  clean            non-zero exit with edgekit's one error line (or exit 0 on a valid input)
  traceback        a Python traceback, or the CLI's "internal error" net caught an unforeseen exception
  crash            the harness died of a signal
  hang             no answer within --timeout seconds
  memory           out of memory under the harness's address-space limit (--rss-gb, resource.setrlimit)
  accepted_invalid exit 0 on a model that onnx.checker (full_check) or the TFLite structural check rejects
  partial          a file left behind on failure (or a temp file on success)
  input_modified   an input's bytes changed
  raw_text         onnxruntime's C++ signatures or coloured log lines on stderr

Results go to OUT/results.jsonl, one line per case; a re-run skips the cases already there (resume).
A case's randomness comes only from (--seed, command, index), so any case can be replayed alone with
``--start INDEX --cases 1 --commands COMMAND`` into a fresh --out. Mutations live in tools/fuzz_mutate.py.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import fuzz_mutate as mut  # noqa: E402

COMMANDS = ("load", "profile", "convert", "quantize", "eval", "bundle", "targets")
BAD = ("traceback", "crash", "hang", "memory", "accepted_invalid", "partial", "input_modified", "raw_text")


# ----------------------------------------------------------------------------- the harness (child side)
def serve(rss_gb: float) -> None:  # pragma: no cover - runs in the harness child
    import resource

    limit = int(rss_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = os.fdopen(os.dup(1), "w")
    import numpy as np  # noqa: F401 - imported once for every case

    from edgekit import cli  # noqa: F401
    for line in sys.stdin:
        req = json.loads(line)
        out.write(json.dumps(_one(req)) + "\n")
        out.flush()


def _one(req: dict) -> dict:  # pragma: no cover - harness child
    import traceback

    cwd = req["cwd"]
    os.chdir(cwd)
    saved = os.dup(1), os.dup(2)
    log = os.open(os.path.join(cwd, ".stderr"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1)
    os.dup2(log, 2)
    try:
        if req["kind"] == "cli":
            from edgekit import cli

            rc = cli.main(req["argv"])
        else:
            rc = _api(req["path"])
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - the API path: anything not an EdgekitError is a finding
        sys.stderr.write(traceback.format_exc())
        rc = 99
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, log):
            os.close(fd)
    return {"rc": rc}


def _api(path: str) -> int:  # pragma: no cover - harness child
    import edgekit
    from edgekit.errors import EdgekitError
    from edgekit.runtime.device import sample_inputs

    try:
        model = edgekit.load(path)
        model.run({i.name: v for i, v in zip(model.inputs, sample_inputs(model.inputs).values())})
    except EdgekitError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


class Harness:
    def __init__(self, rss_gb: float, timeout: float, log: Path | None = None):
        self.rss_gb, self.timeout, self.proc, self.log = rss_gb, timeout, None, log

    def start(self):
        env = dict(os.environ, EDGEKIT_PROBE_TIMEOUT=str(self.timeout))
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", "--rss-gb", str(self.rss_gb)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.log, "ab") if self.log else subprocess.DEVNULL,
                                     env=env, start_new_session=True)

    def stop(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)  # the harness and its probe worker
            except ProcessLookupError:
                pass
            self.proc.wait()
            self.proc = None

    def ask(self, req: dict) -> tuple[str, int | None]:
        """("ok", rc) | ("hang", None) | ("crash", -signal or exit code)."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        try:
            self.proc.stdin.write((json.dumps(req) + "\n").encode())
            self.proc.stdin.flush()
        except OSError:
            return self._died()
        ready, _, _ = select.select([self.proc.stdout], [], [], self.timeout * 2)  # the probe has its own
        if not ready:
            self.stop()
            return "hang", None
        line = self.proc.stdout.readline()
        if not line:
            return self._died()
        return "ok", json.loads(line)["rc"]

    def _died(self):
        code = self.proc.wait()
        self.proc = None
        return "crash", code


# ----------------------------------------------------------------------------- the driver (parent side)
def case_rng(seed: int, command: str, index: int) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(f"{seed}:{command}:{index}".encode()).digest()[:8], "big"))


def digest_tree(paths) -> dict:
    out = {}
    for p in paths:
        p = Path(p)
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else []
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def classify(status: str, rc, case: mut.Case, before: dict, stderr: str) -> str:
    if status == "hang":
        return "hang"
    if status == "crash":
        return "memory" if _oom(stderr) else "crash"
    after = digest_tree(case.inputs)
    if after != before:
        return "input_modified"
    if "Traceback (most recent call last)" in stderr or "internal error:" in stderr:
        return "memory" if _oom(stderr) else "traceback"
    if _oom(stderr):
        return "memory"
    if "onnxruntime_src" in stderr or "\x1b[" in stderr or "onnxruntime::" in stderr:
        return "raw_text"
    left = sorted(str(p.relative_to(case.dir)) for p in case.dir.rglob("*")
                  if p.is_file() and p.name != ".stderr" and str(p) not in after)
    expected = {str(Path(o).relative_to(case.dir)) for o in case.outputs} if rc == 0 else set()
    if any(name not in expected for name in left):
        return "partial"
    if rc == 0 and case.invalid:
        return "accepted_invalid"
    return "clean"


def _oom(stderr: str) -> bool:
    s = stderr.lower()
    return any(k in s for k in ("out of memory", "memoryerror", "bad_alloc", "cannot allocate memory",
                                "failed to allocate"))


def run(args) -> None:
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = out / "results.jsonl"
    done = set()
    if results.exists():
        for line in results.read_text().splitlines():
            r = json.loads(line)
            done.add((r["command"], r["index"]))
    corpus = mut.build_corpus(out / "corpus")
    harness = Harness(args.rss_gb, args.timeout, out / "harness.log")
    commands = args.commands.split(",")
    work = out / "work"
    try:
        with results.open("a") as log:
            for index in range(args.start, args.start + args.cases):
                for command in commands:
                    if (command, index) in done:
                        continue
                    rec = run_case(harness, corpus, work, args.seed, command, index)
                    log.write(json.dumps(rec) + "\n")
                    log.flush()
                    if rec["class"] in BAD and not args.quiet:
                        print(f"{command}:{index} {rec['class']} {rec['mutation']}: {rec['stderr'][-200:]!r}")
    finally:
        harness.stop()
    summary(results)


def run_case(harness: Harness, corpus, work: Path, seed: int, command: str, index: int) -> dict:
    rng = case_rng(seed, command, index)
    case_dir = work / f"{command}-{index}"
    shutil.rmtree(case_dir, ignore_errors=True)
    case_dir.mkdir(parents=True)
    try:
        case = mut.make_case(command, rng, corpus, case_dir)
    except Exception as exc:  # noqa: BLE001 - a mutation the schema cannot even encode: not a case
        shutil.rmtree(case_dir, ignore_errors=True)
        return {"command": command, "index": index, "mutation": f"unencodable: {type(exc).__name__}",
                "invalid": True, "status": "skipped", "rc": None, "class": "skipped", "seconds": 0.0, "stderr": ""}
    before = digest_tree(case.inputs)
    t0 = time.perf_counter()
    status, rc = harness.ask(case.request)
    seconds = time.perf_counter() - t0
    err_file = case_dir / ".stderr"
    stderr = err_file.read_text(errors="replace") if err_file.exists() else ""
    cls = classify(status, rc, case, before, stderr)
    rec = {"command": command, "index": index, "mutation": case.mutation, "invalid": case.invalid,
           "status": status, "rc": rc, "class": cls, "seconds": round(seconds, 3), "stderr": stderr[-600:]}
    if cls not in BAD:
        shutil.rmtree(case_dir, ignore_errors=True)  # keep only the findings' files, to replay them
    return rec


def summary(results: Path) -> dict:
    table: dict[str, dict[str, int]] = {}
    for line in results.read_text().splitlines():
        r = json.loads(line)
        row = table.setdefault(r["command"], {})
        row["cases"] = row.get("cases", 0) + 1
        row[r["class"]] = row.get(r["class"], 0) + 1
    cols = ["cases", "clean", *BAD, "skipped"]
    print("| command | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    for command in sorted(table):
        print(f"| {command} | " + " | ".join(str(table[command].get(c, 0)) for c in cols) + " |")
    return table


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="fuzz-run")
    ap.add_argument("--cases", type=int, default=100, help="cases per command")
    ap.add_argument("--start", type=int, default=0, help="first case index")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--commands", default=",".join(COMMANDS))
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per case")
    ap.add_argument("--rss-gb", type=float, default=6.0, help="address-space limit of the harness")
    ap.add_argument("--summary", action="store_true")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.rss_gb)
        return 0
    if args.summary:
        summary(Path(args.out) / "results.jsonl")
        return 0
    run(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
