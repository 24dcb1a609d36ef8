"""LM figures for a profile record: prefill, time to first token, decode per token, tokens/s.

After the per-call measurement, a KV-cache LM (static or dynamic cache ONNX, or a TFLite file with
prefill/decode signatures) is timed token by token by ``edgekit/runtime/lm_bench.py`` in a fresh child
process on this host. A remote device gets a warning instead: its runner (device.py) times calls only.
"""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

from ..errors import EdgekitWarning
from .runner import parse_runner_output

LM_RUNS = 10  # generations timed at most: each is prompt + new tokens, so 100 (the call default) is too many


def is_lm_file(path: Path) -> bool:
    """Whether ``path`` holds a KV-cache LM edgekit can drive token by token (cheap: names only)."""
    if path.suffix.lower() == ".onnx":
        import onnx

        graph = onnx.load(str(path), load_external_data=False).graph
        names = {i.name for i in graph.input}
        return "input_ids" in names and any(n.startswith("past_key_values.") for n in names)
    from ..runtime.device import import_tflite

    try:
        sigs = import_tflite()[2](model_path=str(path)).get_signature_list()
    except (ValueError, RuntimeError):
        return False
    return {"prefill", "decode"} <= set(sigs)


def add_lm_figures(raw: dict, transport, path: Path, proto, threads: int, prompt: int | None = None,
                   new: int | None = None) -> None:
    if not is_lm_file(path):
        return
    if transport.remote:
        warnings.warn(f"{path.name} is a KV-cache LM: token-level figures (prefill, decode, tokens/s) are measured "
                      "on this host only; the device record has per-call latency", EdgekitWarning)
        return
    runs, warmup = max(1, min(proto.runs, LM_RUNS)), min(proto.warmup, 1)
    cmd = [sys.executable, "-m", "edgekit.runtime.lm_bench", str(path), "--threads", str(threads),
           "--runs", str(runs), "--warmup", str(warmup), "--seed", str(proto.seed)]
    cmd += (["--prompt", str(prompt)] if prompt else []) + (["--new", str(new)] if new else [])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(Path(__file__).resolve().parents[2]))
    raw["lm"] = parse_runner_output(proc.stdout, proc.stderr, proc.returncode, where="host (lm_bench)")


LM_HEADERS = ["model", "prompt", "new", "prefill ms p50", "TTFT ms p50", "TTFT ms p90", "decode ms p50",
              "decode ms p90", "tok/s p50", "tok/s p90", "peak MB"]


def lm_row(r) -> list:
    lm = r.lm
    d = lm.decode_ms
    return [r.name, lm.prompt_tokens, lm.new_tokens, lm.prefill_ms.p50, lm.ttft_ms.p50, lm.ttft_ms.p90,
            d.p50 if d else None, d.p90 if d else None, lm.tokens_per_s_p50, lm.tokens_per_s_p90, lm.peak_rss_mb]


