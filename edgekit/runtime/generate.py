"""Token generation with a KV cache: ``edgekit.load(lm).generate(prompt_ids, max_new_tokens, ...)``.

An LM file is recognised by its tensor names, which are the Hugging Face exporters': ``input_ids`` in,
``logits`` out, and for a cache ``past_key_values.{i}.key|value`` in and ``present.{i}.key|value``
out. Three layouts run:

- static cache (``cache_position`` input, cache tensors of a fixed number of slots): the cache lives in
  two preallocated buffer sets bound with onnxruntime's IOBinding; each step reads one set and writes
  the other, so no cache tensor is allocated or copied per token. A TFLite file with ``prefill`` and
  ``decode`` signatures uses the same layout (the interpreter copies inputs in; its API has no binding).
- dynamic cache (``attention_mask``, ``position_ids``, cache growing by concatenation): optimum's
  layout; onnxruntime allocates the grown cache each step, as it must.
- no cache: only with ``uncached=True`` — every new token re-runs the whole sequence. That is also the
  reference loop the tests compare against.

Like the rest of ``edgekit.runtime`` this imports only numpy (and the loaded model's backend).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..errors import InputError, ModelError

PAST = re.compile(r"^past_key_values\.(\d+)\.(key|value)$")
MAX_NEW_TOKENS = 1 << 16  # a bound on the argument, far above any cache edgekit can hold


@dataclass(frozen=True)
class Generation:
    """The prompt and the tokens generated after it; ``stop`` is "length" or "eos"."""
    prompt: tuple[int, ...]
    tokens: tuple[int, ...]
    stop: str

    @property
    def ids(self) -> tuple[int, ...]:
        return self.prompt + self.tokens


@dataclass(frozen=True)
class Layout:
    """Which tensors of an LM file do what, and its limits (None = not limited by the graph)."""
    kind: str                     # "static", "dynamic" or "none"
    ids: str
    logits: str
    past: tuple[str, ...] = ()
    present: tuple[str, ...] = ()
    position: str | None = None   # cache_position (static) or position_ids (dynamic)
    mask: str | None = None       # attention_mask (dynamic)
    slots: int | None = None      # static cache length
    prefill: int | None = None    # fixed input_ids length of the prefill graph/signature
    vocab: int | None = None


def layout(inputs, outputs) -> Layout:
    """The Layout of a model from its TensorInfos; a ModelError if it is not an LM edgekit can drive."""
    names = {i.name: i for i in inputs}
    outs = {o.name: o for o in outputs}
    ids = next((n for n in ("input_ids", "ids", "tokens") if n in names), None)
    logits = "logits" if "logits" in outs else None
    if ids is None or logits is None:
        raise ModelError("this model is not a language model edgekit can drive",
                         f"it needs an input_ids input and a logits output; it has {', '.join(names)} -> "
                         f"{', '.join(outs)}", "export the LM with the Hugging Face tensor names")
    vocab = outs[logits].shape[-1] if len(outs[logits].shape) == 3 else None
    past = tuple(sorted((n for n in names if PAST.match(n)),
                        key=lambda n: (int(PAST.match(n)[1]), PAST.match(n)[2] != "key")))
    fixed = 1 not in names[ids].dynamic and len(names[ids].shape) == 2
    prefill = names[ids].shape[1] if fixed else None
    if not past:
        return Layout("none", ids, logits, prefill=prefill, vocab=vocab)
    present = tuple(p.replace("past_key_values", "present") for p in past)
    missing = [p for p in present if p not in outs]
    if missing:
        raise ModelError(f"the model takes {past[0]} but has no output {missing[0]}",
                         "the cache cannot be carried from one step to the next", "export it with present.* outputs")
    if "cache_position" in names:
        return Layout("static", ids, logits, past, present, "cache_position", slots=names[past[0]].shape[2],
                      prefill=prefill, vocab=vocab)
    return Layout("dynamic", ids, logits, past, present, "position_ids" if "position_ids" in names else None,
                  "attention_mask" if "attention_mask" in names else None, vocab=vocab)


# ----------------------------------------------------------------------------------------- runners
class _Runner:
    """window(ids) -> logits of every prompt token (a fresh cache); decode(token, position) -> that
    token's logits after the tokens before it."""

    capacity: int | None = None
    max_prompt: int | None = None

    def prefill(self, ids: np.ndarray) -> np.ndarray:
        return self.window(ids)[-1]


