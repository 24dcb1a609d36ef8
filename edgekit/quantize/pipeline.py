"""The ONNX static pipeline (w8a8, w8a16): pre-process, calibrate once, quantize, and the shared fallback."""
from __future__ import annotations

import itertools
import sys
from pathlib import Path

from . import fallback
from .ranking import rank
from .result import QuantizeResult
from .sensitivity import FALLBACK_OPS, layer_errors
from .static import DatasetReader, preprocess, quantize_static, resolve_excludes

SENSITIVITY_SAMPLES = fallback.SENSITIVITY_SAMPLES


def run_static(job, base: dict, inputs) -> QuantizeResult:
    import onnx

    from ..data import open_source
    from .onnx_backend import finish

    spec, s = base["spec"], job.scheme
    q = job.target.onnx_int8
    from .._tmp import temp_dir  # an owner file lets a later run clean it up after a kill

    with temp_dir("edgekit-q-") as tmpdir:
        tmp = Path(tmpdir)
        pre = tmp / "pre.onnx"
        preprocess(job.src, pre)
        excl = resolve_excludes(onnx.load(str(pre)), job.exclude)
        ds = open_source(job.calib, spec, inputs, calib_size=job.calib_size, seed=job.seed, strict=job.strict)
        opts = dict(activations=s.activations.value, weights=q.weights.value, fmt=job.qformat or q.format.value,
                    per_channel=s.per_channel, method=job.method)
        cache = tmp / "ranges.json"
        qpath = tmp / "int8.onnx"
        reader = DatasetReader(ds)
        secs = quantize_static(pre, qpath, reader, cache, exclude=excl, **opts)
        extra = dict(calib_samples=reader.samples, skipped=ds.skipped, calib_seconds=round(secs, 3))
        if ds.skipped:
            print(f"edgekit quantize: skipped {ds.skipped} unreadable file(s) in the calibration data", file=sys.stderr)

        def errors(path, samples):
            return rank(layer_errors(pre, path, samples, tmp, kept=excl))

        fb: dict = {}
        if job.max_drop is not None:
            def requantize(kept):
                path = tmp / f"int8_keep{len(kept)}.onnx"
                quantize_static(pre, path, None, cache, exclude=list(excl) + list(kept), **opts)
                return path

            eval_ds = open_source(job.eval_data, spec, inputs, seed=job.seed)
            out = fallback.run(job.src, qpath, requantize, errors, eval_ds, job.max_drop, FALLBACK_OPS, excl)
            qpath, fb = out.path, out.fields()
        elif job.report is not None:
            samples = [f for f, _ in itertools.islice(open_source(job.calib, spec, inputs, calib_size=SENSITIVITY_SAMPLES,
                                                                  seed=job.seed), SENSITIVITY_SAMPLES)]
            fb = {"layers": tuple(fallback.mark_kept(errors(qpath, samples), excl))}
        ops = finish(onnx.load(str(qpath)), job.output, spec, s)
    chosen = fb.get("fallback_layers", ())
    return QuantizeResult(**base, ops=ops, size=job.output.stat().st_size, method=job.method.value,
                          qformat=opts["fmt"], float_layers=tuple(excl) + tuple(chosen),
                          fallback="float" if chosen else None, **fb, **extra)
