"""The quantization flags ``edgekit quantize`` and ``edgekit convert`` share, and the rows both print.

argparse lives here, in the CLI layer; the library (edgekit.quantize, edgekit.convert) takes typed
arguments and returns a QuantizeResult.
"""
from __future__ import annotations

import argparse


def add_quantize_flags(p: argparse.ArgumentParser, title: str) -> None:
    from ..quantize.scheme import PRESETS

    g = p.add_argument_group(title)
    g.add_argument("--calib", metavar="DATA", default=None,
                   help="calibration data: image folder, .npy or .npz (w8a8, w8a16 need it)")
    g.add_argument("--target", default=None, help="target name or .toml: its scheme and kernel types "
                                                  "(default: this host's)")
    g.add_argument("--block-size", type=int, default=None, metavar="N",
                   help="weights per scale for blockwise schemes (w4, w4a8; default 32)")
    g.add_argument("--io", choices=["float", "int8", "uint8"], default="float",
                   help="TFLite model input/output type (default float)")
    g.add_argument("--calib-size", type=int, default=None, metavar="N",
                   help="use N samples (seeded, spread over classes)")
    g.add_argument("--max-drop", type=float, default=None, metavar="PCT",
                   help="top-1 points the quantized model may lose against float (needs --eval); the most "
                        "sensitive layers are kept float until it holds")
    g.add_argument("--fallback", choices=["float", "int16"], default="float",
                   help="TFLite: how --max-drop keeps a layer, float (default) or int16 activations")
    g.add_argument("--eval", dest="eval_data", default=None, metavar="DATA", help="labeled data for --max-drop")
    g.add_argument("--report", default=None, metavar="FILE", help="per-layer error table (.json or .md)")
    g.add_argument("--seed", type=int, default=0, help="seed for --calib-size sampling (default 0)")
    g.add_argument("--strict", action="store_true", help="an unreadable file in the data is an error")
    p.epilog = (p.epilog or "") + "schemes: " + ", ".join(PRESETS) + " (docs/quantization.md)"


def given_spec(args, model):
    """The PreprocessSpec the flags ask for (None: the model's stored spec or its defaults apply)."""
    from ..data import spec_from_args
    from ..data.args import asks_preprocessing
    from ..data.model import model_inputs

    if not asks_preprocessing(args):
        return None
    inputs = model_inputs(model)
    return spec_from_args(args, inputs[0].shape, model, inputs[0].dtype.name) if len(inputs) == 1 else None


def result_rows(r, below: list, max_drop=None) -> list:
    from ..ui import name_list

    s = r.scheme
    rows = [["output", str(r.output)], ["format", r.format + (f" ({r.qformat})" if r.qformat else "")],
            ["size", f"{r.size / 1e6:.2f} MB"]]
    if s is not None:
        w = s.weights
        gran = f"blockwise {w.block_size}" if s.blockwise else w.granularity.value
        rows += [["scheme", s.name], ["activations/weights", f"{s.activations.value}/{w.dtype.value}"],
                 ["weights", gran]]
    if r.target:
        rows.append(["target", r.target])
    if r.input_layout:
        rows.append(["input layout", r.input_layout])
    rows += [["io", r.io], ["ops", sum(r.ops.values())],
             ["op types", ", ".join(f"{k} x{v}" for k, v in sorted(r.ops.items()))]]
    if r.calib_samples:
        rows.append(["calibration samples", str(r.calib_samples)])
    if r.skipped:
        rows.append(["skipped files", f"{r.skipped} unreadable (--strict makes them an error)"])
    if r.format == "tflite" and s is not None and s.needs_calibration:
        rows.append(["float ops inside", name_list("float ops inside", r.float_ops, below)])
    if r.spec is not None or r.spec_origin is not None:
        from ..data.spec import describe

        rows.append(["preprocessing", f"{describe(r.spec)} ({r.spec_origin or 'given'})"])
    if r.sqnr_db is not None:
        rows.append(["SQNR vs float", f"{r.sqnr_db:.1f} dB"])
    label = f"kept in {r.fallback or 'float'}"
    if s is not None:
        rows.append([label, name_list(label, r.float_layers, below)])
    if r.drop is not None:
        metric = "top-1" if r.drop_metric == "top1" else "disagreement with float"
        rows.append([f"{metric} drop", f"{r.drop:.2f} points (budget {max_drop}: "
                                       f"{'met' if r.budget_met else 'NOT met'})"])
    return rows
