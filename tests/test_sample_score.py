"""course.sample_score: confidence, class coverage (plain and confident-only), inception score, verdict."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from course.data import load_mnist
from course.sample_score import COLLAPSE_THRESHOLD, score_samples


@pytest.fixture(scope="module")
def test_digits():
    return load_mnist("test", limit=2000)


class BrightnessClassifier(nn.Module):
    """Fake classifier: a constant image of value k/10 is read as digit k, with certainty."""

    def forward(self, x):
        k = torch.round(x.mean(dim=(1, 2, 3)) * 10).long().clamp(0, 9)
        return 50.0 * nn.functional.one_hot(k, 10).float()


def constant_images(digits):
    levels = np.asarray(digits, dtype=np.float32)[:, None, None] / 10
    return levels * np.ones((1, 28, 28), np.float32)


def test_real_digits_cover_all_classes_confidently(test_digits):
    x, _ = test_digits
    score = score_samples(x)
    assert score.coverage > 0.95
    assert score.confidence > 0.9
    assert not score.collapsed
    assert score.n == len(x)
    assert score.conditional_accuracy is None


def test_conditional_accuracy_on_real_labelled_digits(test_digits):
    x, y = test_digits
    assert score_samples(x, requested=y).conditional_accuracy > 0.97
    assert score_samples(x, requested=(y + 1) % 10).conditional_accuracy < 0.05


def test_one_repeated_digit_is_collapsed(test_digits):
    x, y = test_digits
    seven = x[np.flatnonzero(y == 7)[0]]
    score = score_samples(np.repeat(seven[None], 200, axis=0))
    assert score.coverage < 0.05
    assert score.collapsed
    assert "MODE COLLAPSE" in str(score)


def test_coverage_is_normalised_entropy_of_predicted_classes():
    fake = BrightnessClassifier()
    five = score_samples(constant_images(np.arange(100) % 5), classifier=fake)
    assert five.coverage == pytest.approx(math.log(5) / math.log(10))
    assert five.confidence == pytest.approx(1.0)
    assert five.counts.tolist() == [20] * 5 + [0] * 5
    ten = score_samples(constant_images(np.arange(50) % 10), classifier=fake)
    assert ten.coverage == pytest.approx(1.0)
    # 7 equally frequent digits: above the threshold; 6: below it
    assert not score_samples(constant_images(np.arange(70) % 7), classifier=fake).collapsed
    assert score_samples(constant_images(np.arange(60) % 6), classifier=fake).collapsed
    assert math.log(6) / math.log(10) < COLLAPSE_THRESHOLD < math.log(7) / math.log(10)


def test_accepts_torch_and_channel_axis(test_digits):
    x, y = test_digits
    a = score_samples(x[:100], requested=y[:100])
    b = score_samples(torch.from_numpy(x[:100])[:, None], requested=torch.from_numpy(y[:100]))
    assert a.confidence == pytest.approx(b.confidence)
    assert a.coverage == pytest.approx(b.coverage)
    assert a.conditional_accuracy == b.conditional_accuracy


def test_rejects_tanh_range_wrong_shape_and_mismatched_requests(test_digits):
    x, y = test_digits
    with pytest.raises(ValueError, match=r"\(x \+ 1\) / 2"):
        score_samples(x[:10] * 2 - 1)
    with pytest.raises(ValueError, match="shape"):
        score_samples(x[:10].reshape(10, -1))
    with pytest.raises(ValueError, match="entries"):
        score_samples(x[:10], requested=y[:9])
    with pytest.raises(ValueError, match="empty"):
        score_samples(x[:0])


def test_restores_training_mode_of_a_given_classifier():
    fake = BrightnessClassifier().train()
    score_samples(constant_images([1, 2]), classifier=fake)
    assert fake.training


# --- the verdict on four kinds of samples: each must be labelled for what it is -----------------


def blurry_blobs(x, y, n_per_class=50, seed=0):
    """A barely trained generator, imitated: each digit's mean image, blurred (5x5 box), heavily noised."""
    means = torch.from_numpy(np.stack([x[y == d].mean(0) for d in range(10)]))[:, None]
    blurred = nn.functional.conv2d(means, torch.ones(1, 1, 5, 5) / 25, padding=2)[:, 0].numpy()
    blobs = np.repeat(blurred, n_per_class, axis=0)
    noise = np.random.default_rng(seed).standard_normal(blobs.shape).astype(np.float32)
    return np.clip(blobs + 0.5 * noise, 0, 1)