class OrtStatic(_Runner):
    def __init__(self, session, lay: Layout):
        import onnxruntime as ort

        self.s, self.lay = session, lay
        self.capacity = lay.slots
        self.max_prompt = lay.prefill or lay.slots
        shapes = {i.name: i.shape for i in session.get_inputs()}
        self._buf = [[ort.OrtValue.ortvalue_from_numpy(np.zeros(shapes[n], np.float32)) for n in lay.past]
                     for _ in range(2)]
        self._cur = 0

    def reset(self):
        self._cur = 0  # stale slots need no clearing: attention masks every slot after the query

    def _step(self, ids: np.ndarray, positions: np.ndarray) -> np.ndarray:
        b = self.s.io_binding()
        b.bind_cpu_input(self.lay.ids, ids[None].astype(np.int64))
        b.bind_cpu_input(self.lay.position, positions.astype(np.int64))
        src, dst = self._buf[self._cur], self._buf[1 - self._cur]
        for name, v in zip(self.lay.past, src):
            b.bind_ortvalue_input(name, v)
        b.bind_output(self.lay.logits, "cpu")  # first: get_outputs() lists outputs in binding order
        for name, v in zip(self.lay.present, dst):
            b.bind_ortvalue_output(name, v)
        self.s.run_with_iobinding(b)
        self._cur = 1 - self._cur
        return b.get_outputs()[0].numpy()[0]

    def window(self, ids: np.ndarray) -> np.ndarray:
        self.reset()
        n = len(ids)
        if self.lay.prefill is None:
            return self._step(ids, np.arange(n))
        # a fixed-length prefill: pad after the prompt; the pad tokens' slots (n..N-1) are masked for
        # every later query until a real token overwrites them
        pad = self.lay.prefill - n
        return self._step(np.concatenate([ids, np.zeros(pad, ids.dtype)]), np.arange(self.lay.prefill))[:n]

    def decode(self, token: int, position: int) -> np.ndarray:
        return self._step(np.asarray([token]), np.asarray([position]))[-1]


class OrtDynamic(_Runner):
    def __init__(self, session, lay: Layout):
        self.s, self.lay = session, lay
        shapes = {i.name: i.shape for i in session.get_inputs()}
        self._empty = {n: np.zeros((1, shapes[n][1], 0, shapes[n][3]), np.float32) for n in lay.past}
        self.max_prompt = self.capacity = _rotary_limit(session)

    def _step(self, ids: np.ndarray, start: int) -> np.ndarray:
        feeds = {self.lay.ids: ids[None].astype(np.int64), **self._past}
        if self.lay.mask:
            feeds[self.lay.mask] = np.ones((1, start + len(ids)), np.int64)
        if self.lay.position:
            feeds[self.lay.position] = np.arange(start, start + len(ids), dtype=np.int64)[None]
        outs = self.s.run([self.lay.logits, *self.lay.present], feeds)
        self._past = dict(zip(self.lay.past, outs[1:]))
        return outs[0][0]

    def window(self, ids):
        self._past = dict(self._empty)
        return self._step(ids, 0)

    def decode(self, token, position):
        return self._step(np.asarray([token]), position)[-1]


