"""A short seeded pass of tools/fuzz.py (issue 17: CI runs a few hundred cases; the long runs are in
docs/benchmarks.md). Every case must end in a clean outcome: one error line, or exit 0 on valid input."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def _fuzz():
    sys.path.insert(0, str(TOOLS))
    spec = importlib.util.spec_from_file_location("edgekit_fuzz", TOOLS / "fuzz.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_short_seeded_fuzz_pass_finds_nothing_bad_and_resumes(tmp_path):
    fuzz = _fuzz()
    out = tmp_path / "run"
    argv = ["--out", str(out), "--cases", "50", "--commands", "load,convert,bundle,targets", "--seed", "17",
            "--timeout", "120", "--quiet"]
    assert fuzz.main(argv) == 0
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(records) == 200
    bad = [r for r in records if r["class"] in fuzz.BAD]
    assert bad == [], bad[:3]
    # the invalid inputs were refused (not merely survived), and some valid mutants passed
    assert sum(r["invalid"] for r in records) > 40 and all(r["rc"] != 0 for r in records if r["invalid"])
    assert any(r["rc"] == 0 for r in records)
    # resumable: a second run with more cases does only the new ones
    assert fuzz.main(argv[:3] + ["52"] + argv[4:]) == 0
    again = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(again) == 208 and again[:200] == records


def test_cases_are_reproducible_from_the_seed(tmp_path):
    fuzz = _fuzz()
    import fuzz_mutate

    corpus = fuzz_mutate.build_corpus(tmp_path / "corpus")
    made = []
    for run in ("a", "b"):
        d = tmp_path / run
        d.mkdir()
        case = fuzz_mutate.make_case("convert", fuzz.case_rng(3, "convert", 5), corpus, d)
        made.append((case.mutation, (d / "m.onnx").read_bytes()))
    assert made[0] == made[1]
