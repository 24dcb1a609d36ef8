"""Tiny random-weight transformer exports (HF transformers / timm) for converter benchmarks and checks.

``export(spec, exporter, out_dir) -> Path`` writes one ONNX file with static shapes (sequence length
SEQ, batch 1) from ``torch.onnx.export`` (``exporter`` "torchscript" = dynamo=False, or "dynamo").
A decoder ``spec`` with ``cache=True`` exports one decode step: ``input_ids`` of one token, an
attention mask, and ``past_key_values`` of PAST tokens as inputs and the updated cache as outputs.
Weights are random (seeded): nothing is downloaded. Needs torch, transformers and onnxscript (the
dynamo exporter); timm only for ``swin-timm``. ``dynamic=True`` marks the sequence axis of text inputs
dynamic (TorchScript ``dynamic_axes``), as users' exports often do: convert with ``--shape``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SEQ, PAST = 16, 8


@dataclass(frozen=True)
class Spec:
    name: str
    family: str          # bert | distilbert | minilm | vit | deit | mobilevit | swin(-timm) | gpt2 | llama | qwen2
    cache: bool = False  # decoder: one decode step with past_key_values
    dynamic: bool = False  # text input: sequence axis dynamic (TorchScript dynamic_axes)


SPECS = [Spec("bert", "bert"), Spec("distilbert", "distilbert"), Spec("minilm", "minilm"),
         Spec("vit", "vit"), Spec("deit", "deit"), Spec("mobilevit", "mobilevit"), Spec("swin", "swin"),
         Spec("gpt2", "gpt2"), Spec("gpt2-kv", "gpt2", cache=True),
         Spec("llama", "llama"), Spec("llama-kv", "llama", cache=True),
         Spec("qwen2", "qwen2"), Spec("qwen2-kv", "qwen2", cache=True),
         Spec("bert-dynseq", "bert", dynamic=True), Spec("llama-dynseq", "llama", dynamic=True),
         Spec("swin-timm", "swin-timm")]


def _text_classifier(family: str):
    import transformers as T

    if family == "distilbert":
        cfg = T.DistilBertConfig(vocab_size=128, dim=32, n_layers=2, n_heads=2, hidden_dim=64, num_labels=3)
        return T.DistilBertForSequenceClassification(cfg)
    width = 24 if family == "minilm" else 32   # MiniLM: the BERT architecture, narrow and deeper
    cfg = T.BertConfig(vocab_size=128, hidden_size=width, num_hidden_layers=3 if family == "minilm" else 2,
                       num_attention_heads=2, intermediate_size=2 * width, max_position_embeddings=64, num_labels=3)
    return T.BertForSequenceClassification(cfg)


def _vision(family: str):
    """HF transformers models (timm needs torchvision, which has no CPU build for the torch this
    project pins); ``swin-timm`` uses timm when it is importable (its TorchScript export is the one
    that needed fixed-point folding)."""
    import transformers as T

    if family == "swin-timm":
        import timm

        model = timm.create_model("swin_tiny_patch4_window7_224", pretrained=False, embed_dim=16, depths=(2, 2, 2, 2),
                                  num_heads=(1, 2, 2, 4), num_classes=5)
        return model, (1, 3, 224, 224)
    if family == "mobilevit":
        cfg = T.MobileViTConfig(image_size=64, hidden_sizes=[16, 24, 32], neck_hidden_sizes=[8, 8, 16, 16, 24, 32, 64],
                                num_attention_heads=2, num_labels=5)
        return _Logits1(T.MobileViTForImageClassification(cfg)), (1, 3, 64, 64)
    if family == "swin":
        cfg = T.SwinConfig(image_size=56, patch_size=4, embed_dim=16, depths=[2, 2], num_heads=[1, 2], window_size=7,
                           num_labels=5)
        return _Logits1(T.SwinForImageClassification(cfg)), (1, 3, 56, 56)
    common = dict(image_size=64, patch_size=16, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                  intermediate_size=64, num_labels=5)
    if family == "deit":
        return _Logits1(T.DeiTForImageClassification(T.DeiTConfig(**common))), (1, 3, 64, 64)
    return _Logits1(T.ViTForImageClassification(T.ViTConfig(**common))), (1, 3, 64, 64)


class _Logits1:
    """A vision model returning its logits tensor only."""

    def __new__(cls, model):
        import torch

        class Step(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, pixel_values):
                return self.model(pixel_values=pixel_values).logits

        return Step()


def _decoder(family: str):
    import transformers as T

    if family == "gpt2":
        cfg = T.GPT2Config(vocab_size=128, n_positions=64, n_embd=32, n_layer=4, n_head=2)
        return T.GPT2LMHeadModel(cfg)
    common = dict(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=4, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=64)
    if family == "llama":
        return T.LlamaForCausalLM(T.LlamaConfig(**common))
    return T.Qwen2ForCausalLM(T.Qwen2Config(**common))


class _Logits:
    """Wraps a HF model so the graph takes (input_ids, attention_mask) by name and returns the logits
    (GPT-2's second positional argument is past_key_values)."""

    def __new__(cls, model):
        import torch

        class Step(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask):
                return self.model(input_ids=input_ids, attention_mask=attention_mask).logits

        return Step()


class _DecodeStep:
    """Wraps a causal LM so the exported graph has flat cache inputs/outputs (past_k_i, past_v_i)."""

    def __new__(cls, model, layers):
        import torch

        class Step(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, *past):
                from transformers.cache_utils import DynamicCache

                cache = DynamicCache()
                for i in range(layers):
                    cache.update(past[2 * i], past[2 * i + 1], i)
                out = self.model(input_ids=input_ids, attention_mask=attention_mask, past_key_values=cache,
                                 use_cache=True)
                flat = []
                for layer in out.past_key_values.layers:
                    flat += [layer.keys, layer.values]
                return (out.logits, *flat)

        return Step()


def _perturb(model) -> None:
    """Give constant parameters (zero biases, unit norm scales) seeded noise: HF's init leaves some
    models' outputs identically zero (MobileViT's logits), which would make any converter 'exact'."""
    import torch

    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.numel() > 1 and float(p.std()) == 0.0 or p.numel() == 1:
                p.add_(0.1 * torch.randn(p.shape, generator=gen))
        for name, b in model.named_buffers():
            if name.endswith("running_var"):
                b.copy_(0.5 + torch.rand(b.shape, generator=gen))
            elif name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=gen))


