"""Unit tests for course.lstm_viewer: the gate trace agrees with torch, the figure and the fallbacks."""

from __future__ import annotations

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from torch import nn  # noqa: E402

from course import lstm_viewer  # noqa: E402
from course.lstm_viewer import lstm_gate_trace, lstm_gate_widget, view_lstm_gates, widgets_enabled  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def shown(monkeypatch):
    """Record what view_lstm_gates displays instead of printing it."""
    items: list[object] = []
    monkeypatch.setattr(lstm_viewer, "display", lambda obj: items.append(obj))
    return items


@pytest.fixture
def learner(monkeypatch):
    """A learner's session: not under the grader."""
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)


def _lstm(d=3, h=5, layers=1, seed=0):
    torch.manual_seed(seed)
    return nn.LSTM(d, h, num_layers=layers).double()


def _prefix_states(lstm, x):
    """Torch's own (h_t, c_t) of the top layer after every prefix x[:t+1]: (T, H) each."""
    hs, cs = [], []
    with torch.no_grad():
        for t in range(len(x)):
            _, (h, c) = lstm(x[: t + 1])
            hs.append(h[-1])
            cs.append(c[-1])
    return torch.stack(hs).numpy(), torch.stack(cs).numpy()


def test_trace_shapes_and_ranges():
    lstm = _lstm()
    x = torch.randn(9, 3, dtype=torch.float64)
    trace = lstm_gate_trace(lstm, x)
    for name in ("i", "f", "g", "o", "c", "h"):
        assert getattr(trace, name).shape == (9, 5), name
    for name in ("i", "f", "o"):
        values = getattr(trace, name)
        assert values.min() >= 0.0 and values.max() <= 1.0, name
    assert np.abs(trace.g).max() <= 1.0


def test_trace_states_match_torch():
    lstm = _lstm(seed=1)
    x = torch.randn(12, 3, dtype=torch.float64)
    trace = lstm_gate_trace(lstm, x)
    h_ref, c_ref = _prefix_states(lstm, x)
    np.testing.assert_allclose(trace.c, c_ref, atol=1e-12)
    np.testing.assert_allclose(trace.h, h_ref, atol=1e-12)
    with torch.no_grad():
        out, _ = lstm(x)
    np.testing.assert_allclose(trace.h, out.numpy(), atol=1e-12)


def test_trace_gates_reproduce_torch_hidden_state():
    """h_t = o_t * tanh(c_t) holds for torch's states and the recomputed output gate."""
    lstm = _lstm(seed=2)
    x = torch.randn(7, 3, dtype=torch.float64)
    trace = lstm_gate_trace(lstm, x)
    np.testing.assert_allclose(trace.o * np.tanh(trace.c), trace.h, atol=1e-12)


def test_trace_second_layer_and_batch_of_one():
    lstm = _lstm(layers=2, seed=3)
    x = torch.randn(6, 3, dtype=torch.float64)
    trace = lstm_gate_trace(lstm, x[None], layer=1)
    h_ref, c_ref = _prefix_states(lstm, x)
    np.testing.assert_allclose(trace.c, c_ref, atol=1e-12)
    np.testing.assert_allclose(trace.h, h_ref, atol=1e-12)


def test_trace_accepts_float32_numpy():
    lstm = nn.LSTM(2, 4)
    trace = lstm_gate_trace(lstm, np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32))
    assert trace.c.shape == (5, 4)


def test_trace_rejects_bidirectional_and_bad_layer():
    with pytest.raises(ValueError):
        lstm_gate_trace(nn.LSTM(2, 3, bidirectional=True), torch.zeros(4, 2))
    with pytest.raises(ValueError):
        lstm_gate_trace(nn.LSTM(2, 3), torch.zeros(4, 2), layer=1)


def test_view_returns_figure_with_four_heatmaps(learner, shown):
    fig = view_lstm_gates(_lstm(), torch.randn(10, 3, dtype=torch.float64), interactive=False)
    assert isinstance(fig, Figure)
    images = [ax for ax in fig.axes if ax.images]
    assert len(images) == 4
    assert shown == []


def test_view_from_state_dict_matches_module(learner, shown):
    lstm = _lstm(seed=4)
    x = torch.randn(8, 3, dtype=torch.float64)
    fig = view_lstm_gates(dict(lstm.state_dict()), x, interactive=False)
    assert isinstance(fig, Figure)
    heat = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    trace = lstm_gate_trace(lstm, x)
    np.testing.assert_allclose(np.asarray(heat[3]), trace.c.T, atol=1e-12)
    np.testing.assert_allclose(np.asarray(heat[1]), trace.f.T, atol=1e-12)


def test_view_char_model_from_text(learner, shown):
    class CharModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.chars = list("abc ")
            self.embed = nn.Embedding(4, 3)
            self.lstm = nn.LSTM(3, 6, batch_first=True)

    fig = view_lstm_gates(CharModel(), "abc cab", units=4, interactive=False)
    labels = [t.get_text() for t in fig.axes[-2].get_xticklabels()] or [
        t.get_text() for ax in fig.axes for t in ax.get_xticklabels() if t.get_text()
    ]
    assert "a" in labels
    assert fig.axes[0].images[0].get_array().shape == (4, 7)


def test_widget_shown_for_a_learner(learner, shown):
    pytest.importorskip("ipywidgets")
    fig = view_lstm_gates(_lstm(), torch.randn(5, 3, dtype=torch.float64))
    assert isinstance(fig, Figure)
    import ipywidgets

    boxes = [item for item in shown if isinstance(item, ipywidgets.VBox)]
    assert len(boxes) == 1
    slider = boxes[0].children[0]
    assert slider.max == 4
    slider.value = 3  # redraws without error


def test_static_only_under_the_grader(monkeypatch, shown):
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert widgets_enabled() is False
    fig = view_lstm_gates(_lstm(), torch.randn(5, 3, dtype=torch.float64))
    assert isinstance(fig, Figure)
    assert shown == []


def test_static_only_without_ipywidgets(monkeypatch, learner, shown):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails
    assert widgets_enabled() is False
    fig = view_lstm_gates(_lstm(), torch.randn(5, 3, dtype=torch.float64))
    assert isinstance(fig, Figure)
    assert shown == []


def test_widget_builder_directly():
    pytest.importorskip("ipywidgets")
    trace = lstm_gate_trace(_lstm(), torch.randn(4, 3, dtype=torch.float64))
    box = lstm_gate_widget(trace, labels=list("abcd"))
    assert box.children[0].max == 3
