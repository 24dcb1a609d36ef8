"""Read results JSON (profile and eval records) and merge them into one row per model and target.

A profile record (``edgekit profile --json``) has ``latency_ms``/``memory_mb``/``model_bytes`` and a
``target``; an eval record (``edgekit eval --json``) has ``top1``/``top5``/``agreement``/``sqnr_db``.
The demo writes objects holding both. Eval figures do not depend on the target, so they join every
profile row of the same model path; a model that was only evaluated gets one row without a target.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, ModelError

LATENCY_KEYS = ("min", "p50", "p90", "p99", "max", "mean", "std")
EVAL_KEYS = ("samples", "top1", "top5", "agreement", "sqnr_db", "max_abs_error")


@dataclass(frozen=True)
class Row:
    """One model on one target (``target`` None: evaluated only). Percent figures are 0..100."""

    model: str
    format: str | None = None
    target: str | None = None
    measured_on: str | None = None
    runtime: str | None = None
    threads: int | None = None
    model_bytes: int | None = None
    latency: dict = field(default_factory=dict)  # LATENCY_KEYS present in the record, in ms
    peak_mb: float | None = None
    samples: int | None = None
    top1: float | None = None
    top5: float | None = None
    agreement: float | None = None
    sqnr_db: float | None = None
    max_abs_error: float | None = None
    budgets: dict = field(default_factory=dict)  # the target's budgets at measurement: latency_ms, memory_mb, model_mb
    load_avg: float | None = None  # the measuring host's 1-minute load average (None: not recorded)
    cores: int | None = None  # its CPU count

    @property
    def name(self) -> str:
        return Path(self.model).name

    @property
    def p50(self) -> float | None:
        return self.latency.get("p50", self.latency.get("mean"))

    @property
    def profiled(self) -> bool:
        return self.p50 is not None

    def figures(self) -> dict:
        """Accuracy and latency figures (what a bundle manifest records), without empty ones."""
        out = {k: getattr(self, k) for k in EVAL_KEYS if getattr(self, k) is not None}
        if self.profiled:
            out.update(target=self.target, measured_on=self.measured_on, runtime=self.runtime,
                       threads=self.threads, latency_ms=dict(self.latency))
            if self.peak_mb is not None:
                out["peak_rss_mb"] = self.peak_mb
        return out


def _number(value) -> float | None:
    """A finite or infinite float; eval writes an infinite SQNR as the string "inf"."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf", "infinity", "-inf"):
        return float(value.strip().lower().replace("infinity", "inf"))
    if isinstance(value, (int, float)) and not math.isnan(value):
        return float(value)
    return None


def _read_file(path: Path) -> list:
    if not path.is_file():
        raise InputError(f"results file {path} not found", "no such file", "check the path")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"results file {path} is not JSON", str(exc).splitlines()[0],
                         "give files written by `edgekit profile --json`, `edgekit eval --json` or the demo") from exc
    return [(str(path), r) for r in (data if isinstance(data, list) else [data])]


def load_records(results) -> list[tuple[str, object]]:
    """(origin, record) pairs from a path, a record dict, or a list mixing paths and dicts."""
    items = results if isinstance(results, (list, tuple)) else [results]
    out = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            out += _read_file(Path(item))
        elif isinstance(item, (list, tuple)):
            out += load_records(list(item))
        else:
            out.append(("the given records", item))
    return out


def _kind(record) -> tuple[bool, bool]:
    """(is a profile record, is a usable eval record). A fleet's "not run" entry is neither."""
    if not isinstance(record, dict) or not isinstance(record.get("model"), str) or "error" in record:
        return False, False
    profile = isinstance(record.get("latency_ms"), dict) and "not_run" not in record
    evaluated = any(_number(record.get(k)) is not None for k in ("top1", "top5", "agreement"))
    return profile, evaluated


