"""Decode speed, perplexity, size and memory of the shipped LM (models/tiny-lm.onnx) per format and scheme.

    python tools/bench_lm.py [--rounds 3] [--runs 3] [--new 64] [--prompt 32] [--work DIR] [--no-docs]

Files: the float ONNX (static cache), its TFLite conversion (prefill + decode signatures,
edgekit.convert.signatures.convert_lm), and the schemes ``w8-dynamic`` and ``w4`` of each (ONNX:
edgekit.quantize, i.e. onnxruntime's dynamic quantizer and MatMulNBits; TFLite: convert_lm(scheme=),
i.e. ai-edge-quantizer's dynamic_wi8_afp32 and blockwise int4 recipes). A file that cannot be made is
listed with the reason, never invented. Each file x threads (1, 2) is timed by edgekit/runtime/lm_bench.py in a fresh process,
interleaved over ``--rounds`` rounds so the shared machine's load falls on every file alike; the table
gives medians over rounds of the per-token decode p50, tokens/s, and the ratio to float in the same
format and threads. Perplexity: the held-out corpus models/tiny-lm-heldout.txt (context 128, stride 64).
Results go to docs/benchmarks.md, section "## Language model".
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

MODEL = ROOT / "models" / "tiny-lm.onnx"
HELDOUT = ROOT / "models" / "tiny-lm-heldout.txt"
SCHEMES = ("w8-dynamic", "w4")


def quantize(src: Path, out: Path, scheme: str, prefill: int) -> str | None:
    """``out`` quantized with ``scheme``: ONNX through edgekit.quantize, the two-signature TFLite file through
    convert_lm(scheme=...) (edgekit's ai-edge-quantizer backend). The reason when it cannot be made."""
    import edgekit
    from edgekit.convert.signatures import convert_lm

    try:
        if out.suffix == ".onnx":
            edgekit.quantize(src, output=out, scheme=scheme)
        else:
            convert_lm(src, out, prefill=prefill, scheme=scheme)
        return None
    except edgekit.EdgekitError as exc:
        return exc.line()


def make_files(work: Path, prefill: int) -> tuple[dict, dict]:
    from edgekit.convert.signatures import convert_lm

    files, missing = {("onnx", "float"): MODEL}, {}
    tfl = work / "tiny-lm.tflite"
    if not tfl.exists():
        convert_lm(MODEL, tfl, prefill=prefill)
    files[("tflite", "float")] = tfl
    for scheme in SCHEMES:
        for fmt in ("onnx", "tflite"):
            out = work / f"tiny-lm-{scheme}.{fmt}"
            why = None if out.exists() else quantize(MODEL, out, scheme, prefill)
            if why is None and out.exists():
                files[(fmt, scheme)] = out
            else:
                missing[(fmt, scheme)] = why or "not written"
    return files, missing


def bench(path: Path, threads: int, prompt: int, new: int, runs: int) -> dict:
    cmd = [sys.executable, "-m", "edgekit.runtime.lm_bench", str(path), "--threads", str(threads), "--prompt",
           str(prompt), "--new", str(new), "--runs", str(runs), "--warmup", "1"]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=str(ROOT))
    data = json.loads(out.stdout.strip().splitlines()[-1])
    if "error" in data:
        raise RuntimeError(f"{path.name}: {data['error']}")
    return data


def main(argv=None) -> int:  # noqa: C901 - a linear script
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3, help="generations per file per round")
    ap.add_argument("--prompt", type=int, default=32)
    ap.add_argument("--new", type=int, default=64)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    from bench_quantize import cpu_info, md_table, write_docs
    from edgekit.evaluate import perplexity

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_lm_"))
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    files, missing = make_files(work, prefill=128)  # prefill = the whole cache: perplexity windows of 128
    start = time.time()
    results: dict = {}
    for r in range(args.rounds):
        for (fmt, scheme), path in files.items():
            for threads in (1, 2):
                rec = bench(path, threads, args.prompt, args.new, args.runs)
                results.setdefault((fmt, scheme, threads), []).append(rec)
        print(f"round {r + 1}/{args.rounds} done", flush=True)
    ppl = {key: perplexity(path, HELDOUT, context=128, stride=64)[0] for key, path in files.items()}
    rows = []
    for (fmt, scheme, threads), recs in sorted(results.items()):
        dec = statistics.median(x["decode_ms"]["p50"] for x in recs)
        cpu = statistics.median(x["decode_cpu_ms"]["p50"] for x in recs)
        cpu_base = statistics.median(x["decode_cpu_ms"]["p50"] for x in results[(fmt, "float", threads)])
        base = statistics.median(x["decode_ms"]["p50"] for x in results[(fmt, "float", threads)])
        pre = statistics.median(x["prefill_ms"]["p50"] for x in recs)
        rss = statistics.median(x["peak_rss_mb"] for x in recs)
        p = ppl[(fmt, scheme)]
        size = files[(fmt, scheme)].stat().st_size / 1e6
        rows.append([fmt, scheme, threads, f"{dec:.2f}", f"{1000 / dec:.0f}", f"{base / dec:.2f}x",
                     f"{cpu:.2f}", f"{cpu_base / cpu:.2f}x",
                     f"{pre:.1f}", f"{p.perplexity:.4f}", f"{size:.2f}", f"{rss:.0f}"])
    headers = ["format", "scheme", "threads", "decode ms/token p50", "tokens/s", "speed vs float",
               "CPU ms/token p50", "CPU vs float",
               f"prefill ms ({args.prompt} tok)", "perplexity", "file MB", "peak RSS MB"]
    text = [f"`python tools/bench_lm.py --rounds {args.rounds} --runs {args.runs} --prompt {args.prompt} "
            f"--new {args.new}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(start))}, "
            f"{cpu_info()}, {os.cpu_count()} cores, load average {load_before[0]:.1f} before / "
            f"{os.getloadavg()[0]:.1f} after (shared machine), Python {platform.python_version()}.",
            "",
            f"models/tiny-lm.onnx (4 layers, 256 wide, static KV cache of 128 slots). Each row: median over "
            f"{args.rounds} interleaved rounds of the p50 decode step of {args.runs} greedy generations "
            f"({args.prompt}-token prompt, {args.new} new tokens), each file in a fresh process "
            "(edgekit/runtime/lm_bench.py); tokens/s = 1000 / that. Speed vs float: same format, same threads. "
            "CPU ms/token: the process's CPU time per decode step (all its threads), far less sensitive to the "
            "other processes on this shared machine than wall time; with 2 threads it includes spinning workers. "
            "Perplexity per token on models/tiny-lm-heldout.txt (context 128, stride 64, "
            f"{next(iter(ppl.values())).tokens} tokens). Peak RSS: the lm_bench process (numpy + runtime + model).",
            "",
            md_table(headers, rows)]
    if missing:
        text += ["", "Not measured (no such file could be made):", ""]
        text += [f"- {fmt} {scheme}: {why}" for (fmt, scheme), why in sorted(missing.items())]
    out = "\n".join(text)
    print(out)
    if not args.no_docs:
        write_docs(out, "## Language model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
