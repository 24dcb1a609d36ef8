"""Token-level timing of a KV-cache LM: prefill, time to first token, decode per token, tokens/s.

    python -m edgekit.runtime.lm_bench MODEL [--threads N] [--prompt N] [--new N] [--runs N] [--warmup N]

prints one JSON object (the ``lm`` part of a profile record). ``edgekit profile`` runs it in a fresh
child process after the per-call measurement, so its peak RSS is this model's alone. Each run is a
greedy generation: a prefill of ``prompt`` random ids (seeded), then ``new - 1`` decode steps.

- ``prefill_ms``: the prefill call; ``ttft_ms``: prefill + choosing the first token (what a user waits);
- ``decode_ms``: every decode step of every timed run (per token);
- ``tokens_per_s``: 1000 / decode_ms at its p50 and at its p90 (the slow end);
- ``decode_cpu_ms``: the process's CPU time per decode step (all threads): on a shared machine it
  moves far less with other processes' load than the wall time does.
Imports numpy and the model's backend only, like ``edgekit.load``.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

MAX_TOKENS = 8192  # bound on --prompt/--new: far above any cache a device holds, small enough to fail fast
MAX_RUNS = 10000


def _stats(ms: list[float]) -> dict:
    a = np.asarray(ms, np.float64)
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {"mean": float(a.mean()), "std": float(a.std()), "min": float(a.min()), "p50": float(p50),
            "p90": float(p90), "p99": float(p99), "max": float(a.max())}


def measure_lm(path: str, threads: int | None = None, prompt: int | None = None, new: int | None = None,
               runs: int = 5, warmup: int = 1, seed: int = 0) -> dict:
    from ..errors import InputError
    from . import load
    from .device import _rss_mb
    from .generate import _check_int, pick, runner

    runs, warmup = _check_int(runs, "runs", 1, MAX_RUNS), _check_int(warmup, "warmup", 0, MAX_RUNS)
    model = load(path, threads=threads)
    run = runner(model)
    cap, longest = run.capacity or MAX_TOKENS, run.max_prompt or MAX_TOKENS
    prompt = _check_int(prompt if prompt is not None else min(32, longest, cap // 2), "prompt", 1, min(longest, cap))
    new = _check_int(new if new is not None else min(32, cap - prompt), "new", 1, MAX_TOKENS)
    if prompt + new > cap:
        raise InputError(f"a {prompt}-token prompt plus {new} new tokens needs {prompt + new} positions",
                         f"the cache holds {cap}", f"ask for at most {cap - prompt} new tokens")
    vocab = getattr(getattr(run, "lay", None), "vocab", None) or 2
    ids = np.random.default_rng(seed).integers(min(2, vocab - 1), vocab, prompt).astype(np.int64)
    prefill, ttft, decode, decode_cpu = [], [], [], []
    for r in range(warmup + runs):
        t0 = time.perf_counter_ns()
        logits = run.prefill(ids)
        t1 = time.perf_counter_ns()
        tok = pick(logits, 0.0, None, None)
        t2 = time.perf_counter_ns()
        steps, cpu = [], []
        for i in range(new - 1):
            s, c = time.perf_counter_ns(), time.process_time_ns()
            tok = pick(run.decode(tok, prompt + i), 0.0, None, None)
            steps.append((time.perf_counter_ns() - s) / 1e6)
            cpu.append((time.process_time_ns() - c) / 1e6)
        if r >= warmup:
            prefill.append((t1 - t0) / 1e6)
            ttft.append((t2 - t0) / 1e6)
            decode += steps
            decode_cpu += cpu
    _, peak = _rss_mb()
    out = {"prompt_tokens": prompt, "new_tokens": new, "runs": runs, "cache": type(run).__name__,
           "prefill_ms": _stats(prefill), "ttft_ms": _stats(ttft), "peak_rss_mb": peak}
    if decode:
        d = _stats(decode)
        out.update(decode_ms=d, tokens_per_s_p50=1000.0 / d["p50"], tokens_per_s_p90=1000.0 / d["p90"],
                   decode_cpu_ms=_stats(decode_cpu))
    return out


def main(argv=None) -> int:
    import argparse

    ap = argparse.ArgumentParser(description="token-level timing of a KV-cache LM")
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--prompt", type=int, default=None)
    ap.add_argument("--new", type=int, default=None)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        record = measure_lm(args.model, args.threads, args.prompt, args.new, args.runs, args.warmup, args.seed)
    except Exception as exc:  # reported as data, as device.py does; the host raises it as an EdgekitError
        from .device import report_error

        return report_error(exc)
    print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
