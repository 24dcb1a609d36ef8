"""Reading and merging results: profile and eval records by model path; bad input is one clear error."""
from __future__ import annotations

import json
import math

import pytest

from edgekit.errors import InputError
from edgekit.report.records import read_rows
from edgekit.report.svg import pareto_front

from .conftest import evaluation, profile


def test_separate_profile_and_eval_files_merge_by_model(tmp_path):
    prof = tmp_path / "profile.json"
    prof.write_text(json.dumps([profile("m/a.onnx", "x86_64", 2.0), profile("m/a.onnx", "raspberry-pi-4", 9.0),
                                profile("m/b.tflite", "x86_64", 1.0)]))
    ev = tmp_path / "eval.json"
    ev.write_text(json.dumps([evaluation("m/a.onnx", 91.5), evaluation("m/./c.onnx", 80.0)]))
    rows = read_rows([prof, ev])
    by = {(r.model, r.target): r for r in rows}
    assert set(by) == {("m/a.onnx", "x86_64"), ("m/a.onnx", "raspberry-pi-4"), ("m/b.tflite", "x86_64"),
                       ("m/c.onnx", None)}  # paths normalised; c was only evaluated
    assert by["m/a.onnx", "x86_64"].top1 == by["m/a.onnx", "raspberry-pi-4"].top1 == 91.5  # eval joins each target
    assert by["m/a.onnx", "raspberry-pi-4"].p50 == 9.0 and by["m/b.tflite", "x86_64"].top1 is None
    assert by["m/a.onnx", "x86_64"].sqnr_db == math.inf  # eval writes an infinite SQNR as "inf"
    assert by["m/a.onnx", "x86_64"].peak_mb == 42.0 and by["m/a.onnx", "x86_64"].runtime == "onnxruntime"


def test_single_object_list_and_dicts_are_accepted(tmp_path):
    one = tmp_path / "one.json"
    one.write_text(json.dumps(profile("a.onnx", "x86_64", 1.0)))  # `edgekit profile --json` with one model
    assert len(read_rows(one)) == 1
    assert len(read_rows(str(one))) == 1
    assert len(read_rows([one, {**evaluation("b.onnx", 50.0)}])) == 2
    assert read_rows(evaluation("b.onnx", 50.0))[0].top1 == 50.0


def test_later_measurement_of_the_same_pair_wins():
    rows = read_rows([profile("a.onnx", "x86_64", 3.0), profile("a.onnx", "x86_64", 2.0)])
    assert len(rows) == 1 and rows[0].p50 == 2.0


def test_unusable_records_are_skipped():
    rows = read_rows([{"error": {"what": "x"}, "model": "a.onnx"}, {"model": "b.onnx"}, None, 3,
                      evaluation("c.onnx", 70.0)])
    assert [r.model for r in rows] == ["c.onnx"]


@pytest.mark.parametrize("content, match", [
    ("{not json", "is not JSON"),
    ("[]", "it is empty"),
    ('[{"model": "a.onnx"}, {"latency_ms": {"p50": 1}}]', "no record has 'model'"),
])
def test_bad_results_are_one_clear_error(tmp_path, content, match):
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(InputError, match=match) as exc:
        read_rows(path)
    assert "r.json" in str(exc.value) and "\n" not in str(exc.value)


def test_missing_results_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_rows(tmp_path / "nope.json")


def test_pareto_front_keeps_only_undominated_points():
    pts = [(5.0, 98.0), (1.0, 96.0), (0.4, 95.0), (1.5, 95.5), (1.0, 94.0), (0.4, 95.0)]
    # (1.5, 95.5) is beaten by (1.0, 96.0); (1.0, 94.0) by (1.0, 96.0); the duplicate (0.4, 95.0) counts once
    assert sorted(pareto_front(pts)) == [0, 1, 2]
    assert pareto_front([]) == [] and pareto_front([(1.0, 1.0)]) == [0]
