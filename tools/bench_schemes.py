#!/usr/bin/env python3
"""Quantization schemes side by side, ONNX and TFLite (issue 12): output error and file size.

    python tools/bench_schemes.py [--work DIR] [--calib 64] [--eval 32] [--write-docs]

1. MobileNetV2 (edgekit.zoo, 224x224, 1000 classes, BatchNorm folded) with the project's calibration
   data (edgekit.demo.shapes, default config, as tools/bench_quantize.py makes it; images resized to
   224 by the model's default preprocessing): w8a8 and w8a16 in both formats, calibrated on ``--calib``
   val images, compared with the float ONNX model on ``--eval`` test images (SQNR of the logits in dB,
   top-1 agreement).
2. The zoo's tiny-transformer (2-layer encoder, vocab 1000, 32 tokens): w4 (int4 blockwise, block 32) in
   both formats: file size against the float ONNX file (target <= 0.35x), top-1 agreement and SQNR
   against float on random token ids (the model is untrained: agreement says how often the int4
   weights flip the float model's choice), and that each file runs: ONNX in onnxruntime with
   MatMulNBits, TFLite in LiteRT.
3. The zoo's decoder-only LM (models/tiny-lm.onnx: 4 layers, 256 wide, static KV cache): w4 as ONNX
   (edgekit.quantize) and as a prefill/decode TFLite (edgekit.convert.signatures.convert_lm, the same
   core): size against the float file of the same format, next-token top-1 agreement and SQNR of the
   prefill logits against float ONNX on ``--lm-windows`` windows of 64 held-out tokens, and perplexity
   on the first ``--lm-tokens`` held-out tokens (edgekit.evaluate.perplexity).
Prints a Markdown section; --write-docs replaces "## Quantization schemes" in docs/benchmarks.md
(``--only lm`` prints the LM part alone).
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from bench_quantize import build_mobilenet, cpu_info, md_table, write_docs  # noqa: E402


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def mobilenet(work: Path, args) -> list:
    import edgekit
    from edgekit.demo.shapes import ShapesConfig, generate

    src = build_mobilenet(work)
    root = generate(work / "shapes", ShapesConfig())
    rows = []
    for fmt in ("onnx", "tflite"):
        for scheme in ("w8a8", "w8a16"):
            t0 = time.perf_counter()
            r = edgekit.quantize(src, work / f"mnv2_{scheme}.{fmt}", root / "val", scheme=scheme, target="x86_64",
                                 calib_size=args.calib)
            secs = time.perf_counter() - t0
            e = edgekit.evaluate([r.output], root / "test", reference=src, limit=args.eval)[0]
            rows.append([fmt, scheme, r.scheme.activations.value, round(r.size / 1e6, 2), round(e.sqnr_db, 2),
                         round(e.agreement, 1), e.samples, round(secs, 1)])
    return rows


def transformer(work: Path, args) -> tuple[list, dict]:
    import edgekit
    from edgekit import zoo

    src = work / "tiny_transformer.onnx"
    if not src.exists():
        zoo.export_onnx(zoo.build("tiny-transformer", num_classes=2), src)
    ids = np.random.default_rng(0).integers(0, 1000, (args.tokens, 32)).astype(np.int64)
    np.save(work / "ids.npy", ids)
    float_tfl = edgekit.convert(src, work / "tt_float.tflite")
    rows, info = [], {"float_onnx": src.stat().st_size, "float_tflite": float_tfl.size, "samples": len(ids)}
    for fmt in ("onnx", "tflite"):
        r = edgekit.quantize(src, work / f"tt_w4.{fmt}", scheme="w4")
        e = edgekit.evaluate([r.output], work / "ids.npy", reference=src)[0]
        m = edgekit.load(r.output)  # runs: onnxruntime (MatMulNBits) / LiteRT
        m.run({m.inputs[0].name: ids[:1]})
        key = "MatMulNBits" if fmt == "onnx" else "FULLY_CONNECTED"
        rows.append([fmt, "w4", r.size, round(r.size / src.stat().st_size, 3), round(e.agreement, 1),
                     round(e.sqnr_db, 2), f"{key} x{r.ops.get(key, 0)}, "
                     + ("GatherBlockQuantized" if fmt == "onnx" else "EMBEDDING_LOOKUP") + " x"
                     + str(r.ops.get("GatherBlockQuantized" if fmt == "onnx" else "EMBEDDING_LOOKUP", 0))])
    return rows, info


def _prefill_logits(path: Path, ids: np.ndarray) -> np.ndarray:
    """Logits of one 64-token window from an empty cache: ONNX through onnxruntime, TFLite through its
    prefill signature in LiteRT."""
    if path.suffix == ".onnx":
        import onnxruntime as ort

        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        feeds = {i.name: np.zeros([d if isinstance(d, int) else 1 for d in i.shape], np.float32)
                 for i in sess.get_inputs() if i.name.startswith("past_key_values.")}
        feeds.update(input_ids=ids[None], cache_position=np.arange(len(ids), dtype=np.int64))
        return sess.run(["logits"], feeds)[0][0]
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(path)).get_signature_runner("prefill")
    feeds = {k: np.zeros(v["shape"], v["dtype"]) for k, v in runner.get_input_details().items()}
    feeds.update(input_ids=ids[None].astype(feeds["input_ids"].dtype),
                 cache_position=np.arange(len(ids)).astype(feeds["cache_position"].dtype))
    return runner(**feeds)["logits"][0]


def lm(work: Path, args) -> list:
    import edgekit
    from edgekit.convert.signatures import convert_lm
    from edgekit.data.text import resolve_tokenizer
    from edgekit.evaluate import perplexity

    src, text = ROOT / "models" / "tiny-lm.onnx", ROOT / "models" / "tiny-lm-heldout.txt"
    files = {("onnx", "float"): src, ("onnx", "w4"): edgekit.quantize(src, work / "lm_w4.onnx", scheme="w4").output,
             ("tflite", "float"): convert_lm(src, work / "lm_float.tflite", prefill=64).output,
             ("tflite", "w4"): convert_lm(src, work / "lm_w4.tflite", prefill=64, scheme="w4").output}
    tok = resolve_tokenizer(None, src)
    ids = np.asarray(tok.encode(text.read_text()).ids, np.int64)
    windows = [ids[i * 64:(i + 1) * 64] for i in range(args.lm_windows)]
    ref = [_prefill_logits(src, w) for w in windows]
    ppl = {r.model: r.perplexity for r in perplexity(list(files.values()), text, limit=args.lm_tokens)}
    rows = []
    for (fmt, scheme), path in files.items():
        got = [_prefill_logits(Path(path), w) for w in windows]
        sig = sum(float(np.sum(r.astype(np.float64) ** 2)) for r in ref)
        err = sum(float(np.sum((r.astype(np.float64) - g) ** 2)) for r, g in zip(ref, got))
        agree = np.mean([np.mean(r.argmax(-1) == g.argmax(-1)) for r, g in zip(ref, got)]) * 100
        size = Path(path).stat().st_size
        rows.append([fmt, scheme, size, round(size / Path(files[(fmt, "float")]).stat().st_size, 3),
                     round(agree, 1), "exact" if err == 0 else round(10 * np.log10(sig / err), 2),
                     round(ppl[str(path)], 4)])
    return rows


def _lm_text(rows, args) -> str:
    return "\n".join([
        f"tiny-lm (models/tiny-lm.onnx: decoder-only, 4 layers, 256 wide, vocab 512, trained on the shipped "
        f"corpus) w4 (int4 blockwise 32); top-1 agreement and SQNR of the next-token logits against float ONNX "
        f"over {args.lm_windows} prefill windows of 64 held-out tokens; perplexity on the first "
        f"{args.lm_tokens} held-out tokens (context 128, stride 64):", "",
        md_table(["format", "scheme", "bytes", "size vs float (same format)", "top-1 agreement %", "SQNR dB",
                  "perplexity"], rows)])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--calib", type=int, default=64, help="calibration images for MobileNetV2")
    ap.add_argument("--eval", type=int, default=32, help="test images the SQNR is measured on")
    ap.add_argument("--tokens", type=int, default=64, help="token sequences for the transformer figures")
    ap.add_argument("--lm-windows", type=int, default=8, help="64-token windows for the LM's agreement/SQNR")
    ap.add_argument("--lm-tokens", type=int, default=1024, help="held-out tokens for the LM's perplexity")
    ap.add_argument("--only", choices=["lm"], default=None, help="print only the LM part")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    work = args.work or Path(tempfile.mkdtemp(prefix="ek-schemes-"))
    work.mkdir(parents=True, exist_ok=True)
    start, load0 = datetime.datetime.now(datetime.timezone.utc), _load()
    if args.only == "lm":
        rows = lm(work, args)
        print(f"- date: {start:%Y-%m-%d %H:%M} UTC; load start {load0}, end {_load()}\n")
        print(_lm_text(rows, args))
        return 0
    mn = mobilenet(work, args)
    tt, info = transformer(work, args)
    lm_rows = lm(work, args)
    import onnxruntime

    import ai_edge_quantizer  # noqa: F401
    from importlib.metadata import version

    text = "\n".join([
        f"- date: {start:%Y-%m-%d %H:%M} UTC",
        f"- machine: {cpu_info()}; {os.cpu_count()} cores shared with other jobs; onnxruntime "
        f"{onnxruntime.__version__}, ai-edge-quantizer {version('ai-edge-quantizer')}, "
        f"ai-edge-litert {version('ai-edge-litert')}",
        f"- command: `python tools/bench_schemes.py --calib {args.calib} --eval {args.eval} --tokens {args.tokens}"
        f"{' --write-docs' if args.write_docs else ''}`",
        f"- load (1/5/15 min): start {load0}, end {_load()}",
        "",
        f"MobileNetV2 224x224 (edgekit.zoo, 1000 classes, untrained weights, BatchNorm folded); calibration: "
        f"{args.calib} images of edgekit.demo.shapes val (default config), error against the float ONNX model "
        f"on {args.eval} test images; target x86_64 (ONNX int8 activations are uint8 there):",
        "",
        md_table(["format", "scheme", "activations", "file MB", "SQNR dB", "top-1 agreement %", "samples",
                  "quantize s"], mn),
        "",
        "w8a16 against w8a8, same data: " + ", ".join(
            f"{fmt} {b[4] - a[4]:+.2f} dB" for fmt in ("onnx", "tflite")
            for a, b in [[r for r in mn if r[0] == fmt]]) + ".",
        "",
        f"tiny-transformer (edgekit.zoo, 2 layers, dim 64, vocab 1000, 32 tokens, untrained) w4 = int4 weights, "
        f"blockwise 32, symmetric; float ONNX {info['float_onnx']} bytes, float TFLite {info['float_tflite']} "
        f"bytes; agreement and SQNR of the logits against float ONNX on {info['samples']} random id sequences:",
        "",
        md_table(["format", "scheme", "bytes", "size vs float ONNX", "top-1 agreement %", "SQNR dB", "int4 ops"], tt),
        "",
        _lm_text(lm_rows, args),
    ])
    print(text)
    if args.write_docs:
        write_docs(text, "## Quantization schemes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
