#!/usr/bin/env python
"""ONNX's own backend node tests through edgekit convert (and optionally onnx2tf 2.x), classified.

Every node case the installed onnx package's case generators write (``onnx/backend/test/data/node``
layout: ``model.onnx`` + ``test_data_set_0/{input,output}_N.pb``) has its parameter inputs frozen to
constants (``tests/convert/_backend.freeze``: weights, shapes, axes, pads, scales...; edgekit converts
static models), is converted, run in LiteRT (XNNPACK, 1 thread) and compared with the expected outputs
(``_backend.compare``: float32 within 1e-5 * max(1, range, max |value|) + 1e-6, integers and bools
exactly).
Outcomes: matched / refused (one-line EdgekitError) / traceback / unrunnable (LiteRT cannot load or
run the file, or the process died) / mismatch.

The installed onnx wheel does not ship the generated data, so it is written once per onnx version
into ``--data`` from ``onnx.backend.test.case.node`` (the generators onnx's own data comes from).
Results go to ``--work``/results-<tool>.jsonl as they arrive: an interrupted run resumes where it
stopped (``--fresh`` starts over). Cases run in ``--jobs`` worker processes; a worker that dies
(a LiteRT abort) marks its case unrunnable and is replaced.

    python tools/node_tests.py --jobs 2 --markdown            # edgekit, table into docs/benchmarks.md
    python tools/node_tests.py --onnx2tf .o2t/bin/python      # also onnx2tf 2.x (flatbuffer_direct)
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))          # tests.convert._backend: the freezing and comparison helpers
sys.path.insert(0, str(ROOT / "tools"))
SECTION = "## ONNX backend node tests"
STATUSES = ("pass", "refused", "traceback", "unrunnable", "mismatch")
CASE_TIMEOUT_S = 300


# ---- the case data ----------------------------------------------------------------------------
def node_data(cache: Path) -> Path:
    """The node case directory: the installed onnx's own, else generated once into ``cache``."""
    import onnx

    shipped = Path(onnx.__file__).parent / "backend" / "test" / "data" / "node"
    if shipped.is_dir() and any(shipped.iterdir()):
        return shipped
    out = cache / f"onnx-{onnx.__version__}" / "node"
    if not (out / ".complete").exists():
        _generate(out)
    return out


def _generate(out: Path) -> None:
    import shutil
    import warnings

    import numpy as np
    from onnx import numpy_helper
    from onnx.backend.test.case import node

    print(f"writing the onnx node cases into {out} (once per onnx version)", file=sys.stderr)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases(None)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for case in cases:
        d = tmp / case.name / "test_data_set_0"
        d.mkdir(parents=True)
        (tmp / case.name / "model.onnx").write_bytes(case.model.SerializeToString())
        inputs, outputs = case.data_sets[0]
        for kind, values, infos in (("input", inputs, case.model.graph.input),
                                    ("output", outputs, case.model.graph.output)):
            for j, (value, vi) in enumerate(zip(values, infos)):
                field = vi.type.WhichOneof("value")
                if field == "sequence_type":
                    proto = numpy_helper.from_list(value, vi.name)
                elif field == "optional_type":
                    proto = numpy_helper.from_optional(value, vi.name)
                elif hasattr(value, "SerializeToString"):
                    proto = value
                else:
                    proto = numpy_helper.from_array(np.asarray(value), vi.name)
                (d / f"{kind}_{j}.pb").write_bytes(proto.SerializeToString())
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    (out / ".complete").write_text(str(len(cases)))


