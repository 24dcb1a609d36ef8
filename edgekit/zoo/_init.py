"""Weight initialisation for zoo models: deterministic under torch.manual_seed, BatchNorm non-trivial."""
from __future__ import annotations

import torch
from torch import nn

# A few train-mode passes give BatchNorm running statistics that differ per channel; with a
# cumulative average (momentum=None) two batches of two are enough and cost little at 224 px.
_WARMUP_PASSES = 2
_WARMUP_BATCH = 2


def init_weights(model: nn.Module) -> None:
    """He init for convolutions (as torchvision does), small normal for linear layers, random BN affine."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.uniform_(m.bias, -0.1, 0.1)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0.0, (1.0 / m.in_features) ** 0.5)
            nn.init.uniform_(m.bias, -0.1, 0.1)
        elif isinstance(m, (nn.BatchNorm2d, nn.LayerNorm)):
            # gamma != 1 and beta != 0 so that folding them into a Conv/Gemm is actually checked
            nn.init.uniform_(m.weight, 0.5, 1.5)
            nn.init.uniform_(m.bias, -0.2, 0.2)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, 0.0, 0.5)


@torch.no_grad()
def warm_up_batchnorm(model: nn.Module, input_shape: tuple[int, ...], kind: str) -> None:
    """Run a few train-mode passes on random data so BN running mean/var are per-channel, not 0/1."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    saved = [m.momentum for m in bns]
    for m in bns:
        m.momentum = None  # cumulative average over the warm-up batches
        m.reset_running_stats()
    model.train()
    shape = (_WARMUP_BATCH, *input_shape[1:])
    for _ in range(_WARMUP_PASSES):
        if kind == "tokens":
            model(torch.randint(0, getattr(model, "vocab_size", 2), shape))
        else:
            # mean 0.25, std 1: covers both [0,1]-scaled and mean/std-normalised images (a test input
            # with a much larger spread than the warm-up data blows up through deep stacks), and the
            # offset makes running means non-zero
            model(torch.randn(shape) + 0.25)
    for m, momentum in zip(bns, saved):
        m.momentum = momentum
    model.eval()
