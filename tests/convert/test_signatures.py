"""Multi-signature TFLite files: a static-cache LM -> ``prefill`` + ``decode`` signatures, weights stored once."""
from __future__ import annotations

import numpy as np
import pytest

import edgekit
from edgekit.errors import ConvertError, InputError
from helpers import lm as H

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from edgekit.convert.signatures import convert_lm
    from edgekit.zoo.lm import export_lm

    d = tmp_path_factory.mktemp("sig")
    model = H.build()
    onnx_path = export_lm(model, d / "lm.onnx", cache="static")
    export_lm(model, d / "lm-nocache.onnx", cache="none")
    res = convert_lm(onnx_path, d / "lm.tflite", prefill=16)
    assert res.inputs["prefill"]["input_ids"] == (1, 16) and res.inputs["decode"]["input_ids"] == (1, 1)
    assert res.ops["decode"]["BATCH_MATMUL"] > 0 and res.size == res.output.stat().st_size
    return d, onnx_path, res.output


PROMPT = [5, 77, 120, 9, 250, 31]


def test_two_signatures_share_the_weights(files):
    from ai_edge_litert.interpreter import Interpreter

    d, onnx_path, tfl = files
    sigs = Interpreter(model_path=str(tfl)).get_signature_list()
    assert set(sigs) == {"prefill", "decode"}
    assert {"input_ids", "cache_position", "past_key_values.0.key"} <= set(sigs["decode"]["inputs"])
    assert "present.1.value" in sigs["prefill"]["outputs"]
    # two graphs, one copy of the weights: the file is about the ONNX file's size, not twice it
    assert tfl.stat().st_size < 1.25 * onnx_path.stat().st_size


def test_prefill_logits_match_onnxruntime(files):
    from ai_edge_litert.interpreter import Interpreter

    import onnxruntime as ort

    d, onnx_path, tfl = files
    ids = np.asarray([PROMPT + [0] * 10], np.int64)
    s = ort.InferenceSession(str(onnx_path))
    past = {i.name: np.zeros((1, 2, 32, 8), np.float32) for i in s.get_inputs()[2:]}
    want = s.run(None, {"input_ids": ids, "cache_position": np.arange(16), **past})
    got = Interpreter(model_path=str(tfl)).get_signature_runner("prefill")(
        input_ids=ids, cache_position=np.arange(16), **past)
    span = float(np.ptp(want[0]))
    # the criterion: within 1e-4 of the output range (float32 kernels sum in another order)
    np.testing.assert_allclose(got["logits"], want[0], atol=1e-4 * span)
    np.testing.assert_allclose(got["present.1.key"], want[3], atol=1e-4 * float(np.ptp(want[3])))


def test_generate_on_tflite_equals_the_uncached_reference(files):
    d, onnx_path, tfl = files
    want = edgekit.load(d / "lm-nocache.onnx").generate(PROMPT, 10, uncached=True).tokens
    assert edgekit.load(tfl).generate(PROMPT, 10).tokens == want


def test_tflite_limits(files):
    _, _, tfl = files
    lm = edgekit.load(tfl)
    with pytest.raises(InputError, match="the prompt has 17 tokens.*at most 16.*prefill"):
        lm.generate(list(range(17)), 2)
    with pytest.raises(InputError, match="cache holds 32"):
        lm.generate(PROMPT, 30)


def test_perplexity_on_tflite_equals_onnx(files, tmp_path):
    from edgekit.evaluate import perplexity

    d, onnx_path, tfl = files
    tok = H.tokenizer()
    text = tmp_path / "t.txt"
    text.write_text("\n".join(H.corpus_lines(4, seed=3)) + "\n")
    a, b = perplexity([onnx_path, tfl], text, tok, context=16, stride=8)
    assert a.tokens == b.tokens and b.perplexity == pytest.approx(a.perplexity, rel=1e-4)  # float32 kernels


