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
Prints a Markdown section; --write-docs replaces "## Quantization schemes" in docs/benchmarks.md.
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=None)
    ap.add_argument("--calib", type=int, default=64, help="calibration images for MobileNetV2")
    ap.add_argument("--eval", type=int, default=32, help="test images the SQNR is measured on")
    ap.add_argument("--tokens", type=int, default=64, help="token sequences for the transformer figures")
    ap.add_argument("--write-docs", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    work = args.work or Path(tempfile.mkdtemp(prefix="ek-schemes-"))
    work.mkdir(parents=True, exist_ok=True)
    start, load0 = datetime.datetime.now(datetime.timezone.utc), _load()
    mn = mobilenet(work, args)
    tt, info = transformer(work, args)
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
    ])
    print(text)
    if args.write_docs:
        write_docs(text, "## Quantization schemes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