@pytest.fixture(scope="module")
def four_sets(test_digits):
    x, y = test_digits
    return {
        "real digits": x[:500],
        "uniform noise": torch.rand(500, 28, 28, generator=torch.Generator().manual_seed(0)).numpy(),
        "one digit repeated": np.repeat(x[np.flatnonzero(y == 7)[0]][None], 500, axis=0),
        "blurry blobs": blurry_blobs(x, y),
    }


@pytest.mark.parametrize(
    ("name", "verdict"),
    [
        ("real digits", "digits"),
        ("uniform noise", "not digits"),
        ("one digit repeated", "mode collapse"),
        ("blurry blobs", "not digits"),
    ],
)
def test_verdict_labels_each_set_correctly(four_sets, name, verdict):
    score = score_samples(four_sets[name])
    assert score.verdict == verdict, f"{name}: {score}"
    assert score.collapsed == (verdict == "mode collapse")


def test_plain_coverage_alone_would_mislabel_noise_and_blobs(four_sets):
    # the reason for the confident version: unsure guesses still fill a histogram
    noise, blobs = score_samples(four_sets["uniform noise"]), score_samples(four_sets["blurry blobs"])
    assert noise.coverage < COLLAPSE_THRESHOLD  # noise looks "collapsed" to plain coverage
    assert blobs.coverage > COLLAPSE_THRESHOLD  # blobs look "diverse" to plain coverage
    assert noise.confident_fraction < 0.05 and blobs.confident_fraction < 0.05
    assert noise.confident_coverage == 0.0 and blobs.confident_coverage == 0.0


def test_inception_score_on_the_four_sets(four_sets):
    scores = {name: score_samples(images).inception_score for name, images in four_sets.items()}
    assert scores["real digits"] > 8.5
    for name in ("uniform noise", "one digit repeated", "blurry blobs"):
        assert 1.0 - 1e-6 <= scores[name] < 1.5, (name, scores[name])


def test_inception_score_and_confident_coverage_by_formula():
    fake = BrightnessClassifier()  # certain predictions: IS = exp(entropy of the class histogram)
    five = score_samples(constant_images(np.arange(100) % 5), classifier=fake)
    assert five.inception_score == pytest.approx(5.0, rel=1e-6)
    assert five.confident_coverage == pytest.approx(math.log(5) / math.log(10))
    assert five.confident_fraction == 1.0 and five.verdict == "mode collapse"
    assert score_samples(constant_images(np.arange(50) % 10), classifier=fake).verdict == "digits"


class HalfSureClassifier(nn.Module):
    """Fake classifier: certain about digit k on brightness k/10 for k < 5, uniform for k >= 5."""

    def forward(self, x):
        k = torch.round(x.mean(dim=(1, 2, 3)) * 10).long().clamp(0, 9)
        return 50.0 * nn.functional.one_hot(k, 10).float() * (k < 5)[:, None]


def test_only_confident_samples_count_towards_confident_coverage():
    score = score_samples(constant_images(np.arange(100) % 10), classifier=HalfSureClassifier())
    assert score.confident_fraction == pytest.approx(0.5)
    assert score.confident_counts.tolist() == [10] * 5 + [0] * 5
    assert score.confident_coverage == pytest.approx(math.log(5) / math.log(10))
    assert score.verdict == "mode collapse"
