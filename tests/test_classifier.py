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


def test_unsure_on_images_that_are_not_digits():
    # trained with non-digits -> uniform target (course.pretrain.non_digits)
    noise = torch.rand(500, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    blank = torch.zeros(10, 1, 28, 28)
    with torch.no_grad():
        for images in (noise, blank):
            confidence = load_digit_classifier()(images).softmax(dim=1).max(dim=1).values.mean()
            assert confidence < 0.3


def test_non_digits_are_in_range_and_varied():
    from course.pretrain import non_digits

    x, y = load_mnist("train", limit=500)
    out = non_digits(torch.from_numpy(x)[:, None], torch.from_numpy(y), 64, torch.Generator().manual_seed(0))
    assert out.shape == (64, 1, 28, 28)
    assert float(out.min()) >= 0 and float(out.max()) <= 1
    assert len({round(float(v), 4) for v in out.mean(dim=(1, 2, 3))}) > 32
