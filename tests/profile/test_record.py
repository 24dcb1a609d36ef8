"""ProfileRecord: parsed once from the producers' JSON, written back unchanged, extensible."""
from __future__ import annotations

import json

import pytest

from edgekit.errors import ModelError
from edgekit.profile.record import NotRun, ProfileRecord, parse_result

RAW = {"model": "m.onnx", "format": "onnx", "target": "x86_64", "measured_on": "ssh://pi", "threads": 2, "runs": 5,
       "warmup": 1, "runtime": {"name": "onnxruntime", "version": "1.20"}, "host": {"arch": "aarch64", "cores": 4},
       "load_ms": 3.5, "first_run_ms": 1.25, "throughput_per_s": 500.0,
       "latency_ms": {"mean": 2.0, "std": 0.1, "min": 1.9, "p50": 2, "p90": 2.1, "p99": 2.5, "max": 3.0},
       "memory_mb": {"baseline_rss": 30.0, "peak_rss": 42.0, "growth": 12.0}, "model_bytes": 1234,
       "dynamic_inputs": ["x"], "temperature_c": {"before": {"cpu": 50.0}, "after": {"cpu": 61.0}},
       "budget": {"latency_ms": {"limit": 1.0, "measured": 2.0, "statistic": "p50", "pass": False}},
       "warnings": ["hot"], "pid": 77}


def test_round_trip_is_the_json_and_fields_are_typed():
    rec = ProfileRecord.from_dict(json.loads(json.dumps(RAW)))
    assert rec.latency_ms.p50 == 2.0 and isinstance(rec.latency_ms.p50, float)  # an int 2 becomes 2.0
    assert rec.budget["latency_ms"].passed is False and rec.runtime.name == "onnxruntime"
    assert rec.temperature_c.hottest == 61.0 and rec.dynamic_inputs == ("x",)
    assert rec.to_dict() == {**RAW, "latency_ms": {**RAW["latency_ms"], "p50": 2.0}}
    with pytest.raises(AttributeError):
        rec.model = "other"  # frozen


def test_unset_optional_fields_stay_out_and_unknown_keys_survive():
    minimal = {k: RAW[k] for k in ("model", "format", "target", "measured_on", "latency_ms", "memory_mb",
                                   "model_bytes")}
    rec = ProfileRecord.from_dict({**minimal, "prefill_ms": 12.5})  # a newer edgekit's key
    out = rec.to_dict()
    assert "device" not in out and "note" not in out and "p95" not in out["latency_ms"]
    assert rec.extra == {"prefill_ms": 12.5} and out["prefill_ms"] == 12.5


@pytest.mark.parametrize("change, message", [
    ({"latency_ms": None, "model_bytes": None}, None),
    ({"model_bytes": "big"}, "bad 'model_bytes': expected a whole number"),
    ({"latency_ms": [1, 2]}, "the record from ssh://pi is not an object"),
    ({"dynamic_inputs": "x"}, "bad 'dynamic_inputs': expected a list")])
def test_bad_records_are_model_errors(change, message):
    data = {**RAW, **change}
    if message is None:
        del data["model_bytes"]
        message = "has no 'model_bytes'"
    with pytest.raises(ModelError, match=message):
        ProfileRecord.from_dict(data, where="ssh://pi")


def test_not_run_round_trip():
    nr = NotRun("m.onnx", "x86_64", "pi", "ssh://pi", "device down", "ssh refused", "k1")
    assert parse_result(nr.to_dict()) == nr and nr.to_dict()["not_run"] == "device down"
    assert isinstance(parse_result(RAW), ProfileRecord)