def test_graph_without_a_static_cache_is_refused(files):
    from edgekit.convert.signatures import convert_lm

    d, _, _ = files
    with pytest.raises(ConvertError, match="no static KV cache"):
        convert_lm(d / "lm-nocache.onnx", d / "never.tflite")
    with pytest.raises(InputError, match="prefill length 33"):
        convert_lm(d / "lm.onnx", d / "never.tflite", prefill=33)
    assert not (d / "never.tflite").exists()


def test_single_signature_files_are_unchanged():
    """build() of one model is build_signatures with one entry: subgraph 'main', key 'serving_default'."""
    from edgekit.convert.ir import TModel, TOp, TTensor
    from edgekit.convert.writer import build

    x = TTensor("x", (1, 4), np.float32)
    w = TTensor("w", (1, 4), np.float32, np.ones((1, 4), np.float32))
    y = TTensor("y", (1, 4), np.float32)
    m = TModel(inputs=[x], outputs=[y], ops=[TOp("ADD", [x, w], [y])])
    fb = build(m)
    assert [s.name for s in fb.subgraphs] == ["main"]
    assert [s.signatureKey for s in fb.signatureDefs] == ["serving_default"]


def test_cli_converts_an_lm_to_two_signatures(files, capsys):
    from ai_edge_litert.interpreter import Interpreter

    from edgekit.cli import main

    d, onnx_path, _ = files
    out = d / "cli.tflite"
    assert main(["convert", str(onnx_path), "-o", str(out), "--prefill", "8"]) == 0
    assert "prefill signature" in capsys.readouterr().out
    runner = Interpreter(model_path=str(out)).get_signature_runner("prefill")
    assert list(runner.get_input_details()["input_ids"]["shape"]) == [1, 8]
    code = main(["convert", str(d / "lm-nocache.onnx"), "-o", str(d / "x.tflite"), "--prefill", "8"])
    err = capsys.readouterr().err
    assert code != 0 and "--prefill applies to KV-cache language models" in err and not (d / "x.tflite").exists()


@pytest.mark.parametrize("scheme, min_db", [("w8-dynamic", 30.0), ("w4", 12.0)])
def test_quantized_lm_keeps_both_signatures(files, scheme, min_db):
    """convert_lm(scheme=) quantizes through edgekit's ai-edge-quantizer backend; the signatures survive.

    SQNR floors: int8 per-channel weights measured 41.6 dB on this 2-layer model, blockwise int4 18.4 dB
    (ai-edge-litert 2.x); the floors leave ~10 dB / ~6 dB of margin and still catch a wrong scale or a
    signature wired to the wrong subgraph (which gives ~0 dB)."""
    from ai_edge_litert.interpreter import Interpreter

    from edgekit.convert.signatures import convert_lm

    d, onnx_path, float_tfl = files
    res = convert_lm(onnx_path, d / f"lm-{scheme}.tflite", prefill=16, scheme=scheme)
    assert res.size < 0.8 * float_tfl.stat().st_size
    ids = np.asarray([PROMPT + [0] * 10], np.int64)
    past = {f"past_key_values.{i}.{kv}": np.zeros((1, 2, 32, 8), np.float32) for i in range(2) for kv in ("key", "value")}
    run = lambda p: Interpreter(model_path=str(p)).get_signature_runner("prefill")(  # noqa: E731
        input_ids=ids, cache_position=np.arange(16), **past)["logits"]
    ref, got = run(float_tfl), run(res.output)
    assert 10 * np.log10((ref ** 2).sum() / ((ref - got) ** 2).sum()) > min_db
    out = edgekit.load(res.output).generate(PROMPT, 5)
    assert len(out.tokens) == 5


def test_calibrated_scheme_on_an_lm_is_refused_before_work(files):
    from edgekit.convert.signatures import convert_lm

    d, onnx_path, _ = files
    with pytest.raises(InputError, match="w8a8 on a multi-signature TFLite file.*w8-dynamic or w4"):
        convert_lm(onnx_path, d / "never.tflite", scheme="w8a8")
    assert not (d / "never.tflite").exists()
