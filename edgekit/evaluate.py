"""``edgekit.evaluate``: accuracy on labeled data and fidelity against a reference model.

Works on .onnx and .tflite alike through ``edgekit.load``. Each model gets its own preprocessing
(the given spec adapted to its layout, else the spec stored in it, else its input shape), so a float
ONNX model and its NHWC TFLite conversion can be compared on the same images.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError, InputError


@dataclass(frozen=True)
class OutputError:
    sqnr_db: float
    max_abs_error: float


@dataclass(frozen=True)
class EvalResult:
    """Accuracies and agreement in percent (0..100); SQNR/max error of the first output vs the reference."""
    model: str
    samples: int
    top1: float | None = None
    top5: float | None = None
    agreement: float | None = None
    sqnr_db: float | None = None
    max_abs_error: float | None = None
    per_output: dict = field(default_factory=dict)  # output name -> OutputError
    skipped: int = 0
    preprocess: str | None = None         # what was done to the data (edgekit.data.spec.describe)
    preprocess_origin: str | None = None  # "given", "stored in the model" or "defaults"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["per_output"] = {k: asdict(v) for k, v in self.per_output.items()}
        return d


def stored_spec(model):
    """The spec stored in a loaded model (ONNX metadata_props or TFLite metadata), or None.

    edgekit convert (float and quantized) copies the spec into the TFLite metadata: without reading it
    back, a TFLite model calibrated with --mean/--std would be evaluated on differently scaled data."""
    from .metadata import read_spec

    return read_spec(model.path)


def model_spec(model, spec=None):
    """The preprocessing spec for one loaded model: the rule of ``edgekit.data.spec.resolve_spec``."""
    return resolve_model_spec(model, spec)[0]


def resolve_model_spec(model, spec=None):
    """(spec, origin) for one loaded model: ``spec`` adapted to its input, else stored, else defaults."""
    from .data import spec_for_input
    from .data.spec import resolve_spec

    info = model.inputs[0]
    # open dims (dynamic H/W) have no natural size: the spec given or stored must say it (the batch dim,
    # index 0, is always run with 1)
    natural = spec_for_input(_open_shape(info), "float32" if _quantized(info) else info.dtype.name)
    return resolve_spec(natural, spec, stored_spec(model) if spec is None else None)


def _quantized(info) -> bool:
    return getattr(info, "scale", None) is not None


def open_for(model, data, spec=None, tokenizer=None, **kw):
    from .data import InputSpec, open_source
    from .data.text import TEXT_SUFFIXES

    if isinstance(data, (str, Path)) and Path(data).suffix.lower() in TEXT_SUFFIXES:
        from .data.text import embedding_rows, resolve_tokenizer

        kw.update(tokenizer=resolve_tokenizer(tokenizer, model.path), vocab_rows=embedding_rows(model.path))

    # An integer interface (TFLite --io int8|uint8) takes the same float data as the float model:
    # Model.run quantizes float arrays with the input's scale and zero point, so the data layer must
    # not insist on the integer dtype (None: any numeric array; raw integers pass through unchanged).
    inputs = [InputSpec(i.name, _open_shape(i), None if _quantized(i) else i.dtype) for i in model.inputs]
    return open_source(data, model_spec(model, spec), inputs, **kw)


def _open_shape(info) -> tuple:
    """The input's shape with None at the dims the model leaves open (the batch dim stays 1)."""
    return tuple(None if i in info.dynamic and i > 0 else d for i, d in enumerate(info.shape))


def _check_labels(model, ds) -> None:
    if not ds.labeled:
        return
    from .data.labels import align_folder_labels

    n_out = int(np.prod(model.outputs[0].shape))
    if align_folder_labels(model, ds, n_out):  # class folders named after the model's stored labels
        return
    if len(ds.classes) > n_out:
        shown = ", ".join(ds.classes[n_out:n_out + 3])
        raise DataError(f"the data has {len(ds.classes)} classes but {Path(model.path).name} outputs {n_out} scores",
                        f"labels {shown}... have no output the model can give",
                        "evaluate on the classes the model was trained on (same sorted folder names)")


def _as_loaded(m):
    from .runtime import Model, load

    return m if isinstance(m, Model) else load(m)


def _stream(model, ds):
    for feeds, label in ds:
        yield model.run(feeds), label


