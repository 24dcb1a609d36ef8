"""Peak memory of static w8a8 calibration on text: a 12-layer, 768-wide encoder, 512 sequences of 128 tokens.

    python tools/bench_text_calib.py [--samples 512] [--seq 128] [--layers 12] [--work DIR] [--no-docs]

The encoder is the zoo's DistilBERT-like ``tiny-transformer`` grown to BERT-base's depth and width
(12 layers, hidden 768, 12 heads, FFN 3072; vocabulary 1000, so ~86 M parameters); its weights are
random (memory does not depend on them). The calibration set is ``--samples`` lines of edgekit's
generated corpus (edgekit.data.corpus) tokenized by a BPE tokenizer trained on it and padded to
``--seq`` tokens, read through ``edgekit.data.text.text_source``. Two child processes, each measured
by its own peak RSS (VmHWM): onnxruntime loading the float model and running one sample (the floor),
and ``edgekit.quantize(..., scheme="w8a8")`` calibrating on every sample. The target is <= 3 GB
(onnxruntime issue #10503 reports hundreds of GB for BERT when every activation is kept).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

CHILD = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
mode, model, data, out = sys.argv[1:5]
t0 = time.time()
if mode == "float":
    import numpy as np, onnxruntime as ort
    s = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    i = s.get_inputs()[0]
    s.run(None, {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.int64)})
else:
    import edgekit
    from edgekit.data.text import text_source
    r = edgekit.quantize(model, out, calib=text_source(data, model), scheme="w8a8")
fields = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
print(json.dumps({"peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024, "seconds": time.time() - t0}))
"""


def build(work: Path, layers: int, seq: int, samples: int) -> tuple[Path, Path]:
    import torch

    from edgekit.data.corpus import generate
    from edgekit.data.text import TOKENIZER_KEY, train_tokenizer
    from edgekit.zoo import _transformer, build as zoo_build, export_onnx

    model_path, data = work / f"encoder-{layers}x768.onnx", work / "calib.txt"
    lines = generate(samples, seed=7)
    data.write_text("\n".join(lines) + "\n")
    if model_path.exists():
        return model_path, data
    torch.set_num_threads(1)
    tok = train_tokenizer(generate(2000, 0), 1000)
    _transformer.LAYERS, _transformer.HEADS = layers, 12  # BERT-base's depth and heads (module constants)
    enc = zoo_build("tiny-transformer", num_classes=2, input_size=seq, width=12.0, seed=0)  # 64 * 12 = 768 wide
    export_onnx(enc, model_path, input_name="input_ids", metadata={TOKENIZER_KEY: tok.to_str()})
    return model_path, data


def child(mode: str, model: Path, data: Path, out: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, mode, str(model), str(data), str(out)], capture_output=True,
                          text=True, cwd=str(ROOT))
    line = next((l for l in reversed(proc.stdout.splitlines()) if l.startswith("{")), None)
    if line is None:
        raise RuntimeError(f"{mode} child failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(line)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=512)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--no-docs", action="store_true")
    args = ap.parse_args(argv)
    from bench_quantize import cpu_info, md_table, write_docs

    work = args.work or Path(tempfile.mkdtemp(prefix="bench_text_calib_"))
    work.mkdir(parents=True, exist_ok=True)
    start, load = time.time(), os.getloadavg()[0]
    model, data = build(work, args.layers, args.seq, args.samples)
    floor = child("float", model, data, work / "unused.onnx")
    quant = child("quant", model, data, work / "encoder-w8a8.onnx")
    rows = [["onnxruntime: load + 1 float run", f"{floor['peak_rss_mb']:.0f}", f"{floor['seconds']:.0f}"],
            [f"edgekit.quantize w8a8, {args.samples} x {args.seq} tokens", f"{quant['peak_rss_mb']:.0f}",
             f"{quant['seconds']:.0f}"]]
    text = "\n".join([
        f"`python tools/bench_text_calib.py --samples {args.samples} --seq {args.seq} --layers {args.layers}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(start))}, {cpu_info()}, {os.cpu_count()} cores, load "
        f"average {load:.1f} (shared machine), Python {platform.python_version()}.", "",
        f"Encoder: tiny-transformer at {args.layers} layers, 768 wide, 12 heads, FFN 3072, vocabulary 1000 "
        f"({model.stat().st_size / 1e6:.0f} MB float ONNX). Calibration: {args.samples} generated lines as .txt, "
        f"tokenized and padded to {args.seq} tokens (text_source, tokenizer stored in the model). Peak RSS "
        "(VmHWM) of each child process; the target is <= 3000 MB.", "",
        md_table(["process", "peak RSS MB", "seconds"], rows), "",
        f"Calibration peak / float floor: {quant['peak_rss_mb'] / floor['peak_rss_mb']:.2f}x; "
        f"quantized file {(work / 'encoder-w8a8.onnx').stat().st_size / 1e6:.0f} MB."])
    print(text)
    if not args.no_docs:
        write_docs(text, "## Text calibration memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
