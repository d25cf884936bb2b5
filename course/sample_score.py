"""Score generated digits with the pretrained classifier: are they digits, and all ten of them?

A generator that draws crisp digits makes a classifier confident; a generator that draws every
digit makes the classifier's predicted classes spread evenly over 0-9. One number for each:

* **confidence**: the mean, over samples, of the largest softmax probability (1 = every sample
  looks unmistakably like some digit; 0.1 = the classifier cannot tell at all). The classifier
  was trained to be unsure on non-digits (noise, blobs, blends of two digits; see
  ``course.pretrain``), so such samples lower the confidence instead of counting as some digit.
* **coverage**: the entropy of the histogram of predicted classes divided by log(10), so 1 means
  the ten digits come out equally often and 0 means one digit only. ``10 ** coverage`` is the
  "effective number" of digits the generator draws.
* **conditional_accuracy** (conditional generators): the fraction of samples the classifier
  reads as the digit that was requested.

A generator that has *mode-collapsed* draws only a few digits: its coverage is low even when its
confidence is high. :attr:`SampleScore.collapsed` flags coverage below
:data:`COLLAPSE_THRESHOLD` = 0.8, i.e. fewer than about 10 ** 0.8 = 6.3 effective digits (six
equally frequent digits give 0.778, seven give 0.845).

>>> score = score_samples(images)               # images (N, 28, 28) in [0, 1]
>>> print(score)                                 # one-line summary
>>> score_samples(images, requested=labels).conditional_accuracy
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .classifier import load_digit_classifier

__all__ = ["COLLAPSE_THRESHOLD", "SampleScore", "score_samples"]

COLLAPSE_THRESHOLD = 0.8
"""Coverage below this counts as mode collapse (fewer than about 6.3 effective digits of 10)."""

_RANGE = (-0.01, 1.01)


@dataclass(frozen=True)
class SampleScore:
    """What the classifier thinks of a batch of samples.

    Attributes:
        confidence: mean max softmax probability, in [0.1, 1].
        coverage: entropy of the predicted-class histogram / log(10), in [0, 1].
        conditional_accuracy: fraction predicted as the requested digit, or None if no
            digits were requested.
        counts: (10,) how many samples were predicted as each digit.
        predictions: (N,) the predicted digit of each sample.
    """

    confidence: float
    coverage: float
    conditional_accuracy: float | None
    counts: np.ndarray
    predictions: np.ndarray

    @property
    def n(self) -> int:
        """Number of samples scored."""
        return int(self.counts.sum())

    @property
    def collapsed(self) -> bool:
        """True when coverage < COLLAPSE_THRESHOLD (0.8): the samples show only a few digits."""
        return self.coverage < COLLAPSE_THRESHOLD

    def __str__(self) -> str:
        seen = int((self.counts > 0).sum())
        parts = [
            f"confidence {self.confidence:.3f}",
            f"coverage {self.coverage:.3f} ({10**self.coverage:.1f} effective digits, {seen} of 10 seen)",
        ]
        if self.conditional_accuracy is not None:
            parts.append(f"conditional accuracy {self.conditional_accuracy:.1%}")
        parts.append(f"n={self.n}")
        if self.collapsed:
            parts.append("MODE COLLAPSE (coverage < 0.8)")
        return " | ".join(parts)


def _as_batch(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        x = images.detach().cpu().float()
    else:
        x = torch.from_numpy(np.asarray(images)).float()
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"images must have shape (N, 1, 28, 28) or (N, 28, 28), got {tuple(images.shape)}")
    if len(x) == 0:
        raise ValueError("images is empty: there is nothing to score")
    lo, hi = float(x.min()), float(x.max())
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < _RANGE[0] or hi > _RANGE[1]:
        hint = " (a tanh generator gives [-1, 1]: pass (x + 1) / 2)" if lo < _RANGE[0] else ""
        raise ValueError(f"pixel values must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}]{hint}")
    return x


def score_samples(
    images: np.ndarray | torch.Tensor,
    requested: np.ndarray | torch.Tensor | None = None,
    classifier: nn.Module | None = None,
    *,
    batch_size: int = 1000,
) -> SampleScore:
    """Score a batch of digit images with the pretrained classifier.

    Args:
        images: (N, 1, 28, 28) or (N, 28, 28), numpy or torch, with pixels in [0, 1] like
            ``course.data.load_mnist``. A generator with a tanh output draws in [-1, 1]: rescale
            with ``(x + 1) / 2`` first. Values outside [-0.01, 1.01] raise ValueError.
        requested: (N,) the digit each sample was asked to be (conditional generators), or None.
        classifier: maps (B, 1, 28, 28) to (B, 10) logits; default
            ``course.classifier.load_digit_classifier()``.

    Returns:
        SampleScore with confidence, coverage, conditional_accuracy, counts and predictions.
    """
    x = _as_batch(images)
    model = classifier if classifier is not None else load_digit_classifier()
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            chunks = [model(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
            probs = torch.cat(chunks).softmax(dim=1)
    finally:
        model.train(was_training)
    top, predictions = probs.max(dim=1)
    predictions = predictions.numpy()
    counts = np.bincount(predictions, minlength=10)
    p = counts[counts > 0] / counts.sum()
    coverage = float(-(p * np.log(p)).sum() / math.log(10))
    conditional = None
    if requested is not None:
        if isinstance(requested, torch.Tensor):
            requested = requested.cpu().numpy()
        req = np.asarray(requested).reshape(-1)
        if len(req) != len(predictions):
            raise ValueError(f"requested has {len(req)} entries for {len(predictions)} images")
        conditional = float((predictions == req).mean())
    return SampleScore(
        confidence=float(top.mean()),
        coverage=max(0.0, coverage),
        conditional_accuracy=conditional,
        counts=counts,
        predictions=predictions,
    )