def evaluate(models, data, reference=None, spec=None, *, limit: int | None = None,
             tokenizer=None) -> list[EvalResult]:
    """Evaluate each model on ``data`` (folder, .npy/.npz, .txt/.jsonl, iterable); compare with ``reference``
    if given. Text is tokenized by ``tokenizer`` (given > stored in the model or its bundle)."""
    from .ui import progress

    if isinstance(models, (str, Path)) or hasattr(models, "run"):
        models = [models]
    loaded = [_as_loaded(m) for m in models]
    if not loaded:
        raise InputError("no model to evaluate", "the list is empty", "pass one or more model paths")
    ref = _as_loaded(reference) if reference is not None else None
    results = []
    for model in loaded:
        used, origin = resolve_model_spec(model, spec)
        _warn_defaults(used, origin, Path(model.path).name)
        ds = open_for(model, data, spec, tokenizer, calib_size=limit)
        if not ds.labeled and ref is None:
            raise DataError(f"the data {data} has no labels and no reference model was given",
                            "there is nothing to score the model against", "give labeled data (one subfolder "
                            "per class, or 'labels' in the .npz) or a reference model (--reference MODEL)")
        _check_labels(model, ds)
        ref_ds = open_for(ref, data, _shared_spec(model, ref, spec), tokenizer or getattr(ds, "tokenizer", None),
                          calib_size=limit) if ref is not None else None
        acc = _Accumulator(model, ref)
        pairs = zip(_stream(model, ds), _stream(ref, ref_ds)) if ref is not None else \
            ((item, (None, None)) for item in _stream(model, ds))
        for (outs, label), (ref_outs, _) in progress(pairs, total=ds.count, desc=f"eval {Path(model.path).name}"):
            acc.add(outs, label, ref_outs)
        from dataclasses import replace

        from .data.spec import describe

        results.append(replace(acc.result(str(model.path), ds.skipped), preprocess=describe(used),
                               preprocess_origin=origin))
    return results


def _warn_defaults(spec, origin: str, name: str) -> None:
    import warnings

    from .data.spec import defaults_warning
    from .errors import EdgekitWarning

    note = defaults_warning(spec, origin, name)
    if note:
        warnings.warn(note, EdgekitWarning, stacklevel=3)


def _shared_spec(model, ref, spec):
    """The reference sees the same images as the model: the given spec, else the model's stored one, else
    the reference's stored one (a float source has none: quantize stores the spec in its output only)."""
    if spec is not None:
        return spec
    return stored_spec(model) or stored_spec(ref)


class _Accumulator:
    def __init__(self, model, ref):
        self.names = [o.name for o in model.outputs]
        self.ref_names = [o.name for o in ref.outputs] if ref is not None else []
        self.n = self.top1 = self.top5 = self.labeled = self.agree = 0
        self.sig = np.zeros(len(self.names))
        self.err = np.zeros(len(self.names))
        self.max_err = np.zeros(len(self.names))

    def add(self, outs: dict, label, ref_outs: dict | None):
        self.n += 1
        scores = np.asarray(outs[self.names[0]], dtype=np.float64).ravel()
        if label is not None:
            self.labeled += 1
            self.top1 += int(np.argmax(scores) == label)
            k = min(5, scores.size)
            self.top5 += int(label in np.argpartition(-scores, k - 1)[:k])
        if ref_outs is None:
            return
        for i, (name, ref_name) in enumerate(zip(self.names, self.ref_names)):
            y = np.asarray(outs[name], dtype=np.float64).ravel()
            r = np.asarray(ref_outs[ref_name], dtype=np.float64).ravel()
            if y.size != r.size:
                raise DataError(f"output {name!r} has {y.size} values but the reference's {ref_name!r} has {r.size}",
                                "the models do not compute the same thing", "compare a model with its own source")
            self.sig[i] += float(np.sum(r * r))
            self.err[i] += float(np.sum((r - y) ** 2))
            self.max_err[i] = max(self.max_err[i], float(np.max(np.abs(r - y))) if r.size else 0.0)
            if i == 0:
                self.agree += int(np.argmax(y) == np.argmax(r))

    def result(self, path: str, skipped: int) -> EvalResult:
        pct = lambda k, n: 100.0 * k / n if n else None  # noqa: E731
        per = {}
        if self.ref_names:
            for i, name in enumerate(self.names[:len(self.ref_names)]):
                per[name] = OutputError(_sqnr(self.sig[i], self.err[i]), float(self.max_err[i]))
        first = per.get(self.names[0])
        return EvalResult(model=path, samples=self.n, top1=pct(self.top1, self.labeled),
                          top5=pct(self.top5, self.labeled), agreement=pct(self.agree, self.n) if per else None,
                          sqnr_db=first.sqnr_db if first else None, max_abs_error=first.max_abs_error if first else None,
                          per_output=per, skipped=skipped)


def _sqnr(signal: float, noise: float) -> float:
    # 10*log10(sum r^2 / sum (r-y)^2); identical outputs give +inf, reported as such (JSON: Infinity)
    if noise == 0:
        return math.inf
    if signal == 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def predictions(model, ds) -> tuple[np.ndarray, list]:
    """Top-1 class of the first output per sample, and the labels (used by the accuracy-aware fallback)."""
    preds, labels = [], []
    for outs, label in _stream(model, ds):
        preds.append(int(np.argmax(outs[model.outputs[0].name])))
        labels.append(label)
    return np.asarray(preds), labels



