"""A small pretrained MNIST classifier, used to score digits that a generative model draws.

Notebook 09 (GANs) cannot ask a person to look at thousands of generated digits, so it asks
this network instead: how sure it is about each sample, and which digits the samples are.
The weights ship with the course in ``data/digit_classifier.pt`` (checksummed like the rest of
``data/``); ``python -m course.pretrain`` trains them again from a fixed seed. Besides the
digits, training showed it non-digits (noise, blobs, blends of two digits) with the uniform
distribution as target, so it answers "no idea" (low maximum probability) on such images
rather than naming a digit with confidence.

The network is an ordinary modern small CNN, three 3x3 convolution blocks with batch norm and
max pooling, then dropout and one linear layer::

    (N, 1, 28, 28) -> conv3x3 32 -> BN -> ReLU -> maxpool 2   -> (N, 32, 14, 14)
                   -> conv3x3 64 -> BN -> ReLU -> maxpool 2   -> (N, 64, 7, 7)
                   -> conv3x3 128 -> BN -> ReLU -> maxpool 2  -> (N, 128, 3, 3)
                   -> flatten -> dropout 0.3 -> linear         -> (N, 10) logits

>>> model = load_digit_classifier()
>>> logits = model(torch.rand(5, 1, 28, 28))   # (5, 10)
"""

from __future__ import annotations

from functools import cache

import torch
from torch import nn

from .data import data_path

__all__ = ["WEIGHTS", "DigitClassifier", "load_digit_classifier"]

WEIGHTS = "digit_classifier.pt"
"""Name of the weights file inside ``data/`` (listed in ``data/SHA256SUMS``)."""


def _block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class DigitClassifier(nn.Module):
    """Small CNN for 28 x 28 grey digits.

    Input: (N, 1, 28, 28) float32 with pixels in [0, 1] (as ``course.data.load_mnist`` returns
    them, with a channel axis added). Output: (N, 10) logits, one per digit 0-9.
    """

    def __init__(self, dropout: float = 0.3) -> None:
        super().__init__()
        self.features = nn.Sequential(_block(1, 32), _block(32, 64), _block(64, 128))
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(128 * 3 * 3, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 1, 28, 28) in [0, 1] -> (N, 10) logits."""
        return self.head(self.features(x))


@cache
def load_digit_classifier() -> DigitClassifier:
    """The pretrained classifier, in eval mode, gradients off; cached (one copy per process).

    The weights come from ``data/digit_classifier.pt``, whose SHA-256 is checked first
    (``course.data.DataError`` names the file if it is missing or damaged). Do not train or
    modify the returned model: every caller shares it.
    """
    model = DigitClassifier().float()  # float32 whatever torch's default dtype (notebooks 01, 02 set float64)
    state = torch.load(data_path(WEIGHTS), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