def load_case(case_dir: Path):
    """(model, inputs, outputs, tensor_only): values are numpy arrays for tensor-typed I/O."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(case_dir / "model.onnx"))
    tensor_only = all(vi.type.WhichOneof("value") == "tensor_type"
                      for vi in list(model.graph.input) + list(model.graph.output))
    data = case_dir / "test_data_set_0"
    values = {}
    for kind, infos in (("input", model.graph.input), ("output", model.graph.output)):
        values[kind] = []
        for j in range(len(infos)):
            proto = onnx.TensorProto()
            if tensor_only:
                proto.ParseFromString((data / f"{kind}_{j}.pb").read_bytes())
                values[kind].append(numpy_helper.to_array(proto))
    return model, values["input"], values["output"], tensor_only


# ---- one case (runs in a worker process) ---------------------------------------------------------
def run_one(case_dir: Path, tool: str, work: Path, rtol: float = 1e-5) -> dict:
    from tests.convert import _backend

    model, inputs, outputs, tensor_only = load_case(case_dir)
    rec = {"case": case_dir.name, "ops": sorted({n.op_type for n in model.graph.node})}
    t0 = time.process_time()
    if not tensor_only:     # sequence/optional I/O: nothing to freeze or feed; the converter must refuse
        frozen, feeds = model, {}
    else:
        frozen, feeds = _backend.freeze(model, inputs)
    if tool == "edgekit":
        out = _backend.convert_and_check(frozen, feeds, outputs, work / "tflite" / f"{case_dir.name}.tflite", rtol)
    else:
        out = _onnx2tf_case(frozen, feeds, outputs, case_dir.name, work, rtol, tensor_only)
    rec.update(status=out.status, detail=out.detail[:400], cpu_s=round(time.process_time() - t0, 3))
    if out.status == "pass" and not tensor_only:
        rec.update(status="traceback", detail="a graph with sequence/optional I/O was converted")
    return rec


def _onnx2tf_case(frozen, feeds, outputs, name, work: Path, rtol, tensor_only):
    """The file onnx2tf wrote for this case (converted beforehand in phase 1), run and compared."""
    from tests.convert import _backend

    done = work / "onnx2tf" / name
    status = json.loads((done / "status.json").read_text()) if (done / "status.json").exists() else None
    if status is None:
        return _backend.Outcome("refused", "onnx2tf was not run on this case")
    if not status["ok"]:
        kind = "traceback" if status.get("traceback") else "refused"
        return _backend.Outcome(kind, status["error"])
    files = sorted(done.glob("*_float32.tflite")) or sorted(done.glob("*.tflite"))
    if not files:
        return _backend.Outcome("refused", "onnx2tf wrote no .tflite")
    def adapt(path, feeds):
        got = _nhwc_run(path, feeds)
        fixed = {}
        for i, (vi, want) in enumerate(zip(frozen.graph.output, outputs)):
            key = vi.name if vi.name in got else _match_name(vi.name, got) or (list(got)[i] if i < len(got) else None)
            if key is not None:
                fixed[vi.name] = _from_channels_last(got[key], want.shape)
        return fixed

    return _backend.check_file(files[0], frozen, feeds, outputs, rtol, adapt=adapt)


def _from_channels_last(arr, want_shape):
    import numpy as np

    if arr.shape == tuple(want_shape) or arr.ndim < 3:
        return arr
    moved = np.moveaxis(arr, -1, 1)
    return moved if moved.shape == tuple(want_shape) else arr


def _nhwc_run(path, feeds):
    """Run an onnx2tf file (inputs by signature name): it may take rank-3..5 inputs channels-last, so
    inputs are transposed to the shape the file asks for (outputs are moved back by the caller)."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=1)
    sigs = interp.get_signature_list()
    if sigs:
        runner = interp.get_signature_runner(next(iter(sigs)))
        details = runner.get_input_details()
        fed = {}
        for name, arr in feeds.items():
            key = name if name in details else _match_name(name, details)
            want = tuple(details[key]["shape"]) if key else arr.shape
            fed[key or name] = _to_shape(arr, want)
        got = runner(**fed)
    else:
        interp.allocate_tensors()
        for d, arr in zip(interp.get_input_details(), feeds.values()):
            interp.set_tensor(d["index"], _to_shape(arr, tuple(d["shape"])))
        interp.invoke()
        got = {d["name"]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}
    return {k: np.asarray(v) for k, v in got.items()}


def _match_name(name, details):
    clean = re.sub(r"[^0-9a-zA-Z_]", "_", name)
    return next((k for k in details if k in (clean, clean.lower(), f"serving_default_{clean}")), None)


def _to_shape(arr, want):
    import numpy as np

    if tuple(arr.shape) == tuple(want) or arr.ndim < 3:
        return arr
    moved = np.moveaxis(arr, 1, -1)
    return moved if tuple(moved.shape) == tuple(want) else arr


