#!/usr/bin/env python3
"""Calibration cost across architectures: edgekit's MinMax calibration vs the float model, same samples.

    flock /tmp/ek-cpu.lock /opt/ekvenv/bin/python tools/bench_calibration.py [--work DIR] [--samples 64]
        [--rounds 5] [--models mobilenet_v2,resnet18,shufflenet_v2,efficientnet_b0] [--histogram] [--write-docs]

Each model is an edgekit.zoo network (random weights, 1x3x224x224, BatchNorm folded as torch exports it).
Times as in tools/bench_quantize.py: edgekit's calibrate() (probed graph, session, reading the data,
all runs, ranges written) against the float model over the same samples, both from the model file with
session creation included, the float model run the faster of two ways (default threads, or samples side
by side with one thread each, the way calibration runs). Medians of --rounds interleaved rounds. The
probe columns say what the ratio is made of (edgekit/quantize/calib.py): tensors the quantizer needs,
tensors whose range follows from another's, probes, and probes that need a minimum too (the costly kind
on x86: onnxruntime copies the tensor out of its NCHWc layout first). --histogram adds one run each of
--method percentile and entropy (onnxruntime's HistogramCalibrater), as a ratio to the same float run.
--write-docs replaces "## Calibration across architectures" in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_quantize import calib_seconds, cpu_info, md_table, run_float, write_docs  # noqa: E402

SECTION = "## Calibration across architectures"
HISTOGRAM = ("percentile", "entropy")  # onnxruntime's HistogramCalibrater, fed by edgekit in chunks
READING = (
    "Reading: issue 3's target (<= 1.3x) is measured on MobileNetV2 by tools/bench_quantize.py (128 samples). "
    "What the ratio is made of is the probe count, above all probes that need a minimum: on x86 onnxruntime "
    "keeps activations in its blocked NCHWc layout, and ReduceMin (no NCHWc kernel) needs a full copy back to "
    "NCHW first. Relu/Clip outputs need no minimum; in EfficientNet every activation is SiLU (x * Sigmoid(x)), "
    "whose outputs and inputs can be negative, so every probe carries a minimum and a copy. ResNet-18's "
    "convolutions are heavy enough that the probes hardly show; ShuffleNetV2's channel shuffles and concats "
    "take their ranges from their inputs without probes. The histogram methods (percentile, entropy) go "
    "through onnxruntime's HistogramCalibrater: its graph runs unoptimized with every tensor as an output, "
    "and numpy bins every activation of every sample (np.histogram on explicit edges sorts), which costs "
    "tens of times a float run; edgekit only feeds it in chunks so memory stays flat.")


def export(name: str, work: Path) -> Path:
    from edgekit import zoo

    path = work / f"{name}.onnx"
    if not path.exists():
        zoo.export_onnx(zoo.build(name, num_classes=1000, input_size=224), path, keep_batchnorm=False)
    return path


def measure(name: str, work: Path, args) -> list:
    from edgekit.quantize.calib import _augment
    from edgekit.quantize.static import preprocess

    src = export(name, work)
    pre = work / f"{name}.pre.onnx"
    preprocess(src, pre)
    data = np.random.default_rng(0).random((args.samples, 3, 224, 224), dtype=np.float32)
    calib = work / f"{name}.calib.npy"
    np.save(calib, data)
    cal, flo, par = [], [], []
    for _ in range(args.rounds):  # interleaved: a burst from another job hits all three alike
        cal.append(calib_seconds(pre, calib, work))
        flo.append(run_float(src, data, side_by_side=False))
        par.append(run_float(src, data, side_by_side=True))
    c, f, p = (statistics.median(v) for v in (cal, flo, par))
    _, probes, links = _augment(pre)
    row = [name, len(probes) + len(links), len(links), len(probes), sum(1 for *_, low in probes if low is not None),
           round(c, 3), round(f, 3), round(p, 3), round(c / min(f, p), 2)]
    # histogram methods: one run each (tens of times the float run, so noise does not matter)
    return row + [round(calib_seconds(pre, calib, work, m) / min(f, p), 1) for m in HISTOGRAM if args.histogram]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", default=None, help="cache dir for exported models and data (default: a temp dir)")
    ap.add_argument("--samples", type=int, default=64, help="calibration samples per model")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds")
    ap.add_argument("--models", default="mobilenet_v2,resnet18,shufflenet_v2,efficientnet_b0")
    ap.add_argument("--histogram", action="store_true", help="also time --method percentile and entropy (1 run)")
    ap.add_argument("--write-docs", action="store_true", help=f"replace {SECTION!r} in docs/benchmarks.md")
    args = ap.parse_args()
    import onnxruntime

    load0 = os.getloadavg()
    tmp = None if args.work else tempfile.TemporaryDirectory(prefix="edgekit-bench-cal-")
    work = Path(args.work or tmp.name)
    work.mkdir(parents=True, exist_ok=True)
    rows = [measure(name, work, args) for name in args.models.split(",")]
    load1 = os.getloadavg()
    text = "\n".join([
        f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        f"- machine: {cpu_info()}; onnxruntime {onnxruntime.__version__}",
        f"- command: `{' '.join([Path(sys.executable).name] + sys.argv)}`",
        f"- load (1/5/15 min): start {' '.join(f'{x:.2f}' for x in load0)}, end {' '.join(f'{x:.2f}' for x in load1)}",
        f"- {args.samples} samples per model, medians of {args.rounds} interleaved rounds; seconds from the model "
        "file to the last result (session creation included on both sides)", "",
        md_table(["model", "tensors ranged", "from another's range", "probed", "probed with a min", "edgekit s",
                  "float s (default threads)", "float s (side by side)", "ratio vs faster float"]
                 + [f"{m} ratio" for m in HISTOGRAM if args.histogram], rows), "",
        READING])
    print(text)
    if args.write_docs:
        write_docs(text, SECTION)
    return 0


if __name__ == "__main__":
    sys.exit(main())