def _profile_fields(r: dict, origin: str) -> dict | None:
    """The Row fields of a profile record, parsed once as a ProfileRecord; None when it has no latency."""
    from ..profile.record import ProfileRecord

    try:
        rec = ProfileRecord.from_dict(r, where=origin)
    except ModelError as exc:
        raise InputError(f"a profile record in {origin} is malformed", exc.what,
                         "give files written by `edgekit profile --json` (or fix the record)") from None
    lat = {k: v for k in LATENCY_KEYS if (v := _number(getattr(rec.latency_ms, k))) is not None}
    if not any(k in lat for k in ("p50", "mean")):
        return None
    return {"target": rec.target, "measured_on": rec.measured_on,
            "runtime": rec.runtime.name if rec.runtime else None, "threads": rec.threads,
            "model_bytes": rec.model_bytes, "latency": lat, "peak_mb": rec.memory_mb.peak_rss, "device": rec.device,
            "budgets": {k: v.limit for k, v in rec.budget.items()}, **_host_load(rec.host)}


def _host_load(host: dict) -> dict:
    """The measuring host's 1-minute load average and CPU count (the runner records both in ``host``)."""
    load, cores = host.get("load_avg"), host.get("cores")
    load = _number(load[0]) if isinstance(load, (list, tuple)) and load else _number(load)
    return {"load_avg": load, "cores": int(cores) if _number(cores) is not None and cores > 0 else None}


def _eval_fields(r: dict) -> dict:
    out = {k: _number(r.get(k)) for k in EVAL_KEYS[1:]}
    samples = r.get("samples")
    out["samples"] = int(samples) if _number(samples) is not None else None
    return {k: v for k, v in out.items() if v is not None}


def _format(r: dict, model: str) -> str | None:
    fmt = r.get("format")
    if isinstance(fmt, str) and fmt:
        return fmt
    suffix = Path(model).suffix.lstrip(".").lower()
    return suffix or None


def _size_on_disk(model: str) -> int | None:
    try:
        return os.path.getsize(model)
    except OSError:
        return None


def merge(records: list[tuple[str, object]]) -> list[Row]:
    """Rows, one per (model, target) profiled plus one per model only evaluated; input order kept."""
    evals: dict[str, dict] = {}
    profiles: dict[tuple[str, str], dict] = {}
    formats: dict[str, str | None] = {}
    for origin, r in records:
        is_profile, is_eval = _kind(r)
        fields = _profile_fields(r, origin) if is_profile else None
        if not (fields or is_eval):
            continue
        key = os.path.normpath(r["model"])
        formats.setdefault(key, _format(r, key))
        if is_eval:
            evals.setdefault(key, {}).update(_eval_fields(r))
        if fields:
            # a later measurement of the same pair wins; two fleet devices of one target are two rows
            profiles[(key, fields["target"], fields.pop("device"))] = fields
    rows = [Row(model=key, format=formats[key], **{**fields, **evals.get(key, {})})
            for (key, _t, _d), fields in profiles.items()]
    profiled = {key for key, _t, _d in profiles}
    rows += [Row(model=key, format=formats[key], model_bytes=_size_on_disk(key), **fields)
             for key, fields in evals.items() if key not in profiled]
    return rows


def read_rows(results) -> list[Row]:
    """Load and merge ``results``; InputError when nothing in it is a profile or eval record."""
    records = load_records(results)
    rows = merge(records)
    if not rows:
        items = results if isinstance(results, (list, tuple)) else [results]
        files = [str(i) for i in items if isinstance(i, (str, os.PathLike))]
        origins = files + (["the given records"] if len(files) < len(items) or not items else [])
        why = "it is empty" if not records else "no record has 'model' plus 'latency_ms' (profile) or 'top1'/'agreement' (eval)"
        raise InputError(f"no usable results in {', '.join(origins)}", why,
                         "give files written by `edgekit profile --json`, `edgekit eval --json` or the demo")
    return rows
