#!/usr/bin/env python3
"""Transformer exports through `edgekit convert`: converted, error, op/TRANSPOSE counts, LiteRT latency.

    flock /tmp/ek-cpu.lock .venv/bin/python tools/bench_transformers.py [--work DIR] [--rounds 7] [--runs 10]
        [--only NAME,...] [--write-docs]

Every model of ``tools/transformer_exports.py`` (tiny random-weight HF exports: BERT, DistilBERT, MiniLM,
ViT, DeiT, MobileViT, Swin, GPT-2, Llama, Qwen2; decoders also as one KV-cache decode step) is
exported with both torch exporters (TorchScript, dynamo), converted in this process, and run on the
same inputs in onnxruntime and LiteRT (XNNPACK). Text inputs carry an attention mask whose last 3
positions are 0 (exercises the masking path). ``*-dynseq`` exports have a dynamic sequence axis and
are converted with ``shapes={"input_ids": (1, SEQ), "attention_mask": (1, SEQ)}`` (``--shape``).

Error: max over outputs of max |tflite - onnxruntime| / range of the onnxruntime output (the issue's
goal: <= 1e-4). Latency: 1 thread each, medians of per-call thread CPU time over interleaved rounds
(LiteRT and onnxruntime alternate, so load drift hits both alike); ratio = LiteRT / onnxruntime.
Conversion CPU: process CPU seconds of ``edgekit.convert`` (imports excluded).
"""
from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import transformer_exports as tx  # noqa: E402

SECTION = "## Transformer exports through the converter"


def feeds_for(path, seed=0) -> dict:
    import onnx
    from onnx import helper

    model = onnx.load(str(path), load_external_data=False)
    rng = np.random.default_rng(seed)
    feeds = {}
    for vi in model.graph.input:
        shape = [d.dim_value or tx.SEQ for d in vi.type.tensor_type.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(vi.type.tensor_type.elem_type)
        if vi.name == "attention_mask":
            feeds[vi.name] = np.ones(shape, dtype)
            if shape[-1] > 4 and "past_k_0" not in [i.name for i in model.graph.input]:
                feeds[vi.name][..., -3:] = 0
        elif dtype.kind == "f":
            feeds[vi.name] = rng.standard_normal(shape).astype(dtype)
        else:
            feeds[vi.name] = rng.integers(0, 100, shape).astype(dtype)
    return feeds


def _ort(path):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _litert(path):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_path=str(path), num_threads=1)
    return interp.get_signature_runner("serving_default")


def measure(spec, exporter, work: Path, rounds: int, runs: int) -> dict:
    import edgekit
    from edgekit.errors import EdgekitError

    row = {"model": spec.name, "exporter": exporter}
    try:
        src = tx.export(spec, exporter, work)
    except Exception as exc:  # an exporter failure is a finding, not a crash of the benchmark
        row["status"] = f"export failed: {type(exc).__name__}"
        return row
    out = src.with_suffix(".tflite")
    shapes = {"input_ids": (1, tx.SEQ), "attention_mask": (1, tx.SEQ)} if spec.dynamic else None
    t0 = time.process_time()
    try:
        result = edgekit.convert(src, out, shapes=shapes)
    except EdgekitError as exc:
        row["status"] = "refused: " + str(exc)[:120]
        return row
    row["convert_cpu_s"] = time.process_time() - t0
    row["ops"] = sum(result.ops.values())
    row["transposes"] = result.ops.get("TRANSPOSE", 0)
    feeds = feeds_for(src)
    sess, runner = _ort(src), _litert(out)
    want = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    got = runner(**feeds)
    row["error"] = max(float(np.max(np.abs(got[k] - v))) / max(float(np.ptp(v)), 1e-12) for k, v in want.items())
    row["status"] = "converted" if row["error"] <= 1e-4 else "MISMATCH"
    lt, ot = [], []
    for _ in range(rounds):
        for fn, acc in ((lambda: runner(**feeds), lt), (lambda: sess.run(None, feeds), ot)):
            fn()  # warm
            for _ in range(runs):
                c0 = time.thread_time()
                fn()
                acc.append(time.thread_time() - c0)
    row["litert_ms"], row["ort_ms"] = 1e3 * statistics.median(lt), 1e3 * statistics.median(ot)
    return row


def render(rows, args, started) -> str:
    from bench_quantize import cpu_info, md_table

    head = ["model", "exporter", "status", "max error / range", "ops", "TRANSPOSE", "convert CPU s",
            "LiteRT CPU ms", "onnxruntime CPU ms", "LiteRT / ort"]
    body = []
    for r in rows:
        ok = "error" in r
        body.append([r["model"], r["exporter"], r["status"], f"{r['error']:.1e}" if ok else "",
                     r.get("ops", ""), r.get("transposes", ""),
                     f"{r['convert_cpu_s']:.2f}" if ok else "", f"{r['litert_ms']:.3f}" if ok else "",
                     f"{r['ort_ms']:.3f}" if ok else "", f"{r['litert_ms'] / r['ort_ms']:.2f}" if ok else ""])
    converted = sum(r["status"] == "converted" for r in rows)
    load = os.getloadavg()
    return "\n".join([
        f"{started:%Y-%m-%d %H:%M} UTC, {cpu_info()}, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} "
        f"(shared 2-core machine: latency medians of {args.rounds} interleaved rounds x {args.runs} runs, thread CPU "
        "time, 1 thread each).",
        "",
        f"`{' '.join(['python', 'tools/bench_transformers.py'] + sys.argv[1:])}` — "
        f"{converted} of {len(rows)} exports converted within 1e-4 of the output range. Tiny random-weight configs "
        f"(tools/transformer_exports.py; sequence {tx.SEQ}, KV cache of {tx.PAST} past tokens + 1 new token; "
        "decoders 4 layers, Llama/Qwen2 with 4 query and 2 KV heads). onnx2tf was not run in this table.",
        "",
        md_table(head, body),
    ])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=None, help="directory for the exports (default: a temp dir)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--only", default="", help="comma-separated spec names")
    ap.add_argument("--write-docs", action="store_true", help=f"replace '{SECTION}' in docs/benchmarks.md")
    args = ap.parse_args()
    started = datetime.datetime.now(datetime.timezone.utc)
    work = Path(args.work or tempfile.mkdtemp(prefix="ek-tx-"))
    work.mkdir(parents=True, exist_ok=True)
    only = set(filter(None, args.only.split(",")))
    rows = []
    for spec in tx.SPECS:
        if only and spec.name not in only:
            continue
        if spec.family == "swin-timm":
            try:
                import timm  # noqa: F401
            except ImportError:
                continue
        for exporter in ("torchscript",) if spec.dynamic else ("torchscript", "dynamo"):
            row = measure(spec, exporter, work, args.rounds, args.runs)
            print(row, flush=True)
            rows.append(row)
    text = render(rows, args, started)
    print(text)
    if args.write_docs:
        from bench_quantize import write_docs

        write_docs(text, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
