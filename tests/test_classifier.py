"""The pretrained digit classifier that notebook 09 uses to score generated samples."""

import numpy as np
import torch

from course.classifier import DigitClassifier, load_digit_classifier
from course.data import data_path, load_mnist


def test_shapes_and_logits():
    model = DigitClassifier().eval()
    out = model(torch.rand(3, 1, 28, 28))
    assert out.shape == (3, 10)
    assert out.dtype == torch.float32


def test_weights_are_small_listed_and_float32():
    path = data_path("digit_classifier.pt")  # raises if missing or not in SHA256SUMS
    assert path.stat().st_size < 1_000_000
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert all(v.dtype == torch.float32 for v in state.values() if v.is_floating_point())


def test_loaded_model_is_cached_in_eval_mode_without_gradients():
    model = load_digit_classifier()
    assert model is load_digit_classifier()
    assert not model.training
    assert not any(p.requires_grad for p in model.parameters())


def test_accuracy_on_test_digits():
    x, y = load_mnist("test", limit=2000)
    with torch.no_grad():
        pred = load_digit_classifier()(torch.from_numpy(x)[:, None]).argmax(1).numpy()
    assert np.mean(pred == y) > 0.985
