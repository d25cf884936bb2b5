"""A plain PyTorch training loop with a progress bar, a fixed amount of work and a history.

>>> history = fit(model, (x_train, y_train), epochs=budget(3), val=(x_val, y_val))
>>> history.val_accuracy[-1]

The loop does exactly ``epochs`` passes over the data (fractional passes end mid-epoch) and
evaluates after each epoch and once at the end. It is seeded, so the same call prints the same
figures on any machine; only the time (shown in the bar with an ETA) depends on the machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from course.i18n import tr

__all__ = ["History", "evaluate", "fit", "predict"]

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass
class History:
    """What happened while training: one entry per evaluation (each epoch and at the end)."""

    steps: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epochs_done: float = 0.0


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, *, batch_size: int = 1000) -> torch.Tensor:
    """Model outputs for `x` (N, ...) computed in batches in eval mode: (N, ...)."""
    was_training = model.training
    model.eval()
    out = torch.cat([model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)])
    model.train(was_training)
    return out


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, loss_fn: Loss | None = None) -> tuple[float, float]:
    """Mean loss and accuracy of a classifier on (x (N, ...), y (N,) class indices)."""
    logits = predict(model, x)
    loss = (loss_fn or nn.functional.cross_entropy)(logits, y)
    return float(loss), float((logits.argmax(dim=1) == y).float().mean())


def fit(
    model: nn.Module,
    train: tuple[torch.Tensor, torch.Tensor],
    *,
    optimizer: torch.optim.Optimizer | None = None,
    loss_fn: Loss | None = None,
    epochs: float = 10,
    batch_size: int = 64,
    val: tuple[torch.Tensor, torch.Tensor] | None = None,
    seed: int = 0,
    desc: str | None = None,
    progress: bool = True,
) -> History:
    """Train a classifier with mini-batch SGD-style updates.

    Args:
        model: maps x (B, ...) to logits (B, classes).
        train: (x (N, ...), y (N,) int64 labels).
        optimizer: defaults to Adam with learning rate 1e-3.
        loss_fn: defaults to cross-entropy on logits.
        epochs: passes over the data (may be fractional).
        val: held-out (x, y) evaluated after each epoch and at the end.
        seed: shuffling seed.
        desc: the progress bar's label (default: "training").
        progress: show a tqdm bar (works in JupyterLab and terminals).
    """
    loss_fn = loss_fn or nn.functional.cross_entropy
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = train
    n = len(x)
    steps_per_epoch = max(1, -(-n // batch_size))
    total = max(1, round(epochs * steps_per_epoch))
    generator = torch.Generator().manual_seed(seed)
    history = History()
    start = time.perf_counter()
    running, seen, step = 0.0, 0, 0

    def record() -> None:
        history.steps.append(step)
        history.seconds.append(time.perf_counter() - start)
        history.train_loss.append(running / max(seen, 1))
        if val is not None:
            vl, va = evaluate(model, *val, loss_fn=loss_fn)
            history.val_loss.append(vl)
            history.val_accuracy.append(va)

    model.train()
    bar = tqdm(
        total=total, desc=tr("training") if desc is None else desc, unit=tr("batch"), disable=not progress, leave=True
    )
    order = torch.randperm(n, generator=generator)
    while step < total:
        pos = (step % steps_per_epoch) * batch_size
        if pos == 0 and step:
            order = torch.randperm(n, generator=generator)
        idx = order[pos : pos + batch_size]
        optimizer.zero_grad()
        loss = loss_fn(model(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
        running += loss.item() * len(idx)
        seen += len(idx)
        step += 1
        bar.update(1)
        if step % steps_per_epoch == 0:
            record()
            running, seen = 0.0, 0
            figures = {tr("loss"): f"{history.train_loss[-1]:.3f}"}
            if val is not None:
                figures[tr("val_acc")] = f"{history.val_accuracy[-1]:.3f}"
            bar.set_postfix(figures)
    if not history.steps or history.steps[-1] != step:
        record()
    bar.close()
    history.epochs_done = step / steps_per_epoch
    return history
