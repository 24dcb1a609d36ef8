"""The per-layer report of any quantization: JSON or Markdown by the file's extension, written atomically."""
from __future__ import annotations

import json
from pathlib import Path

from .result import QuantizeResult


def write_report(result: QuantizeResult, path) -> Path:
    from .._io import write_text

    path = Path(path)
    if path.suffix.lower() == ".json":
        return write_text(path, json.dumps(result.to_dict(), indent=2) + "\n")
    s = result.scheme
    lines = [f"# Quantization report: {result.output.name}", "",
             f"- scheme: {s.describe() if s else 'float'}",
             f"- format: {result.format}" + (f" ({result.qformat})" if result.qformat else "") +
             f", target: {result.target}, io: {result.io}, calibration samples: {result.calib_samples}"]
    if result.sqnr_db is not None:
        lines.append(f"- output SQNR vs float: {result.sqnr_db:.2f} dB")
    if result.format == "tflite":
        lines.append(f"- float ops inside the graph: {', '.join(result.float_ops) or 'none'}")
    if result.drop is not None:
        lines.append(f"- drop ({result.drop_metric}): {result.drop:.2f} points; budget met: {result.budget_met}")
    lines.append(f"- kept in {result.fallback or 'float'}: {', '.join(result.float_layers) or 'none'}")
    lines += ["", "| node | op | tensor | type | SQNR dB | SQNR lost dB | max abs error | kept |",
              "|---|---|---|---|---:|---:|---:|---|"]
    lines += [f"| {'+'.join(r.group) or r.node} | {r.op_type} | {r.tensor} | {r.dtype} | {r.sqnr_db:.2f} | "
              f"{r.delta_db:.2f} | {'' if r.max_abs_error is None else f'{r.max_abs_error:.4g}'} | "
              f"{r.kept_as or ('float' if r.kept_float else '')} |" for r in result.layers]
    return write_text(path, "\n".join(lines) + "\n")
