import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from course import plots, training


def test_plots_return_figures():
    rng = np.random.default_rng(0)
    assert isinstance(plots.image_grid(rng.random((5, 8, 8)), titles=list("abcde"), ncols=3), Figure)
    assert isinstance(plots.curves({"train": [3, 2, 1], "val": [3, 2.5, 2]}), Figure)
    assert isinstance(plots.confusion_matrix(np.arange(10), np.arange(10)), Figure)
    X = rng.normal(size=(20, 2))
    fig = plots.decision_boundary(lambda P: (P[:, 0] > 0).astype(float), X, (X[:, 0] > 0).astype(int))
    assert isinstance(fig, Figure)


def _blobs(n=400):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) + 3.0 * (2 * y[:, None] - 1)
    return x, y


def test_fit_learns_separable_data_and_records_history():
    torch.manual_seed(0)
    x, y = _blobs()
    model = torch.nn.Linear(2, 2)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1)
    history = training.fit(model, (x, y), optimizer=sgd, epochs=3, batch_size=32, val=(x, y), progress=False)
    assert history.val_accuracy[-1] > 0.95
    assert len(history.train_loss) == len(history.val_loss) == len(history.steps) == 3
    assert history.epochs_done == 3


def test_fit_does_a_fixed_seeded_amount_of_work():
    x, y = _blobs()
    runs = []
    for _ in range(2):
        torch.manual_seed(1)
        model = torch.nn.Linear(2, 2)
        runs.append(training.fit(model, (x, y), epochs=2.5, batch_size=32, val=(x, y), progress=False))
    first, second = runs
    assert first.steps[-1] == round(2.5 * -(-len(x) // 32)) and first.epochs_done == pytest.approx(2.5, abs=0.05)
    assert first.train_loss == second.train_loss and first.val_accuracy == second.val_accuracy


def test_evaluate_and_predict_shapes():
    x, y = _blobs(50)
    model = torch.nn.Linear(2, 2)
    assert training.predict(model, x, batch_size=7).shape == (50, 2)
    loss, acc = training.evaluate(model, x, y)
    assert loss > 0 and 0 <= acc <= 1