def build(spec: Spec):
    """(module, example inputs tuple, input names, output names) for ``spec``."""
    module, args, in_names, out_names = _build(spec)
    _perturb(module)
    return module.eval(), args, in_names, out_names


def _build(spec: Spec):
    import torch

    torch.manual_seed(0)
    if spec.family in ("bert", "distilbert", "minilm"):
        model = _Logits(_text_classifier(spec.family).eval())
        ids = torch.randint(0, 128, (1, SEQ))
        mask = torch.ones(1, SEQ, dtype=torch.int64)
        return model, (ids, mask), ["input_ids", "attention_mask"], ["logits"]
    if spec.family in ("vit", "deit", "mobilevit", "swin", "swin-timm"):
        model, shape = _vision(spec.family)
        return model.eval(), (torch.randn(*shape),), ["pixel_values"], ["logits"]
    model = _decoder(spec.family).eval()
    model.config.use_cache = spec.cache
    if not spec.cache:
        ids = torch.randint(0, 128, (1, SEQ))
        return _Logits(model), (ids, torch.ones(1, SEQ, dtype=torch.int64)), ["input_ids", "attention_mask"], ["logits"]
    cfg = model.config
    layers = cfg.num_hidden_layers if hasattr(cfg, "num_hidden_layers") else cfg.n_layer
    heads = getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = cfg.hidden_size // cfg.num_attention_heads
    past = []
    for _ in range(layers):
        past += [torch.randn(1, heads, PAST, head_dim), torch.randn(1, heads, PAST, head_dim)]
    ids = torch.randint(0, 128, (1, 1))
    mask = torch.ones(1, PAST + 1, dtype=torch.int64)
    names = ["input_ids", "attention_mask"] + [f"past_{kv}_{i}" for i in range(layers) for kv in "kv"]
    outs = ["logits"] + [f"present_{kv}_{i}" for i in range(layers) for kv in "kv"]
    return _DecodeStep(model, layers), (ids, mask, *past), names, outs


def export(spec: Spec, exporter: str, out_dir) -> Path:
    import warnings

    import torch

    if spec.dynamic and exporter != "torchscript":
        raise ValueError("dynamic specs are exported with the TorchScript exporter only")
    model, args, in_names, out_names = build(spec)
    path = Path(out_dir) / f"{spec.name}-{exporter}.onnx"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            axes = {n: {1: "seq"} for n in ("input_ids", "attention_mask")} if spec.dynamic else None
            torch.onnx.export(model, args, str(path), dynamo=False, opset_version=17, input_names=in_names,
                              output_names=out_names, dynamic_axes=axes)
        else:
            torch.onnx.export(model, args, str(path), dynamo=True, opset_version=18, input_names=in_names,
                              output_names=out_names, external_data=False, verbose=False)
    return path


if __name__ == "__main__":
    import sys

    out = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for s in SPECS:
        for e in ("torchscript", "dynamo"):
            try:
                print(export(s, e, out))
            except Exception as exc:  # report and go on: this is a survey
                print(f"{s.name} {e}: export failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