# ---- the pool --------------------------------------------------------------------------------------
def worker_main(tool: str, work: Path) -> None:
    for line in sys.stdin:
        case_dir = Path(line.strip())
        try:
            rec = run_one(case_dir, tool, work)
        except Exception as exc:  # noqa: BLE001  (the harness itself failed on this case)
            rec = {"case": case_dir.name, "status": "traceback", "detail": f"harness: {type(exc).__name__}: {exc}"}
        print(json.dumps(rec), flush=True)


def serve(items: list, argv: list[str], cwd: Path, jobs: int, request, handle) -> None:
    """Feed ``items`` to ``jobs`` long-lived worker processes (``argv``), one request line each, and call
    ``handle(item, reply_line)``; a worker that dies or exceeds CASE_TIMEOUT_S on an item is replaced and
    ``handle`` gets ``""`` (with the exit code in ``serve.last_rc``)."""
    todo, lock = list(reversed(items)), threading.Lock()

    def spawn():
        return subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True, cwd=cwd)

    def drive():
        proc = spawn()
        while True:
            with lock:
                if not todo:
                    break
                item = todo.pop()
            timer = threading.Timer(CASE_TIMEOUT_S, proc.kill)
            timer.start()
            try:
                proc.stdin.write(request(item) + "\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
            except OSError:
                line = ""
            timer.cancel()
            if not line:
                proc.kill()
                proc.wait()
                serve.last_rc = proc.returncode
                proc = spawn()
            with lock:
                handle(item, line)
        proc.stdin.close()
        proc.wait()

    threads = [threading.Thread(target=drive) for _ in range(max(1, jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def run_pool(cases: list[Path], tool: str, work: Path, jobs: int, results: Path, progress) -> None:
    """Each case in a worker of this script (``--worker``); records appended to ``results``."""
    def handle(case, line):
        rec = json.loads(line) if line else {
            "case": case.name, "status": "unrunnable",
            "detail": f"the process died running this case (exit {serve.last_rc}: a LiteRT abort or timeout)"}
        with results.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        progress(rec)

    serve(cases, [sys.executable, __file__, "--worker", tool, "--work", str(work)], ROOT, jobs, str, handle)


def read_results(path: Path) -> dict:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                out[rec["case"]] = rec
    return out


# ---- onnx2tf phase -------------------------------------------------------------------------------
# Runs inside onnx2tf's venv (Python 3.12): converts every frozen model listed on stdin, one status
# file per case, so the comparison (phase 2) runs in edgekit's venv with the same LiteRT and checks.
_ONNX2TF_WORKER = r"""
import contextlib, io, json, sys, traceback
from pathlib import Path
import onnx2tf
for line in sys.stdin:
    src, out = line.split()
    out = Path(out); out.mkdir(parents=True, exist_ok=True)
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            onnx2tf.convert(input_onnx_file_path=src, output_folder_path=str(out), tflite_backend="flatbuffer_direct",
                            non_verbose=True)
        status = {"ok": True}
    except BaseException as exc:
        status = {"ok": False, "error": (type(exc).__name__ + ": " + str(exc)).splitlines()[0][:300]}
    (out / "status.json").write_text(json.dumps(status))
    print("done", flush=True)
"""


def onnx2tf_convert(python: str, cases: list[Path], work: Path, jobs: int, progress) -> None:
    """Freeze each case (edgekit's venv) and let onnx2tf convert it (its venv), ``jobs`` at a time."""
    import onnx

    from tests.convert import _backend

    pending = []
    for case in cases:
        out = work / "onnx2tf" / case.name
        if (out / "status.json").exists():
            continue
        model, inputs, outputs, tensor_only = load_case(case)
        if not tensor_only:
            out.mkdir(parents=True, exist_ok=True)
            (out / "status.json").write_text(json.dumps({"ok": False, "error": "sequence/optional I/O (not run)"}))
            continue
        src = work / "frozen" / f"{case.name}.onnx"
        if not src.exists():
            frozen, _ = _backend.freeze(model, inputs)
            src.parent.mkdir(parents=True, exist_ok=True)
            onnx.save(frozen, str(src))
        pending.append((src, out))
    # in a hashed order, so that an interrupted run has converted a uniform sample of the cases
    pending.sort(key=lambda item: hashlib.sha256(item[1].name.encode()).hexdigest())
    def handle(item, line):
        if not line:
            item[1].mkdir(parents=True, exist_ok=True)
            (item[1] / "status.json").write_text(json.dumps(
                {"ok": False, "traceback": True, "error": f"onnx2tf's process died (exit {serve.last_rc})"}))
        progress({"case": item[1].name, "status": "converted"})

    serve(pending, [python, "-c", _ONNX2TF_WORKER], work, jobs, lambda item: f"{item[0]} {item[1]}", handle)


# ---- report ----------------------------------------------------------------------------------------
def registry_ops() -> set:
    from edgekit.convert import registry

    return set(registry.supported_ops()) | {"Constant"}   # Constant nodes are read as constants


def case_ops(case_dir: Path) -> set:
    import onnx

    return {n.op_type for n in onnx.load(str(case_dir / "model.onnx"), load_external_data=False).graph.node}


def refusal_group(rec: dict) -> str:
    """A refusal message without node names and values: what groups equal reasons."""
    text = rec.get("detail", "")
    m = re.match(r"cannot convert (\w+) \(node '[^']*', opset \d+\) to TFLite: (.*?)(?:\. [A-Z].*)?$", text)
    if m:
        why = re.sub(r"'[^']*'|\b\d+\b", "…", m.group(2))
        return f"{m.group(1)}: {why}"
    m = re.match(r"cannot convert to TFLite: unsupported (.*?): supported ops are", text)
    if m:
        ops = sorted({p.split(" (node")[0].strip() for p in re.split(r";\s*", m.group(1))})
        return "no lowering: " + ", ".join(ops)
    return re.sub(r"'[^']*'|\b\d+\b", "…", text.split(". ")[0])[:160]


def summary(results: dict, registry: set, tools: list[str]) -> str:
    def counts(tool, names):
        c = Counter(results[tool][n]["status"] for n in names if n in results[tool])
        return [c.get(s, 0) for s in STATUSES]

    first = results[tools[0]]
    all_names = sorted(first)
    reg = [n for n in all_names if set(first[n].get("ops", [])) <= registry]
    lines = ["| cases | converter | " + " | ".join(STATUSES) + " | matched % |", "|---|---|" + "---|" * (len(STATUSES) + 1)]
    groups = [(f"registry ({len(reg)})", reg), (f"all ({len(all_names)})", all_names)]
    for tool in tools[1:]:
        sub = [n for n in reg if n in results[tool]]
        if len(sub) < len(reg):   # a sample (an interrupted run): both converters on the same cases
            groups.insert(1, (f"registry, {tool}'s sample ({len(sub)}, hashed order)", sub))
    for label, names in groups:
        for tool in tools:
            if not set(names) <= set(results[tool]):   # this tool did not run on every case of the row
                continue
            row = counts(tool, names)
            lines.append(f"| {label} | {tool} | " + " | ".join(map(str, row)) + f" | {100 * row[0] / max(1, len(names)):.1f} |")
    body = "\n".join(lines)
    ek = results["edgekit"]
    for title, names in (("registry cases", reg), ("other cases", [n for n in all_names if n not in set(reg)])):
        groups: dict[str, list[str]] = {}
        for n in names:
            if ek.get(n, {}).get("status") not in (None, "pass"):
                rec = ek[n]
                key = rec["status"] + " — " + (refusal_group(rec) if rec["status"] == "refused" else rec["detail"][:160])
                groups.setdefault(key, []).append(n)
        if not groups:
            continue
        body += f"\n\nedgekit, {title} not matched, grouped by reason (count, examples):\n\n| n | reason | examples |\n|---|---|---|\n"
        for key, ns in sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            ex = ", ".join(x.removeprefix("test_") for x in ns[:3]) + (" …" if len(ns) > 3 else "")
            body += f"| {len(ns)} | {key.replace('|', '/')} | {ex} |\n"
    return body


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (1-16)")
    ap.add_argument("--work", default=str(Path.home() / ".cache" / "edgekit" / "node-tests"), help="results, files")
    ap.add_argument("--data", default=None, help="where to write the generated cases (default: under --work)")
    ap.add_argument("--fresh", action="store_true", help="forget earlier results")
    ap.add_argument("--only", default=None, help="regex on case names (development)")
    ap.add_argument("--onnx2tf", default=None, metavar="PYTHON", help="python of a venv with onnx2tf 2.x")
    ap.add_argument("--onnx2tf-all", action="store_true", help="onnx2tf on every case, not only the registry ones")
    ap.add_argument("--onnx2tf-cached", action="store_true",
                    help="compare onnx2tf only on cases it has converted already (no new conversions)")
    ap.add_argument("--markdown", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    work = Path(args.work).resolve()
    if args.worker:
        worker_main(args.worker, work)
        return 0
    if not 1 <= args.jobs <= 16:
        ap.error("--jobs must be 1-16")
    (work / "tflite").mkdir(parents=True, exist_ok=True)
    import fcntl

    lock = (work / ".lock").open("w")
    try:   # one run per work directory: two would append the same cases to one results file
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"node_tests: another run is using {work}; wait for it or pass another --work", file=sys.stderr)
        return 1
    data = node_data(Path(args.data) if args.data else work / "data")
    cases = sorted(p for p in data.iterdir() if (p / "model.onnx").exists())
    if args.only:
        cases = [c for c in cases if re.search(args.only, c.name)]
    tools = ["edgekit"] + (["onnx2tf"] if args.onnx2tf else [])
    t0, cpu0 = time.time(), _children_cpu()
    registry = registry_ops()
    scope = {"edgekit": cases}
    if args.onnx2tf:
        scope["onnx2tf"] = cases if args.onnx2tf_all else [c for c in cases if case_ops(c) <= registry]
        if args.onnx2tf_cached:
            scope["onnx2tf"] = [c for c in scope["onnx2tf"] if (work / "onnx2tf" / c.name / "status.json").exists()]
        onnx2tf_convert(args.onnx2tf, scope["onnx2tf"], work, args.jobs, _progress(len(scope["onnx2tf"]), "onnx2tf convert"))
    results = {}
    for tool in tools:
        path = work / f"results-{tool}.jsonl"
        if args.fresh:
            path.unlink(missing_ok=True)
        done = read_results(path)
        todo = [c for c in scope[tool] if c.name not in done]
        run_pool(todo, tool, work, args.jobs, path, _progress(len(todo), tool))
        results[tool] = {k: v for k, v in read_results(path).items() if k in {c.name for c in scope[tool]}}
    text = summary(results, registry, tools)
    elapsed, cpu = time.time() - t0, _children_cpu() - cpu0
    import onnx

    from bench_quantize import cpu_info

    head = (f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; machine: {cpu_info()}, "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; onnx {onnx.__version__}; "
            f"command: `python tools/node_tests.py --jobs {args.jobs}{' --onnx2tf PY' if args.onnx2tf else ''}`; "
            f"this run: {elapsed:.0f} s wall, {cpu:.0f} s CPU in workers (resumed runs count only new cases)")
    print(head + "\n\n" + text)
    if args.markdown:
        from bench_quantize import write_docs

        write_docs(_INTRO + "\n" + head + "\n\n" + text, SECTION)
    return 0


_INTRO = """Every node case of the installed onnx package's backend test generators, parameter inputs frozen to
constants (`tests/convert/_backend.freeze`), converted, run in LiteRT (XNNPACK) and compared with the
expected outputs (float32 within 1e-5 x max(1, range, max |value|) + 1e-6, float16 within 2^-10 of the
same scale, integers/bools exactly). "registry" = cases whose ops all have an edgekit lowering today. `refused` = a
one-line EdgekitError before any file is written; `traceback` = any other exception (also a lowering
bug wrapped into a ConvertError); `unrunnable` = the written file does not load or run in LiteRT (or
the process died); `mismatch` = it runs with wrong outputs.
"""


def _children_cpu() -> float:
    import resource

    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _progress(total: int, label: str):
    state = {"n": 0, "bad": Counter()}

    def tick(rec):
        state["n"] += 1
        state["bad"][rec["status"]] += 1
        if sys.stderr.isatty() or state["n"] % 50 == 0 or state["n"] == total:
            bar = "#" * int(30 * state["n"] / max(1, total))
            stats = " ".join(f"{k}={v}" for k, v in sorted(state["bad"].items()))
            print(f"\r{label:>16} [{bar:<30}] {state['n']}/{total} {stats}", end="" if sys.stderr.isatty() else "\n",
                  file=sys.stderr, flush=True)
        if state["n"] == total and sys.stderr.isatty():
            print(file=sys.stderr)
    return tick


if __name__ == "__main__":
    if "--worker" not in sys.argv:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
