#!/usr/bin/env python
"""Benchmark `edgekit convert` against onnx2tf (issue 4 targets) on zoo CNNs at 224x224.

For each model: conversion wall/CPU time and peak RSS (each converter in a fresh child process),
TFLite op count, LiteRT latency (1 thread, XNNPACK, both outputs interleaved in this process) and the
max abs error against onnxruntime relative to the output range. onnx2tf runs from its own venv
(tools/onnx2tf_env.sh); without it the table says so. Its outputs are kept in --onnx2tf-out.

    /opt/ekvenv/bin/python tools/bench_convert.py --markdown docs/benchmarks.md
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

# "shufflenet_v2:static" is the same network exported with constant shapes (no Shape/Gather chains
# around the channel split and shuffle): onnx2tf 1.29 fails on the torch-style export.
MODELS = ["mobilenet_v2", "resnet18", "efficientnet_b0", "shufflenet_v2", "shufflenet_v2:static"]
SECTION = "## Converter vs onnx2tf"
# onnx2tf (1.29) downloads this sample set at start-up; offline it must already be in the cwd. Its
# contents only matter for -oiqt calibration, so random data in [0, 1] stands in.
CALIB_NAME = "calibration_image_sample_data_20x128x128x3_float32.npy"
# Runs the converter command given as JSON argv, then reports the peak RSS and CPU time of its child
# processes (RUSAGE_CHILDREN of this fresh wrapper counts only the converter, not the wrapper).
_MEASURE = r"""
import json, resource, subprocess, sys, time
argv, cwd, log = json.loads(sys.argv[1])
t0 = time.perf_counter()
with open(log, "w") as fh:
    rc = subprocess.call(argv, cwd=cwd, stdout=fh, stderr=subprocess.STDOUT)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall_s": wall, "cpu_s": ru.ru_utime + ru.ru_stime, "peak_mb": ru.ru_maxrss / 1024}))
"""


@dataclass
class Conversion:
    tool: str
    path: str = ""
    error: str = ""
    wall_s: float | None = None
    cpu_s: float | None = None
    peak_mb: float | None = None
    ops: int | None = None
    transposes: int | None = None
    latency_ms: float | None = None
    cpu_ms: float | None = None
    rel_err: float | None = None
    note: str = ""


@dataclass
class Row:
    model: str
    params: int
    results: dict[str, Conversion] = field(default_factory=dict)
    # per-round CPU-time ratios against onnx2tf's float output: tool -> (median, min, max). "control" is
    # onnx2tf's own file in a second interpreter: the spread the method shows for identical models.
    spread: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def measure(argv: list[str], cwd: Path, log: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, json.dumps([argv, str(cwd), str(log)])],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def last_error_line(log: Path) -> str:
    """The exception line of a failed converter's log (ANSI colours removed)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", log.read_text(errors="replace"))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errs = [ln for ln in lines if re.match(r"^[\w.]*(Error|Exception)\b", ln)] or [ln for ln in lines if "rror" in ln]
    if not errs:
        return (lines or ["(no output)"])[-1][:200]
    i = len(lines) - 1 - lines[::-1].index(errs[-1])
    detail = lines[i + 1] if "Exception encountered" in errs[-1] and i + 1 < len(lines) else ""
    op = next((ln.split("onnx_op_name:", 1)[1].strip() for ln in lines if "onnx_op_name:" in ln), "")
    return " ".join(filter(None, [errs[-1][:160], detail[:200], f"(ONNX node {op})" if op else ""]))


def run_onnx2tf(onnx_path: Path, work: Path, venv: Path, out_dir: Path, int8: bool = False) -> Conversion:
    name = onnx_path.stem
    tool = "onnx2tf-int8" if int8 else "onnx2tf"
    exe = venv / "bin" / "onnx2tf"
    if not exe.exists():
        return Conversion(tool, error=f"onnx2tf not installed ({exe} missing; run tools/onnx2tf_env.sh)")
    dest = work / f"{name}_onnx2tf{'_int8' if int8 else ''}"
    shutil.rmtree(dest, ignore_errors=True)
    argv = [str(exe), "-i", str(onnx_path), "-o", str(dest), "-n"] + (["-oiqt"] if int8 else [])
    m = measure(argv, work, work / f"{dest.name}.log")
    produced = dest / (f"{name}_full_integer_quant.tflite" if int8 else f"{name}_float32.tflite")
    if m["rc"] != 0 or not produced.exists():
        return Conversion(tool, error=f"onnx2tf failed (rc {m['rc']}): {last_error_line(work / f'{dest.name}.log')}")
    out_dir.mkdir(parents=True, exist_ok=True)
    keep = out_dir / produced.name
    for tfl in dest.glob("*.tflite"):  # keep every variant (float16, integer_quant...) for comparisons
        shutil.copy2(tfl, out_dir / tfl.name)
    return Conversion(tool, str(keep), wall_s=m["wall_s"], cpu_s=m["cpu_s"], peak_mb=m["peak_mb"])


