"""The training loop: KD loss, per-epoch validation, best weights kept.

Optimiser: AdamW, linear warm-up then cosine decay.
Loss (Hinton et al. 2015, "Distilling the Knowledge in a Neural Network", eq. 2 and the T^2 note):
    alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(s, y)
The T^2 factor keeps the soft-target gradients the same size when T changes.
"""
from __future__ import annotations

import contextlib
import copy
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class EpochStats:
    epoch: int
    loss: float
    train_accuracy: float | None  # against labels; None for unlabeled data
    val_accuracy: float | None


@contextlib.contextmanager
def deterministic(seed: int, threads: int):
    """Seed torch, force deterministic kernels and a fixed thread count; restore all of it afterwards."""
    import torch

    old_threads = torch.get_num_threads()
    old_det = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(threads)  # float sums are reduced in a thread-count-dependent order
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(old_det)
            torch.set_num_threads(old_threads)


def kd_loss(student_logits, teacher_logits, labels, temperature: float, alpha: float):
    import torch.nn.functional as F

    loss = 0.0
    if alpha > 0:
        t = temperature
        kl = F.kl_div(F.log_softmax(student_logits / t, dim=1), F.log_softmax(teacher_logits / t, dim=1),
                      reduction="batchmean", log_target=True)
        loss = alpha * t * t * kl
    if alpha < 1 and labels is not None:
        loss = loss + (1 - alpha) * F.cross_entropy(student_logits, labels)
    return loss


def accuracy(module, x: np.ndarray, y: np.ndarray, batch: int = 512) -> float:
    import torch

    module.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            pred = module(torch.from_numpy(x[i:i + batch])).argmax(1).numpy()
            correct += int((pred == y[i:i + batch]).sum())
    return correct / len(x)


def _warmup_cosine(steps: int):
    """LR factor: linear warm-up from 0.1 over the first 5% of steps (at most 100), then cosine to 0.

    Short runs (a few epochs on a few thousand images) cannot afford a long warm-up such as
    OneCycle's default 30% starting at lr/25: it spends the first epochs barely learning.
    """
    warm = max(1, min(100, steps // 20))

    def factor(step: int) -> float:
        if step < warm:
            return 0.1 + 0.9 * step / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, steps - warm)))

    return factor


def fit(module, views: list[np.ndarray], teacher_views: list[np.ndarray], labels, val, cfg, seed: int,
        on_epoch=None) -> tuple[object, list[EpochStats], int]:
    """Train ``module`` in place; return (best module, per-epoch stats, best epoch).

    ``views[v]`` are the images of augmented view v and ``teacher_views[v]`` the teacher's logits for
    them. Each epoch shows every image once, in a view drawn from a seeded generator.
    """
    import torch

    from ..ui import progress

    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    n = len(views[0])
    steps = cfg.epochs * -(-n // cfg.batch_size)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _warmup_cosine(steps))
    y_all = None if labels is None else torch.from_numpy(labels)
    x_t = torch.from_numpy(np.stack(views))  # (V, N, C, H, W): one gather per batch
    t_t = torch.from_numpy(np.stack(teacher_views))
    history, best, best_score, best_epoch = [], None, -1.0, 0
    for epoch in range(1, cfg.epochs + 1):
        module.train()
        order = torch.randperm(n, generator=gen)
        which = torch.randint(len(views), (n,), generator=gen)
        total, seen, correct = 0.0, 0, 0
        batches = range(0, n, cfg.batch_size)
        for i in progress(batches, total=len(batches), desc=f"epoch {epoch}/{cfg.epochs}", unit="batch"):
            idx = order[i:i + cfg.batch_size]
            v = which[idx]
            xb, tb = x_t[v, idx], t_t[v, idx]
            yb = None if y_all is None else y_all[idx]
            out = module(xb)
            loss = kd_loss(out, tb, yb, cfg.temperature, cfg.alpha)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
            if yb is not None:
                correct += int((out.argmax(1) == yb).sum())
        val_acc = accuracy(module, val.x, val.y) if val is not None and val.labeled else None
        stats = EpochStats(epoch, total / seen, correct / seen if y_all is not None else None, val_acc)
        history.append(stats)
        if on_epoch:
            on_epoch(stats)
        # With validation: keep the best epoch (ties go to the later one: it trained longer).
        score = val_acc if val_acc is not None else float(epoch)
        if score >= best_score:
            best, best_score, best_epoch = copy.deepcopy(module.state_dict()), score, epoch
    module.load_state_dict(best)
    module.eval()
    return module, history, best_epoch
