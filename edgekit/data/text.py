"""Text data: ``.txt`` (one example per line) and ``.jsonl`` (``text``, optional ``label``) files.

Lines are tokenized by a Hugging Face ``tokenizers`` tokenizer.json (the optional extra ``text``):
the one given, else the one stored in the model (metadata key ``TOKENIZER_KEY``), else the
``tokenizer.json`` of a bundle directory. Each example is padded or truncated to the model's sequence
length; truncation is counted and warned about once per file, never silent. Model inputs named like
the Hugging Face exporters name them are filled: the token ids (``input_ids``, or the model's one
integer input), ``attention_mask`` (1 on tokens, 0 on padding), ``token_type_ids`` (0) and
``position_ids`` (0..n-1).
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ..errors import DataError, DependencyError, EdgekitWarning, InputError
from .sources import Dataset, InputSpec, _fixed, _rr_sample, check_sample

TOKENIZER_KEY = "edgekit.tokenizer"  # metadata key: the tokenizer.json text
TOKENIZER_FILE = "tokenizer.json"    # a bundle's tokenizer
TEXT_SUFFIXES = (".txt", ".jsonl")
TEXT_FIX = "install it with: pip install 'edgekit[text]'"
IDS_NAMES = ("input_ids", "ids", "tokens", "input")


def require_tokenizers():
    try:
        import tokenizers
    except ImportError as exc:
        raise DependencyError("the tokenizers package is not installed", f"text data needs it ({exc})",
                              TEXT_FIX) from None
    return tokenizers


def load_tokenizer(src):
    """A ``tokenizers.Tokenizer`` from a tokenizer.json path, its JSON text, or a Tokenizer (returned as is)."""
    if hasattr(src, "encode_batch"):
        return src
    tk = require_tokenizers()
    path = Path(src) if not (isinstance(src, str) and src.lstrip().startswith("{")) else None
    try:
        if path is None:
            return tk.Tokenizer.from_str(src)
        if not path.is_file():
            raise InputError(f"tokenizer {path} not found", "no such file", "give the path of a tokenizer.json")
        return tk.Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises its own Exception types for malformed JSON
        if isinstance(exc, InputError):
            raise
        where = path or "the stored tokenizer"
        raise DataError(f"cannot read tokenizer {where}", str(exc).splitlines()[0][:200],
                        "give a Hugging Face tokenizer.json (tokenizers.Tokenizer.save)") from exc


def read_metadata(model_path, key: str) -> str | None:
    """The string stored under ``key`` in a model file (edgekit.metadata reads ONNX and TFLite alike)."""
    path = Path(model_path)
    if path.is_dir() or not path.is_file() or path.suffix.lower() not in (".onnx", ".tflite"):
        return None
    from .. import metadata

    return metadata.read(path, key)


def stored_tokenizer(model_path):
    """The tokenizer a model carries (metadata, or a bundle directory's tokenizer.json), or None."""
    path = Path(model_path)
    for place in (path, path.parent):
        if (place / TOKENIZER_FILE).is_file() and place.is_dir() and (place == path or _in_bundle(place)):
            return load_tokenizer(place / TOKENIZER_FILE)
    text = read_metadata(path, TOKENIZER_KEY)
    return load_tokenizer(text) if text else None


def _in_bundle(directory: Path) -> bool:
    return (directory / "edgekit.json").is_file()  # edgekit.runtime.bundle.MANIFEST


def resolve_tokenizer(given, model_path=None):
    """The rule "given > stored in the model or its bundle"; a DataError when there is neither."""
    if given is not None:
        return load_tokenizer(given)
    found = stored_tokenizer(model_path) if model_path is not None else None
    if found is None:
        where = Path(model_path).name if model_path is not None else "the model"
        raise DataError(f"text data needs a tokenizer and {where} stores none",
                        "token ids depend on the tokenizer the model was trained with",
                        "pass --tokenizer tokenizer.json (or tokenizer= in the API)")
    return found


def check_vocab(tokenizer, rows: int | None, model_name: str) -> None:
    """A tokenizer may not produce ids the model's embedding table lacks."""
    size = tokenizer.get_vocab_size(with_added_tokens=True)
    if rows is not None and size > rows:
        raise DataError(f"the tokenizer has {size} tokens but {model_name}'s embedding table has {rows} rows",
                        "ids beyond the table would index past it", "use the tokenizer the model was trained with")


def pad_id(tokenizer) -> int:
    padding = getattr(tokenizer, "padding", None)
    if padding and padding.get("pad_id") is not None:
        return int(padding["pad_id"])
    for tok in ("<pad>", "[PAD]", "<|pad|>"):
        idx = tokenizer.token_to_id(tok)
        if idx is not None:
            return int(idx)
    return 0


def read_examples(path: Path) -> list[tuple[str, object]]:
    """(text, label or None) per non-empty line of a .txt or .jsonl file."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise DataError(f"{path} is not UTF-8 text", str(exc)[:120], "save it as UTF-8") from exc
    if path.suffix.lower() == ".txt":
        return [(line, None) for line in lines if line.strip()]
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path} line {n} is not JSON", exc.msg, "write one JSON object per line") from None
        if not isinstance(row, dict) or not isinstance(row.get("text"), str):
            raise DataError(f"{path} line {n} has no string field 'text'", f"got {line[:60]!r}",
                            'write {"text": "...", "label": ...} per line')
        out.append((row["text"], row.get("label")))
    return out


def _label_classes(labels: list) -> tuple[list[str] | None, list[int | None]]:
    given = [lab for lab in labels if lab is not None]
    if not given:
        return None, [None] * len(labels)
    if len(given) != len(labels):
        raise DataError("some examples have a label and some do not", f"{len(labels) - len(given)} lack one",
                        "label every line, or none")
    if all(isinstance(lab, int) and not isinstance(lab, bool) and lab >= 0 for lab in given):
        return [str(c) for c in range(max(given) + 1)], list(given)
    names = sorted({str(lab) for lab in given})  # sorted, as class folders are
    return names, [names.index(str(lab)) for lab in given]


def ids_input(specs: list[InputSpec]) -> InputSpec:
    ints = [s for s in specs if s.dtype is None or s.dtype.kind in "iu"]
    for s in ints:
        if s.name in IDS_NAMES:
            return s
    if len(ints) == 1:
        return ints[0]
    raise DataError("cannot tell which model input takes the token ids",
                    f"inputs: {', '.join(s.name for s in specs)}", "name it input_ids")


class TextDataset(Dataset):
    """Lines of a .txt/.jsonl tokenized to the model's sequence length; labels from .jsonl ``label``."""

    def __init__(self, path: Path, specs, tokenizer, calib_size, seed, strict, rows: int | None = None):
        super().__init__(str(path), specs, strict)
        self.tokenizer = resolve_tokenizer(tokenizer)
        check_vocab(self.tokenizer, rows, "the model")
        self.ids_spec = ids_input(specs)
        known = {self.ids_spec.name, "attention_mask", "token_type_ids", "position_ids"}
        other = [s.name for s in specs if s.name not in known]
        if other:
            raise DataError(f"{path} is text but the model also takes {', '.join(other)}",
                            "only token ids, attention_mask, token_type_ids and position_ids come from text",
                            "give a .npz with one array per input (or the un-cached graph of an LM)")
        examples = read_examples(path)
        if not examples:
            raise DataError(f"text file {path} is empty", "it holds no non-blank lines", "point --data at real text")
        self.classes, labels = _label_classes([lab for _, lab in examples])
        groups = ([[i for i, lab in enumerate(labels) if lab == c] for c in range(len(self.classes))]
                  if self.classes else [list(range(len(examples)))])
        self.index = [int(i) for i in _rr_sample(groups, calib_size, seed)]
        self.count = len(self.index)
        self.labels = labels
        self.ids, self.lengths = self._encode([examples[i][0] for i in self.index])

    @property
    def seq_len(self) -> int | None:
        shape = self.ids_spec.shape
        return int(shape[1]) if shape is not None and len(shape) == 2 and _fixed(shape[1]) else None

    def _encode(self, texts: list[str]) -> tuple[list[np.ndarray], list[int]]:
        encoded = [np.asarray(e.ids, dtype=np.int64) for e in self.tokenizer.encode_batch(texts)]
        n = self.seq_len
        if n is None:
            return encoded, [len(e) for e in encoded]
        long = sum(len(e) > n for e in encoded)
        if long:
            warnings.warn(f"{self.origin}: {long} of {len(encoded)} example(s) are longer than the model's "
                          f"{n} tokens and were truncated", EdgekitWarning, stacklevel=3)
        pad = pad_id(self.tokenizer)
        out, lengths = [], []
        for e in encoded:
            e = e[:n]
            lengths.append(len(e))
            out.append(np.concatenate([e, np.full(n - len(e), pad, np.int64)]))
        return out, lengths

    def _items(self):
        names = {s.name for s in self.specs}
        for i, ids, length in zip(self.index, self.ids, self.lengths):
            feeds = {self.ids_spec.name: ids[None]}
            if "attention_mask" in names:
                feeds["attention_mask"] = (np.arange(len(ids)) < length).astype(np.int64)[None]
            if "token_type_ids" in names:
                feeds["token_type_ids"] = np.zeros((1, len(ids)), np.int64)
            if "position_ids" in names:
                feeds["position_ids"] = np.arange(len(ids), dtype=np.int64)[None]
            yield check_sample(feeds, self.specs, f"{self.origin} line {i + 1}"), self.labels[i]


def token_stream(path, tokenizer) -> np.ndarray:
    """All examples of a text file tokenized and joined into one id sequence (perplexity's input)."""
    tok = load_tokenizer(tokenizer)
    examples = read_examples(Path(path))
    if not examples:
        raise DataError(f"text file {path} is empty", "it holds no non-blank lines", "point --data at real text")
    eos = next((tok.token_to_id(t) for t in ("</s>", "<|endoftext|>", "<eos>") if tok.token_to_id(t) is not None), None)
    parts = []
    for e in tok.encode_batch([text for text, _ in examples]):
        parts.append(np.asarray(e.ids, dtype=np.int64))
        if eos is not None:
            parts.append(np.asarray([eos], np.int64))
    return np.concatenate(parts)


def train_tokenizer(lines, vocab_size: int = 512):
    """A byte-level BPE tokenizer (GPT-2's scheme) trained on ``lines``; ids 0 and 1 are <pad> and </s>.

    Byte-level: any UTF-8 text encodes (no unknown token) and decoding restores the spaces.
    Deterministic for the same lines and size.
    """
    tk = require_tokenizers()
    from tokenizers import decoders, models, pre_tokenizers, trainers

    if not isinstance(vocab_size, int) or not 260 <= vocab_size <= 1 << 17:
        raise InputError(f"vocab_size {vocab_size!r} is out of range", "byte-level BPE needs 256 bytes + 2 specials",
                         "pass 260 <= vocab_size <= 131072")
    tok = tk.Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<pad>", "</s>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(list(lines), trainer)
    return tok


def embedding_rows(model_path) -> int | None:
    """Rows of the table the token ids index: an ONNX Gather of an initializer by a graph input, else the
    vocabulary of an ``edgekit.lm`` config; None when neither is found (a TFLite file without it)."""
    path = Path(model_path)
    meta = read_metadata(path, "edgekit.lm")
    if meta:
        try:
            return int(json.loads(meta)["vocab_size"])
        except (ValueError, KeyError, TypeError):
            pass
    if path.suffix.lower() != ".onnx" or not path.is_file():
        return None
    from .model import load_onnx

    graph = load_onnx(path).graph
    inputs = {i.name for i in graph.input}
    inits = {i.name: i for i in graph.initializer}
    for node in graph.node:
        if node.op_type == "Gather" and len(node.input) == 2 and node.input[1] in inputs and node.input[0] in inits:
            return int(inits[node.input[0]].dims[0])
    return None


def text_source(path, model, tokenizer=None, *, calib_size: int | None = None, seed: int = 0) -> TextDataset:
    """A .txt/.jsonl file as a data source for ``model`` (a path): its inputs, its stored tokenizer unless
    one is given, its embedding size checked. Pass it wherever edgekit takes data, e.g.
    ``edgekit.quantize("clf.onnx", "clf-int8.onnx", calib=text_source("cal.jsonl", "clf.onnx"), scheme="w8a8")``."""
    from .model import model_inputs

    return TextDataset(Path(path), model_inputs(model), resolve_tokenizer(tokenizer, model), calib_size, seed,
                       False, embedding_rows(model))
