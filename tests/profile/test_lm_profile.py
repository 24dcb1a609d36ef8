"""``edgekit profile`` on a KV-cache LM adds token-level figures to the record (host, fresh process)."""
from __future__ import annotations

import json

import pytest

from edgekit.profile import ProfileRecord, profile
from helpers import lm as H

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def lm_files(tmp_path_factory):
    from edgekit.zoo.lm import export_lm

    d = tmp_path_factory.mktemp("lmprof")
    model = H.build()
    return export_lm(model, d / "lm.onnx", cache="static"), export_lm(model, d / "nocache.onnx", cache="none")


def test_lm_record_has_prefill_decode_and_tokens_per_second(lm_files):
    rec = profile(lm_files[0], threads=1, runs=2, warmup=0)
    lm = rec.lm
    assert lm is not None and lm.prompt_tokens == 16 and lm.new_tokens == 16 and lm.runs == 2
    assert lm.cache == "OrtStatic"
    # structure, not speed: every figure is a positive time, the percentiles are ordered, and tokens/s
    # is the inverse of the per-token decode time it is derived from
    for lat in (lm.prefill_ms, lm.ttft_ms, lm.decode_ms):
        assert 0 < lat.min <= lat.p50 <= lat.p90 <= lat.max
    assert lm.ttft_ms.min >= lm.prefill_ms.min
    assert lm.tokens_per_s_p50 == pytest.approx(1000.0 / lm.decode_ms.p50)
    assert lm.tokens_per_s_p90 <= lm.tokens_per_s_p50
    assert lm.peak_rss_mb > 0
    again = ProfileRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert again.lm == lm  # the JSON record family round-trips the new fields


def test_a_model_without_a_cache_gets_no_lm_figures(lm_files):
    rec = profile(lm_files[1], threads=1, runs=2, warmup=0)
    assert rec.lm is None and "lm" not in rec.to_dict()


def test_cli_prints_the_token_table(lm_files, capsys):
    from edgekit.cli import main

    assert main(["profile", str(lm_files[0]), "--threads", "1", "--runs", "2", "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    assert "tok/s p50" in out and "TTFT ms p50" in out
