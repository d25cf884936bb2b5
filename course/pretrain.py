"""Train the digit classifier that scores generated samples: ``python -m course.pretrain``.

Trains :class:`course.classifier.DigitClassifier` from a fixed seed on the course's 20,000
MNIST training digits (with random shifts of up to 2 pixels), reports its accuracy on the
10,000 test digits, writes ``data/digit_classifier.pt`` (a float32 state_dict) and prints the
line to put in ``data/SHA256SUMS``.

The classifier scores generated digits, and early generators draw blobs, speckle and ghostly
blends of two digits. An ordinary classifier is confidently wrong on such images (uniform noise
is "an 8 with probability 1"), which would make its confidence useless as a score. So every
batch also holds non-digits (see :func:`non_digits`) whose target is the uniform distribution
over the ten classes ("outlier exposure", Hendrycks et al., 2019): the classifier learns to say
"I don't know" on them.

Every random choice comes from seed 0 and training runs on 2 threads, so the recipe is fixed;
the bytes of the result are not guaranteed: another CPU, thread count or torch version rounds
differently, and retraining then gives an equally good model whose checksum differs (replace
the line in SHA256SUMS with the printed one). Training takes roughly 8 CPU-minutes.

Options: ``--epochs N`` (default 6), ``--output PATH`` (default ``data/digit_classifier.pt``).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .classifier import WEIGHTS, DigitClassifier
from .data import data_dir, load_mnist, save_weights

SEED = 0
BATCH = 128
LR = 3e-3
OUTLIERS = 32  # non-digits per batch of 128 digits
OUTLIER_WEIGHT = 0.5


def random_shift(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Shift each image of (B, 1, 28, 28) by up to `max_shift` pixels in x and y (zero fill)."""
    b, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4)
    dx = torch.randint(0, 2 * max_shift + 1, (b,), generator=generator)
    dy = torch.randint(0, 2 * max_shift + 1, (b,), generator=generator)
    rows = (dy[:, None] + torch.arange(h)[None, :])[:, None, :, None]
    rows = rows.expand(b, 1, h, w + 2 * max_shift)
    out = padded.gather(2, rows)
    cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, None, :].expand(b, 1, h, w)
    return out.gather(3, cols)


def non_digits(x: torch.Tensor, y: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    """`n` images (n, 1, 28, 28) in [0, 1] that are not digits, of five kinds in equal shares.

    Constant grey levels; uniform or sparse noise; Gaussian blobs; the average of two training
    digits of different classes; training digits with their pixels shuffled.
    """

    def rand(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator)

    kind = torch.randint(0, 5, (n,), generator=generator)
    level = rand(n, 1, 1, 1)
    constant = level.expand(n, 1, 28, 28)
    noise = torch.where(rand(n, 1, 1, 1) < 0.5, rand(n, 1, 28, 28) * level, (rand(n, 1, 28, 28) < level * 0.3).float())
    grid = torch.arange(28.0)
    cy, cx = 6 + 16 * rand(n, 1, 1, 1), 6 + 16 * rand(n, 1, 1, 1)
    width = 2 + 8 * rand(n, 1, 1, 1)
    blob = torch.exp(-((grid[:, None] - cy) ** 2 + (grid[None, :] - cx) ** 2) / (2 * width**2))
    i, j = (torch.randint(0, len(x), (n,), generator=generator) for _ in range(2))
    j = torch.where(y[i] == y[j], torch.randint(0, len(x), (n,), generator=generator), j)
    w = 0.4 + 0.2 * rand(n, 1, 1, 1)
    blend = w * x[i] + (1 - w) * x[j]
    perm = torch.argsort(rand(n, 784), dim=1)
    shuffled = x[i].reshape(n, 784).gather(1, perm).reshape(n, 1, 28, 28)
    out = torch.stack([constant, noise, blob * (0.5 + 0.5 * level), blend, shuffled])
    return out[kind, torch.arange(n)]


@torch.no_grad()
def accuracy(model: DigitClassifier, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of (x (N, 1, 28, 28), y (N,)) classified correctly, in eval mode."""
    model.eval()
    correct = sum(int((model(x[i : i + 1000]).argmax(1) == y[i : i + 1000]).sum()) for i in range(0, len(x), 1000))
    return correct / len(x)


def train(epochs: int = 6) -> tuple[DigitClassifier, float]:
    """Train from seed 0 on 2 threads; returns (model in eval mode, test accuracy)."""
    torch.manual_seed(SEED)
    torch.set_num_threads(2)
    generator = torch.Generator().manual_seed(SEED)
    x, y = load_mnist("train")
    x, y = torch.from_numpy(x)[:, None], torch.from_numpy(y)
    xt, yt = load_mnist("test")
    xt, yt = torch.from_numpy(xt)[:, None], torch.from_numpy(yt)

    model = DigitClassifier()
    steps_per_epoch = -(-len(x) // BATCH)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=epochs * steps_per_epoch)
    bar = tqdm(total=epochs * steps_per_epoch, desc="digit classifier", unit="batch")
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), BATCH):
            idx = order[i : i + BATCH]
            outliers = non_digits(x, y, OUTLIERS, generator)
            logits = model(torch.cat([random_shift(x[idx], generator), outliers]))
            digits, others = logits[: len(idx)], logits[len(idx) :]
            uniform = -others.log_softmax(dim=1).mean()  # cross-entropy to the uniform distribution
            loss = F.cross_entropy(digits, y[idx]) + OUTLIER_WEIGHT * uniform
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}")
    bar.close()
    return model.eval(), accuracy(model, xt, yt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--output", type=Path, default=data_dir() / WEIGHTS)
    args = parser.parse_args()
    start = time.perf_counter()
    model, acc = train(args.epochs)
    print(f"test accuracy: {acc:.4f} ({time.perf_counter() - start:.0f} s of training)")
    with torch.no_grad():
        xt = torch.from_numpy(load_mnist("test")[0])[:, None]
        noise = torch.rand(1000, 1, 28, 28, generator=torch.Generator().manual_seed(1))
        for name, images in [("test digits", xt), ("uniform noise", noise)]:
            confidence = model(images).softmax(dim=1).max(dim=1).values.mean()
            print(f"mean max-probability on {name}: {confidence:.3f}")
    state = {k: (v.float() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    save_weights(state, args.output, WEIGHTS)


if __name__ == "__main__":
    main()
