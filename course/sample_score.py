"""Score generated digits with the pretrained classifier: are they digits, and all ten of them?

A generator that draws crisp digits makes a classifier confident; a generator that draws every
digit makes the classifier's confident predictions spread evenly over 0-9. The numbers:

* **confidence**: the mean, over samples, of the largest softmax probability (1 = every sample
  looks unmistakably like some digit; 0.1 = the classifier cannot tell at all). The classifier
  was trained to be unsure on non-digits (noise, blobs, blends of two digits; see
  ``course.pretrain``), so such samples lower the confidence instead of counting as some digit.
* **confident_fraction**: the fraction of samples whose largest probability is at least
  :data:`CONFIDENT` = 0.9, i.e. the samples the classifier recognises as some digit.
* **confident_coverage**: the entropy of the histogram of predicted classes *of the confident
  samples only*, divided by log(10): 1 when the recognised digits are all ten equally often, 0
  when they are one digit only (and 0 when no sample is recognised). ``10 ** confident_coverage``
  is the "effective number" of digits the generator draws recognisably.
* **coverage**: the same entropy over *all* samples, confident or not. An unsure classifier still
  names some digit for a blob, so blurry blobs can reach a high coverage and noise, whose unsure
  guesses pile up on one digit, a low one: on its own it says little, which is why the verdict
  uses the confident version.
* **inception_score**: exp(mean over samples of KL(p(y|x) || p(y))), with p(y) the mean of the
  predicted distributions (Salimans et al., 2016, with this classifier instead of Inception). It
  lies in [1, 10]: 10 for confident predictions spread evenly over the ten digits, about 1 for
  unsure predictions (noise, blobs) *and* for one digit repeated, so it mixes up the two
  failures that the confident fraction and confident coverage tell apart.
* **conditional_accuracy** (conditional generators): the fraction of samples the classifier
  reads as the digit that was requested.

:attr:`SampleScore.verdict` reads the numbers together: ``"not digits"`` when fewer than
:data:`RECOGNISABLE` = half of the samples are confident (noise, blobs); otherwise
``"mode collapse"`` when the confident coverage is below :data:`COLLAPSE_THRESHOLD` = 0.8, i.e.
fewer than about 10 ** 0.8 = 6.3 effective digits (six equally frequent digits give 0.778, seven
give 0.845); otherwise ``"digits"``. :attr:`SampleScore.collapsed` is ``verdict == "mode collapse"``.

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
from .i18n import tr

__all__ = ["COLLAPSE_THRESHOLD", "CONFIDENT", "RECOGNISABLE", "SampleScore", "score_samples"]

COLLAPSE_THRESHOLD = 0.8
"""Confident coverage below this counts as mode collapse (fewer than about 6.3 effective digits of 10)."""

CONFIDENT = 0.9
"""A sample is recognised as a digit when its largest softmax probability is at least this."""

RECOGNISABLE = 0.5
"""Samples count as digits when at least this fraction of them is recognised (else: "not digits")."""

_RANGE = (-0.01, 1.01)


@dataclass(frozen=True)
class SampleScore:
    """What the classifier thinks of a batch of samples.

    Attributes:
        confidence: mean max softmax probability, in [0.1, 1].
        coverage: entropy of the predicted-class histogram of all samples / log(10), in [0, 1].
        conditional_accuracy: fraction predicted as the requested digit, or None if no
            digits were requested.
        counts: (10,) how many samples were predicted as each digit.
        predictions: (N,) the predicted digit of each sample.
        confident_fraction: fraction of samples with max probability >= CONFIDENT (0.9).
        confident_coverage: entropy of the predicted-class histogram of the confident samples
            only / log(10), in [0, 1]; 0 when no sample is confident.
        confident_counts: (10,) how many confident samples were predicted as each digit.
        inception_score: exp(mean KL(p(y|x) || p(y))), in [1, 10].
    """

    confidence: float
    coverage: float
    conditional_accuracy: float | None
    counts: np.ndarray
    predictions: np.ndarray
    confident_fraction: float
    confident_coverage: float
    confident_counts: np.ndarray
    inception_score: float

    @property
    def n(self) -> int:
        """Number of samples scored."""
        return int(self.counts.sum())

    @property
    def verdict(self) -> str:
        """ "not digits" (under half recognised), "mode collapse" (confident coverage < 0.8) or "digits"."""
        if self.confident_fraction < RECOGNISABLE:
            return "not digits"
        if self.confident_coverage < COLLAPSE_THRESHOLD:
            return "mode collapse"
        return "digits"

    @property
    def collapsed(self) -> bool:
        """True when most samples are recognised but they show only a few digits (confident coverage < 0.8)."""
        return self.verdict == "mode collapse"

    def __str__(self) -> str:
        parts = [
            tr(
                "confidence {confidence:.3f} ({fraction:.0%} of samples >= {confident})",
                confidence=self.confidence,
                fraction=self.confident_fraction,
                confident=CONFIDENT,
            ),
            tr(
                "confident coverage {coverage:.3f} ({effective:.1f} effective digits, {seen} of 10 seen confidently)",
                coverage=self.confident_coverage,
                effective=10**self.confident_coverage,
                seen=int((self.confident_counts > 0).sum()),
            ),
            f"IS {self.inception_score:.2f}",
        ]
        if self.conditional_accuracy is not None:
            parts.append(tr("conditional accuracy {accuracy:.1%}", accuracy=self.conditional_accuracy))
        parts.append(f"n={self.n}")
        verdicts = {"not digits": tr("NOT DIGITS"), "mode collapse": tr("MODE COLLAPSE"), "digits": tr("digits")}
        parts.append(verdicts[self.verdict])
        return " | ".join(parts)


def _normalised_entropy(counts: np.ndarray) -> float:
    """Entropy of the histogram `counts` divided by log(10); 0 for an empty histogram."""
    if counts.sum() == 0:
        return 0.0
    p = counts[counts > 0] / counts.sum()
    return max(0.0, float(-(p * np.log(p)).sum() / math.log(10)))


def _as_batch(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        x = images.detach().cpu().float()
    else:
        x = torch.from_numpy(np.asarray(images)).float()
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(
            tr("images must have shape (N, 1, 28, 28) or (N, 28, 28), got {shape}", shape=tuple(images.shape))
        )
    if len(x) == 0:
        raise ValueError(tr("images is empty: there is nothing to score"))
    lo, hi = float(x.min()), float(x.max())
    if lo < _RANGE[0]:
        raise ValueError(
            tr(
                "pixel values must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}] "
                "(a tanh generator gives [-1, 1]: pass (x + 1) / 2)",
                lo=lo,
                hi=hi,
            )
        )
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi > _RANGE[1]:
        raise ValueError(tr("pixel values must lie in [0, 1], got values in [{lo:.3g}, {hi:.3g}]", lo=lo, hi=hi))
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
        SampleScore: confidence, coverage, conditional_accuracy, counts, predictions,
        confident_fraction, confident_coverage, confident_counts, inception_score.
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
    sure = top.numpy() >= CONFIDENT
    confident_counts = np.bincount(predictions[sure], minlength=10)
    p = probs.double().clamp_min(1e-12)
    kl = (p * (p.log() - p.mean(dim=0, keepdim=True).log())).sum(dim=1)  # KL(p(y|x) || p(y)) per sample
    conditional = None
    if requested is not None:
        if isinstance(requested, torch.Tensor):
            requested = requested.cpu().numpy()
        req = np.asarray(requested).reshape(-1)
        if len(req) != len(predictions):
            raise ValueError(tr("requested has {n} entries for {images} images", n=len(req), images=len(predictions)))
        conditional = float((predictions == req).mean())
    return SampleScore(
        confidence=float(top.mean()),
        coverage=_normalised_entropy(counts),
        conditional_accuracy=conditional,
        counts=counts,
        predictions=predictions,
        confident_fraction=float(sure.mean()),
        confident_coverage=_normalised_entropy(confident_counts),
        confident_counts=confident_counts,
        inception_score=float(kl.mean().exp()),
    )