# ------------------------------------------------------------------------------------ language models
@dataclass(frozen=True)
class PerplexityResult:
    """Per-token perplexity = exp(mean negative log-likelihood in nats) over ``tokens`` scored tokens.

    Windows of ``context`` tokens start every ``stride`` tokens; each scores only the tokens no earlier
    window scored, so every token after the first is scored once, with up to ``context - stride``
    tokens of history before it (Hugging Face's sliding-window evaluation).
    """
    model: str
    tokens: int
    context: int
    stride: int
    nll: float
    perplexity: float

    def to_dict(self) -> dict:
        return asdict(self)


def is_lm(model) -> bool:
    """A loaded model whose ``logits`` output is (1, sequence, vocab) and which takes ``input_ids``."""
    names = {i.name for i in model.inputs}
    out = next((o for o in model.outputs if o.name == "logits"), None)
    return out is not None and len(out.shape) == 3 and bool(names & {"input_ids", "ids", "tokens"})


def perplexity(models, data, tokenizer=None, *, context: int | None = None, stride: int | None = None,
               limit: int | None = None) -> list[PerplexityResult]:
    """Perplexity of each LM on the text file ``data`` (.txt/.jsonl), tokenized by ``tokenizer``
    (given > stored in the first model); ``limit`` caps the scored tokens."""
    from .data.text import check_vocab, resolve_tokenizer, token_stream
    from .runtime.generate import runner
    from .ui import progress

    if isinstance(models, (str, Path)) or hasattr(models, "run"):
        models = [models]
    loaded = [_as_loaded(m) for m in models]
    if not loaded:
        raise InputError("no model to evaluate", "the list is empty", "pass one or more model paths")
    tok = resolve_tokenizer(tokenizer, loaded[0].path)
    ids = token_stream(data, tok)
    if limit is not None:
        ids = ids[:max(2, int(limit) + 1)]
    results = []
    for model in loaded:
        if not is_lm(model):
            raise InputError(f"{Path(model.path).name} is not a language model",
                             "perplexity needs an input_ids input and a (1, sequence, vocab) logits output",
                             "evaluate classifiers without --context/--stride on labeled data")
        run = runner(model, uncached=not _has_cache(model))
        vocab = next(o for o in model.outputs if o.name == "logits").shape[-1]
        check_vocab(tok, vocab, Path(model.path).name)
        ctx, step = _window(run, context, stride, Path(model.path).name)
        nll, n = 0.0, 0
        starts = range(0, max(1, len(ids) - 1), step)
        scored_to = 1  # token 0 has no history and is never scored
        for begin in progress(starts, total=len(starts), desc=f"perplexity {Path(model.path).name}"):
            end = min(begin + ctx, len(ids))
            logits = np.asarray(run.window(ids[begin:end]), np.float64)
            first = max(scored_to, begin + 1)  # position of the first target this window scores
            z = logits[first - begin - 1:end - begin - 1]
            z = z - z.max(axis=1, keepdims=True)
            logp = z[np.arange(len(z)), ids[first:end]] - np.log(np.exp(z).sum(axis=1))
            nll, n = nll - float(logp.sum()), n + len(logp)
            scored_to = end
            if end == len(ids):
                break
        results.append(PerplexityResult(str(model.path), n, ctx, step, nll / n, math.exp(nll / n)))
    return results


def _has_cache(model) -> bool:
    names = {i.name for i in model.inputs}
    tflite_sigs = getattr(getattr(model._backend, "interpreter", None), "get_signature_list", dict)()
    return any(n.startswith("past_key_values.") for n in names) or {"prefill", "decode"} <= set(tflite_sigs)


def _window(run, context, stride, name: str) -> tuple[int, int]:
    longest = run.max_prompt
    if context is None:
        if longest is None:
            raise InputError(f"{name} takes sequences of any length", "perplexity needs a context length",
                             "pass --context N (e.g. the length the model was trained on)")
        context = longest
    if isinstance(context, bool) or not isinstance(context, int) or context < 2 or (longest and context > longest):
        raise InputError(f"context {context!r} is out of range", f"{name} takes 2..{longest or 'any'} tokens",
                         f"pass --context {longest or 128}")
    stride = context // 2 if stride is None else stride
    if isinstance(stride, bool) or not isinstance(stride, int) or not 1 <= stride <= context:
        raise InputError(f"stride {stride!r} is out of range", f"it must be 1..{context} (the context)",
                         f"pass --stride {context // 2}")
    return context, stride