def run_edgekit(onnx_path: Path, work: Path, nhwc: bool = False) -> Conversion:
    tool = "edgekit-nhwc" if nhwc else "edgekit"
    out = work / f"{onnx_path.stem}_{tool}.tflite"
    out.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "edgekit", "convert", str(onnx_path), "--to", "tflite", "-o", str(out)]
    argv += ["--input-layout", "nhwc"] if nhwc else []
    m = measure(argv, work, work / f"{out.stem}.log")
    if m["rc"] != 0 or not out.exists():
        return Conversion(tool, error=f"edgekit convert failed (rc {m['rc']}): "
                                           f"{last_error_line(work / f'{out.stem}.log')}")
    return Conversion(tool, str(out), wall_s=m["wall_s"], cpu_s=m["cpu_s"], peak_mb=m["peak_mb"])


def op_counts(path: str) -> tuple[int, int]:
    """(number of operators over all subgraphs, number of TRANSPOSE ops) from the flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema_fb

    model = schema_fb.ModelT.InitFromPackedBuf(Path(path).read_bytes(), 0)
    codes = [max(c.builtinCode, c.deprecatedBuiltinCode) for c in model.operatorCodes]
    ops = [op for sg in model.subgraphs for op in (sg.operators or [])]
    transposes = sum(codes[op.opcodeIndex] == schema_fb.BuiltinOperator.TRANSPOSE for op in ops)
    return len(ops), transposes


class Runner:
    """One LiteRT interpreter (1 thread; XNNPACK is the default CPU delegate) fed an NCHW image."""

    def __init__(self, path: str):
        from ai_edge_litert.interpreter import Interpreter

        self.path = path
        self.interp = Interpreter(model_path=path, num_threads=1)
        self.interp.allocate_tensors()
        self.inp = self.interp.get_input_details()[0]
        self.out = self.interp.get_output_details()[0]

    def set(self, x_nchw: np.ndarray) -> None:
        shape = tuple(self.inp["shape"])
        x = x_nchw if shape == x_nchw.shape else x_nchw.transpose(0, 2, 3, 1)
        if tuple(x.shape) != shape:
            raise ValueError(f"input shape {shape} fits neither NCHW nor NHWC of {x_nchw.shape}")
        scale, zero = self.inp.get("quantization", (0.0, 0))
        if self.inp["dtype"] in (np.int8, np.uint8) and scale:
            info = np.iinfo(self.inp["dtype"])
            x = np.clip(np.round(x / scale + zero), info.min, info.max)
        self.interp.set_tensor(self.inp["index"], x.astype(self.inp["dtype"]))

    def output(self) -> np.ndarray:
        y = self.interp.get_tensor(self.out["index"])
        scale, zero = self.out.get("quantization", (0.0, 0))
        return (y.astype(np.float32) - zero) * scale if y.dtype in (np.int8, np.uint8) and scale else y

    def invoke_ms(self) -> tuple[float, float]:
        """(wall, calling-thread CPU) milliseconds of one invoke. With 1 thread LiteRT computes on the
        calling thread, so the CPU time is the kernel work minus the time other processes steal."""
        c0, t0 = time.thread_time(), time.perf_counter()
        self.interp.invoke()
        return (time.perf_counter() - t0) * 1e3, (time.thread_time() - c0) * 1e3


def evaluate(onnx_path: Path, convs: list[Conversion], warmup: int, runs: int, rounds: int) -> dict:
    """Op counts, accuracy vs onnxruntime, and interleaved latency of every converted model.

    ``rounds`` rounds of ``runs`` invokes per output, outputs interleaved invoke by invoke so machine
    noise hits them alike. Returns the per-round CPU-time ratio spread against onnx2tf (see Row.spread).
    """
    import onnxruntime as ort

    x = np.random.default_rng(0).random((1, 3, 224, 224), dtype=np.float32)  # zoo warm-up range
    (ref,) = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"]).run(None, {"input": x})
    runners = {}
    for c in convs:
        if c.error:
            continue
        try:
            c.ops, c.transposes = op_counts(c.path)
            r = Runner(c.path)
            r.set(x)
            r.invoke_ms()
            c.rel_err = float(np.abs(r.output().reshape(ref.shape) - ref).max() / np.ptp(ref))
            runners[c.tool] = r
        except Exception as exc:  # a broken output is a result to show, not a reason to stop
            c.error = f"LiteRT could not run the output: {str(exc).splitlines()[0][:140]}"
    if "onnx2tf" in runners:
        runners["control"] = Runner(runners["onnx2tf"].path)
        runners["control"].set(x)
    for _ in range(warmup):
        for r in runners.values():
            r.invoke_ms()
    times = {k: np.empty((rounds, runs, 2)) for k in runners}
    for k in range(rounds):
        for i in range(runs):
            for tool, r in runners.items():
                times[tool][k, i] = r.invoke_ms()
    for c in convs:
        if c.tool in times:
            c.latency_ms, c.cpu_ms = (float(v) for v in np.median(times[c.tool].reshape(-1, 2), axis=0))
    if "onnx2tf" not in times:
        return {}
    base = np.median(times["onnx2tf"][:, :, 1], axis=1)
    per_round = {t: np.median(v[:, :, 1], axis=1) / base for t, v in times.items() if t != "onnx2tf"}
    return {t: (float(np.median(r)), float(r.min()), float(r.max())) for t, r in per_round.items()}


def ratio(a, b):
    return None if a is None or b is None or not b else a / b


def fmt(v, spec=".3g"):
    return "-" if v is None else format(v, spec)


TOOLS = ("onnx2tf", "edgekit", "edgekit-nhwc", "onnx2tf-int8")
HEADERS = ["model", "tool", "wall s", "cpu s", "peak MB", "ops", "transposes", "p50 ms", "p50 cpu ms",
           "max err/range"]


def summary_rows(rows: list[Row]) -> tuple[list[list], list[str]]:
    """Table rows (a ratio row per edgekit variant) and footnotes with the full failure messages."""
    out, notes = [], []
    for row in rows:
        for tool in TOOLS:
            c = row.results.get(tool)
            if c is None:
                continue
            if c.error:
                notes.append(f"{row.model} / {tool}: {c.error}")
                out.append([row.model, tool, f"FAILED [{len(notes)}]"] + [""] * (len(HEADERS) - 3))
                continue
            out.append([row.model, tool + (f" ({c.note})" if c.note else ""), fmt(c.wall_s, ".1f"),
                        fmt(c.cpu_s, ".1f"), fmt(c.peak_mb, ".0f"), fmt(c.ops, "d"), fmt(c.transposes, "d"),
                        fmt(c.latency_ms, ".2f"), fmt(c.cpu_ms, ".2f"), fmt(c.rel_err, ".1e")])
        o = row.results.get("onnx2tf")
        for tool in ("edgekit", "edgekit-nhwc"):
            e = row.results.get(tool)
            if o and e and not o.error and not e.error:
                out.append([row.model, f"ratio {tool}/onnx2tf", fmt(ratio(e.wall_s, o.wall_s), ".3f"),
                            fmt(ratio(e.cpu_s, o.cpu_s), ".3f"), fmt(ratio(e.peak_mb, o.peak_mb), ".3f"),
                            fmt(ratio(e.ops, o.ops), ".2f"), "", fmt(ratio(e.latency_ms, o.latency_ms), ".3f"),
                            fmt(ratio(e.cpu_ms, o.cpu_ms), ".3f"), ""])
    return out, notes


# issue 4 targets for edgekit against onnx2tf: (label, edgekit field, limit on the ratio or value)
TARGETS = [("wall <= 0.1x", "wall_s", 0.1), ("peak RSS <= 0.25x", "peak_mb", 0.25), ("ops <= 1x", "ops", 1.0),
           ("latency <= 1.0x (cpu, median of round ratios)", "cpu_ms", 1.0), ("err <= 1e-4 range", "rel_err", None)]


def verdicts(rows: list[Row]) -> tuple[list[list], list[str]]:
    """Pass/fail of each issue-4 target per model and edgekit variant.

    Latency is judged on the median over rounds of the per-round CPU-time ratio. A ratio above 1.0 but
    no further from 1.0 than the control (onnx2tf's own file in a second interpreter) is reported as
    "noise": the method cannot tell it from equal.
    """
    out = []
    for row in rows:
        o = row.results.get("onnx2tf")
        for tool in ("edgekit", "edgekit-nhwc"):
            e = row.results.get(tool)
            if e is None or e.error:
                out.append([row.model, tool] + ["edgekit failed"] * len(TARGETS))
                continue
            cells = []
            for _, attr, limit in TARGETS:
                if limit is None:
                    v = e.rel_err
                    cells.append("-" if v is None else f"{'pass' if v <= 1e-4 else 'FAIL'} ({v:.1e})")
                    continue
                if attr == "cpu_ms" and tool in row.spread:
                    cells.append(_latency_verdict(row.spread[tool], row.spread.get("control")))
                    continue
                r = ratio(getattr(e, attr), getattr(o, attr)) if o and not o.error else None
                cells.append("no onnx2tf" if r is None else f"{'pass' if r <= limit else 'FAIL'} ({r:.3g})")
            out.append([row.model, tool, *cells])
    return out, ["model", "tool", *(t[0] for t in TARGETS)]


def _latency_verdict(spread: tuple[float, float, float], control) -> str:
    med, lo, hi = spread
    band = f"{med:.3f}, rounds {lo:.3f}-{hi:.3f}"
    if med <= 1.0:
        return f"pass ({band})"
    if control is not None and med - 1.0 <= abs(control[0] - 1.0):
        return f"noise ({band}; control {control[0]:.3f})"
    return f"FAIL ({band})"


def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor() or "unknown CPU")
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def versions(venv: Path) -> str:
    import ai_edge_litert

    parts = [f"ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')} (latency)"]
    exe = venv / "bin" / "python"
    if exe.exists():
        code = "import importlib.metadata as m; print(m.version('onnx2tf'), m.version('tensorflow'))"
        got = subprocess.run([str(exe), "-c", code], capture_output=True, text=True).stdout.split()
        if len(got) == 2:
            parts.insert(0, f"onnx2tf {got[0]} with TensorFlow {got[1]} in {venv}")
    return ", ".join(parts)


def write_markdown(path: Path, body: str) -> None:
    """Replace our section in ``path`` (or append it), leaving other sections untouched."""
    from edgekit._io import write_text

    text = path.read_text() if path.exists() else "# Benchmarks\n"
    start = text.find(SECTION + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        nxt = text.find("\n## ", start + len(SECTION))
        text = text[:start] + body + (text[nxt + 1:] if nxt >= 0 else "")
    write_text(path, text.rstrip("\n") + "\n")


def bench_model(name: str, args, cache: dict) -> Row:
    """Export zoo model ``name``, convert it with every tool, and evaluate the outputs side by side."""
    import edgekit.zoo as zoo

    arch, _, variant = name.partition(":")
    model = zoo.build(arch, input_size=224)
    if variant == "static":
        from edgekit.zoo._cnn import use_static_shapes

        use_static_shapes(model)
    name = name.replace(":", "_")
    onnx_path = zoo.export_onnx(model, args.work / f"{name}.onnx")
    row = Row(name, zoo.param_count(model))
    jobs = [("onnx2tf", False)] + ([("onnx2tf-int8", True)] if name == "mobilenet_v2" and not args.no_int8 else [])
    for tool, int8 in jobs:
        key, log = f"{name}/{tool}", args.work / f"{name}_onnx2tf{'_int8' if int8 else ''}.log"
        hit = cache.get(key, {}) if args.reuse_onnx2tf else {}
        if hit and (Path(hit["path"]).is_file() or hit["error"].startswith("onnx2tf failed")):
            row.results[tool] = Conversion(**{**hit, "note": "conversion reused"})
            if hit["error"] and log.exists():  # re-read: the message extraction may have improved
                row.results[tool].error = hit["error"].split(":", 1)[0] + ": " + last_error_line(log)
        else:
            row.results[tool] = run_onnx2tf(onnx_path, args.work, args.onnx2tf_venv, args.onnx2tf_out, int8)
            cache[key] = asdict(row.results[tool])
    row.results["edgekit"] = run_edgekit(onnx_path, args.work)
    row.results["edgekit-nhwc"] = run_edgekit(onnx_path, args.work, nhwc=True)
    row.spread = evaluate(onnx_path, list(row.results.values()), args.warmup, args.runs, args.rounds)
    return row


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated zoo names")
    ap.add_argument("--runs", type=int, default=20, help="timed LiteRT invocations per output and round")
    ap.add_argument("--rounds", type=int, default=15, help="rounds (a ratio against onnx2tf per round)")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_convert"))
    ap.add_argument("--onnx2tf-venv", type=Path, default=Path("/opt/onnx2tf-venv"))
    ap.add_argument("--onnx2tf-out", type=Path, default=Path("/tmp/onnx2tf_out"))
    ap.add_argument("--reuse-onnx2tf", action="store_true",
                    help="reuse onnx2tf outputs and conversion figures from a previous run (they are slow)")
    ap.add_argument("--no-int8", action="store_true", help="skip onnx2tf's full-integer MobileNetV2")
    ap.add_argument("--markdown", type=Path, help="write/update the section in this Markdown file")
    args = ap.parse_args(argv)

    from edgekit._io import write_text
    from edgekit.ui import progress, table

    args.work.mkdir(parents=True, exist_ok=True)
    np.save(args.work / CALIB_NAME, np.random.default_rng(0).random((20, 128, 128, 3), dtype=np.float32))
    cache_file = args.onnx2tf_out / "onnx2tf_results.json"
    cache = json.loads(cache_file.read_text()) if cache_file.exists() else {}  # merged, reused on request
    load, when = os.getloadavg()[0], dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows = [bench_model(name, args, cache) for name in progress(args.models.split(","), desc="models", unit="model")]
    args.onnx2tf_out.mkdir(parents=True, exist_ok=True)
    write_text(cache_file, json.dumps({k: {f: v for f, v in c.items() if f in ("tool", "path", "error", "wall_s",
                                                                            "cpu_s", "peak_mb")}
                                      for k, c in cache.items()}, indent=1))

    body, notes = summary_rows(rows)
    headers = HEADERS
    cmd = "python tools/bench_convert.py " + " ".join(argv if argv is not None else sys.argv[1:])
    info = [f"date: {when}", f"machine: {machine()} (1-min load average at start: {load:.1f})",
            f"command: {cmd}", f"tools: {versions(args.onnx2tf_venv)}",
            "params: " + ", ".join(f"{r.model} {r.params / 1e6:.2f}M" for r in rows)]
    print("\n".join(info))
    print(table(body, headers))
    print("\n".join(f"[{i}] {n}" for i, n in enumerate(notes, 1)))
    vrows, vheaders = verdicts(rows)
    print(table(vrows, vheaders, title="\nissue 4 targets (ratio edgekit/onnx2tf in brackets)"))
    if args.markdown:
        note = ("Zoo models (random weights, BatchNorm kept in the ONNX graph) exported at 1x3x224x224, opset 17. "
                "Each conversion runs in a fresh child process: wall and CPU (user+sys) seconds, peak MB = the "
                "child's max RSS. `edgekit` keeps the NCHW input (one TRANSPOSE at the input); `edgekit-nhwc` is "
                "`--input-layout nhwc`, the input layout onnx2tf's output has. Latency: LiteRT, 1 thread, "
                f"XNNPACK, {args.rounds} rounds of {args.runs} invokes after {args.warmup} warm-up, all outputs of a model "
                "interleaved in one process; `p50 cpu ms` is the calling thread's CPU time per invoke (1 thread "
                "computes on the caller), which other processes on this shared machine cannot inflate. Error: "
                "max |TFLite - onnxruntime| / output range on one uniform [0,1] input. onnx2tf-int8 is its "
                "`-oiqt` full-integer output (calibrated on a random stand-in for its sample file, so only its "
                "speed means something). `shufflenet_v2:static` is the same network exported with constant "
                "shapes (`edgekit.zoo._cnn.use_static_shapes`): onnx2tf fails on the torch-style export, whose "
                "channel split and shuffle go through Shape/Gather/Slice chains. The machine is shared by several "
                "jobs (see the load average), which stretches wall times of both tools alike; CPU times and the "
                "in-run ratios are the steadier figures.")
        md = "\n".join([SECTION, "", note, "", *(f"- {ln}" for ln in info), "", markdown_table(headers, body), "",
                        *(f"[{i}] {n}  " for i, n in enumerate(notes, 1)), "",
                        "Issue 4 targets (ratio edgekit/onnx2tf in brackets; latency judged on CPU time):", "",
                        markdown_table(vheaders, vrows), ""])
        write_markdown(args.markdown, md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