class Uncached(_Runner):
    """Re-runs the whole sequence for every token: the reference loop, and the explicit fallback."""

    def __init__(self, model, lay: Layout):
        self.model, self.lay = model, lay
        self.capacity = self.max_prompt = lay.prefill

    def window(self, ids: np.ndarray) -> np.ndarray:
        self._ids = ids = np.asarray(ids, np.int64)
        n = len(ids)
        if self.lay.prefill is not None:  # fixed length: pad on the right; the causal mask ignores it
            ids = np.concatenate([ids, np.zeros(self.lay.prefill - n, ids.dtype)])
        return self.model.run({self.lay.ids: ids[None]})[self.lay.logits][0][:n]

    def decode(self, token, position):
        return self.window(np.append(self._ids, np.int64(token)))[-1]


class TfliteSignatures(_Runner):
    """A TFLite LM with ``prefill`` and ``decode`` signatures sharing the static cache layout."""

    def __init__(self, interpreter, lay: Layout):
        self.pre, self.dec = interpreter.get_signature_runner("prefill"), interpreter.get_signature_runner("decode")
        details = self.dec.get_input_details()
        self.lay = lay
        self.past = [n for n in details if PAST.match(n)]
        self.past.sort(key=lambda n: (int(PAST.match(n)[1]), PAST.match(n)[2] != "key"))
        self._zeros = {n: np.zeros(details[n]["shape"], details[n]["dtype"]) for n in self.past}
        self.capacity = int(details[self.past[0]]["shape"][2])
        self.max_prompt = int(self.pre.get_input_details()["input_ids"]["shape"][1])

    def _run(self, runner, ids, positions, past):
        out = runner(input_ids=ids[None].astype(np.int64), cache_position=positions.astype(np.int64), **past)
        self._past = {p: out[p.replace("past_key_values", "present")] for p in self.past}
        return out["logits"][0]

    def window(self, ids):
        n = len(ids)
        padded = np.concatenate([ids, np.zeros(self.max_prompt - n, np.int64)])
        return self._run(self.pre, padded, np.arange(self.max_prompt), self._zeros)[:n]

    def decode(self, token, position):
        return self._run(self.dec, np.asarray([token]), np.asarray([position]), self._past)[-1]


def _rotary_limit(session) -> int | None:
    meta = session.get_modelmeta().custom_metadata_map.get("edgekit.lm")
    if not meta:
        return None
    import json

    return int(json.loads(meta).get("max_len", 0)) or None


def runner(model, uncached: bool = False) -> _Runner:
    """The step runner for a loaded ``edgekit.Model`` (cached on it: buffers are allocated once)."""
    key = "_lm_runner_uncached" if uncached else "_lm_runner"
    found = getattr(model, key, None)
    if found is not None:
        return found
    backend = model._backend
    interp = getattr(backend, "interpreter", None)
    if interp is not None and {"prefill", "decode"} <= set(interp.get_signature_list()):
        sigs = interp.get_signature_list()
        lay = Layout("static", "input_ids", "logits", prefill=None)
        if "input_ids" not in sigs["decode"]["inputs"]:
            raise ModelError(f"{model.path.name} has prefill/decode signatures without input_ids",
                             "edgekit drives the Hugging Face tensor names", "convert it with edgekit")
        made = TfliteSignatures(interp, lay)
    else:
        lay = layout(model.inputs, model.outputs)
        if lay.kind == "none" or uncached:
            if not uncached:
                raise InputError(f"{model.path.name} has no KV-cache inputs (past_key_values.*)",
                                 "generate without a cache re-runs the whole sequence for every new token "
                                 "(n times the work)", "export the LM with a cache (edgekit.zoo.lm.export_lm("
                                 "cache='static')), or pass uncached=True to run that slow fallback")
            made = Uncached(model, lay)
        elif interp is not None:
            raise ModelError(f"{model.path.name} is a TFLite LM without prefill/decode signatures",
                             "edgekit drives a TFLite cache through those two signatures",
                             "convert it with edgekit.convert.lm.convert_lm")
        else:
            made = (OrtStatic if lay.kind == "static" else OrtDynamic)(backend.session, lay)
    setattr(model, key, made)
    return made


