"""Notebook 09's pretrained conditional generator, and what the notebook's text says about it.

The generator and the conditional wrappers are graded exercises, so the course package holds no
model class: these tests build the reference models from the source notebook's solution cells
(``course.gan_weights.notebook_namespace``), as the notebook itself builds them from the student's.
"""

import numpy as np
import pytest
import torch
from torch import nn

from course.data import data_path
from course.gan_weights import PRETRAINED_STEPS, WEIGHTS, layer_table, load_pretrained_generator, notebook_namespace
from course.sample_score import score_samples

DOCSTRING_ORDER = [
    "Linear.weight",
    *(f"BatchNorm1d.{a}" for a in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
    "ConvTranspose2d.weight",
    *(f"BatchNorm2d.{a}" for a in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
    "ConvTranspose2d.weight",
    "ConvTranspose2d.bias",
]


@pytest.fixture(scope="module")
def ns():
    """The source notebook's definition cells, executed (reference solutions included)."""
    threads = torch.get_num_threads()
    namespace = notebook_namespace()
    torch.set_num_threads(threads)  # the notebook's setup cell asks for one thread; leave the suite as it was
    return namespace


def new_generator(ns):
    return ns["ConditionalGenerator"](ns["Generator"](latent_dim=ns["LATENT_DIM"] + 10))


@pytest.fixture(scope="module")
def pretrained(ns):
    return load_pretrained_generator(new_generator(ns))


def test_file_is_small_listed_and_float32():
    path = data_path(WEIGHTS)  # raises if missing, damaged or not in SHA256SUMS
    assert path.stat().st_size < 2_000_000
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())
    assert [k.split(" ", 1)[1] for k in state] == DOCSTRING_ORDER
    # the generator runs once in training mode per step, so its batch norm counted the steps
    assert int(state["05 BatchNorm1d.num_batches_tracked"]) == PRETRAINED_STEPS


def test_reference_generator_has_the_docstring_layout(ns):
    assert [name for _, name, _ in layer_table(new_generator(ns))] == DOCSTRING_ORDER


def test_pretrained_generator_draws_the_requested_digits(ns, pretrained):
    # section 6 shows it as "what the method reaches"
    images, labels = ns["generate_digits"](pretrained, range(10), per_digit=100, seed=2024)
    score = score_samples(images, requested=labels)
    assert score.conditional_accuracy >= 0.9, score
    assert score.confidence >= 0.9, score
    assert score.coverage >= 0.95, score


def test_collapse_demo_is_as_section_8_describes(ns, pretrained):
    # the markdown: all ten digits behave like a healthy generator, 0-4 and only 3s like collapses
    def score(digits):
        images, _ = ns["generate_digits"](pretrained, digits, per_digit=500 // len(digits), seed=9)
        return score_samples(images)

    healthy, partial, single = score(range(10)), score(range(5)), score([3])
    assert not healthy.collapsed and partial.collapsed and single.collapsed
    assert partial.confidence >= healthy.confidence - 0.02 and single.confidence >= healthy.confidence - 0.02


def test_uniform_noise_is_as_section_7_describes():
    # "Uniform noise gets almost no confidence; the classifier's unsure guesses land mostly on one
    # digit, so its plain coverage is low, but none is confident: not digits, not a mode collapse"
    score = score_samples(torch.rand(500, 28, 28, generator=torch.Generator().manual_seed(0)))
    assert score.confidence < 0.2
    assert score.counts.max() > score.n / 2
    assert score.coverage < 0.8 and score.confident_fraction < 0.05
    assert score.verdict == "not digits" and not score.collapsed


def test_loader_ignores_attribute_names(ns, pretrained):
    wrapped = load_pretrained_generator(nn.Sequential(new_generator(ns).body))  # other names, same order
    z = torch.randn(4, ns["LATENT_DIM"] + 10, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        np.testing.assert_allclose(wrapped(z).numpy(), pretrained.body(z).numpy(), rtol=1e-6, atol=1e-6)
    assert not wrapped.training


def test_loader_names_a_layer_created_out_of_order():
    width, latent = 32, 64 + 10
    model = nn.Sequential(nn.BatchNorm1d(2 * width * 49), nn.Linear(latent, 2 * width * 49, bias=False))
    with pytest.raises(ValueError, match=r"entry 0 .*BatchNorm1d\.weight.*Linear\.weight.*order"):
        load_pretrained_generator(model)


def test_loader_names_a_missing_layer(ns):
    layers = [m for m in new_generator(ns).modules() if m.state_dict(keep_vars=True) and not list(m.children())]
    truncated = nn.Sequential(*layers[:-1])  # the last transposed convolution is missing
    with pytest.raises(ValueError, match=r"12 entries, the pretrained file 14"):
        load_pretrained_generator(truncated)