# -------------------------------------------------------------------------------------- generation
def _check_int(value, name: str, lo: int, hi: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (hi is not None and
                                                                                            value > hi):
        rng = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise InputError(f"{name} must be a whole number {rng}", f"got {value!r}", f"pass {name}={lo}")
    return int(value)


def _prompt(prompt_ids, vocab: int | None) -> np.ndarray:
    ids = np.asarray(prompt_ids)
    if ids.ndim == 2 and ids.shape[0] == 1:
        ids = ids[0]
    if ids.ndim != 1 or ids.size == 0 or ids.dtype.kind not in "iu":
        raise InputError("prompt_ids must be a non-empty 1-D list of token ids", f"got shape {list(ids.shape)} "
                         f"{ids.dtype}", "tokenize the prompt first, e.g. tokenizer.encode(text).ids")
    if ids.min() < 0 or (vocab is not None and ids.max() >= vocab):
        raise InputError(f"prompt_ids hold token id {int(ids.max() if ids.min() >= 0 else ids.min())}",
                         f"the model's vocabulary is 0..{vocab - 1 if vocab else '?'}",
                         "use the tokenizer the model was trained with")
    return ids.astype(np.int64)


def pick(logits: np.ndarray, temperature: float, top_k: int | None, rng) -> int:
    """Greedy at temperature 0; else sample softmax(logits / T) over the top_k ids."""
    logits = np.asarray(logits, np.float64)
    if temperature == 0:
        return int(np.argmax(logits))
    if top_k is not None and top_k < logits.size:
        cut = np.partition(logits, -top_k)[-top_k]
        logits = np.where(logits >= cut, logits, -np.inf)
    z = (logits - logits.max()) / temperature
    p = np.exp(z)
    return int(rng.choice(logits.size, p=p / p.sum()))


def generate(model, prompt_ids, max_new_tokens: int, temperature: float = 0.0, top_k: int | None = None,
             seed: int | None = None, eos_id: int | None = None, uncached: bool = False) -> Generation:
    """Generate up to ``max_new_tokens`` after ``prompt_ids`` with the model's KV cache."""
    run = runner(model, uncached)
    if isinstance(run, OrtStatic) and run.lay.prefill not in (None, 1):
        raise ModelError(f"{model.path.name} takes exactly {run.lay.prefill} tokens per run",
                         "a decode step feeds one token", "export it with a dynamic sequence length "
                         "(export_lm(seq_len=None)) or convert it to TFLite with prefill/decode signatures")
    vocab = getattr(run, "lay", None) and run.lay.vocab
    ids = _prompt(prompt_ids, vocab)
    new = _check_int(max_new_tokens, "max_new_tokens", 1, MAX_NEW_TOKENS)
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 100:
        raise InputError("temperature must be a number in 0..100", f"got {temperature!r}",
                         "pass 0 for greedy decoding or e.g. 0.8 to sample")
    if top_k is not None:
        top_k = _check_int(top_k, "top_k", 1)
    if run.max_prompt is not None and len(ids) > run.max_prompt:
        raise InputError(f"the prompt has {len(ids)} tokens", f"{model.path.name} takes at most {run.max_prompt} "
                         "(its prefill length)", f"shorten the prompt to {run.max_prompt} tokens")
    if run.capacity is not None and len(ids) + new > run.capacity:
        raise InputError(f"a {len(ids)}-token prompt plus max_new_tokens={new} needs {len(ids) + new} positions",
                         f"{model.path.name}'s cache holds {run.capacity}",
                         f"ask for at most {run.capacity - len(ids)} new tokens")
    rng = np.random.default_rng(seed)
    logits = run.prefill(ids)
    out = []
    for i in range(new):
        tok = pick(logits, float(temperature), top_k, rng)
        out.append(tok)
        if tok == eos_id:
            return Generation(tuple(int(t) for t in ids), tuple(out), "eos")
        if i + 1 < new:
            logits = run.decode(tok, len(ids) + i)
    return Generation(tuple(int(t) for t in ids), tuple(out), "length")
