"""Look inside a trained LSTM: its gate activations and cell state at every time step.

>>> fig = view_lstm_gates(model.lstm, x)          # x: (T, D) inputs of one sequence
>>> fig = view_lstm_gates(char_model, "ROMEO:")   # a module with .embed, .lstm and .chars

The figure has one heatmap per quantity (input gate, forget gate, output gate, cell state), time
on the horizontal axis and hidden units on the vertical one. In JupyterLab it also shows a
slider over the time steps with the gate values of every unit at the chosen step; under the
grader (``NBGRADER_EXECUTION``), or where ipywidgets is missing, only the static figure is drawn.
The static figure is always drawn, so an HTML export shows it too.

The hidden and cell states come from torch's own ``nn.LSTM``; the gate activations are then
recomputed from the layer's weights with torch operations (torch stores the four gates stacked
in the order input, forget, candidate, output).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import display
from matplotlib.figure import Figure
from torch import nn

from course.budget import under_grader
from course.i18n import tr

__all__ = ["GateTrace", "lstm_gate_trace", "lstm_gate_widget", "view_lstm_gates", "widgets_enabled"]


@dataclass(frozen=True)
class GateTrace:
    """Activations of one LSTM layer over one sequence; every array is (T, H) float64.

    ``i``, ``f``, ``o`` are the input, forget and output gates (in [0, 1]), ``g`` the candidate
    (in [-1, 1]), ``c`` the cell state and ``h`` the hidden state after each step.
    """

    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    c: np.ndarray
    h: np.ndarray


def _as_lstm(model_or_weights: Any) -> tuple[nn.LSTM, nn.Module | None]:
    """The nn.LSTM to inspect and, when the model has one, its embedding."""
    if isinstance(model_or_weights, nn.LSTM):
        return model_or_weights, None
    if isinstance(model_or_weights, nn.Module):
        lstm = getattr(model_or_weights, "lstm", None)
        if not isinstance(lstm, nn.LSTM):
            raise TypeError(tr("the model has no attribute `lstm` holding an nn.LSTM"))
        embed = getattr(model_or_weights, "embed", None)
        return lstm, embed if isinstance(embed, nn.Module) else None
    if isinstance(model_or_weights, Mapping):
        items = dict(model_or_weights)
        if any(k.startswith("lstm.") for k in items):
            items = {k.removeprefix("lstm."): v for k, v in items.items() if k.startswith("lstm.")}
        weights = {k: torch.as_tensor(v) for k, v in items.items()}
        if "weight_ih_l0" not in weights:
            raise KeyError(tr("weights need at least weight_ih_l0 and weight_hh_l0 (an nn.LSTM state_dict)"))
        four_h, d = weights["weight_ih_l0"].shape
        layers = 1 + max(int(k.split("_l")[1].split("_")[0]) for k in weights if k.startswith("weight_ih_l"))
        lstm = nn.LSTM(d, four_h // 4, num_layers=layers, bias="bias_ih_l0" in weights)
        lstm = lstm.to(weights["weight_ih_l0"].dtype)
        lstm.load_state_dict({k: v for k, v in weights.items() if not k.endswith("_reverse")})
        return lstm, None
    raise TypeError(
        tr(
            "expected an nn.LSTM, a module with .lstm, or a state_dict, not {type}",
            type=type(model_or_weights).__name__,
        )
    )


def _layer(lstm: nn.LSTM, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    w_ih = getattr(lstm, f"weight_ih_l{k}")
    w_hh = getattr(lstm, f"weight_hh_l{k}")
    zeros = torch.zeros(w_ih.shape[0], dtype=w_ih.dtype)
    b_ih = getattr(lstm, f"bias_ih_l{k}") if lstm.bias else zeros
    b_hh = getattr(lstm, f"bias_hh_l{k}") if lstm.bias else zeros
    return w_ih, w_hh, b_ih, b_hh


@torch.no_grad()
def lstm_gate_trace(lstm: nn.LSTM, inputs: Any, *, layer: int = 0) -> GateTrace:
    """Gate activations and states of one layer of `lstm` over one sequence.

    Args:
        lstm: a unidirectional ``nn.LSTM`` (no projections).
        inputs: (T, D) inputs of one sequence (a batch of one, (1, T, D), is accepted too).
        layer: which layer to inspect; its input is the hidden states of the layer below.

    Returns:
        A :class:`GateTrace` with (T, H) arrays. The states start from zero.
    """
    if lstm.bidirectional or lstm.proj_size:
        raise ValueError(tr("only unidirectional LSTMs without projections can be inspected"))
    if not 0 <= layer < lstm.num_layers:
        raise ValueError(tr("layer must be in 0..{last}, not {layer}", last=lstm.num_layers - 1, layer=layer))
    w0 = lstm.weight_ih_l0
    x = torch.as_tensor(np.asarray(inputs) if not torch.is_tensor(inputs) else inputs).to(w0.dtype)
    if x.dim() == 3:
        if x.shape[0] != 1:
            raise ValueError(tr("pass one sequence: (T, D) or (1, T, D)"))
        x = x[0]
    if x.dim() != 2:
        raise ValueError(tr("inputs must be (T, D), got shape {shape}", shape=tuple(x.shape)))
    for k in range(layer + 1):
        w_ih, w_hh, b_ih, b_hh = _layer(lstm, k)
        single = nn.LSTM(w_ih.shape[1], w_hh.shape[1], bias=lstm.bias).to(w0.dtype)
        single.load_state_dict(
            {"weight_ih_l0": w_ih, "weight_hh_l0": w_hh}
            | ({"bias_ih_l0": b_ih, "bias_hh_l0": b_hh} if lstm.bias else {})
        )
        single.eval()
        hs, _ = single(x)  # (T, H): torch's own hidden states
        if k < layer:
            x = hs
    # Cell states of torch's LSTM after every prefix (the final cell state of each prefix).
    h0 = torch.zeros(1, w_hh.shape[1], dtype=w0.dtype)
    cs = []
    state = (h0, h0.clone())
    for t in range(x.shape[0]):
        _, state = single(x[t : t + 1], state)
        cs.append(state[1][0])
    c = torch.stack(cs)
    h_prev = torch.cat([h0, hs[:-1]])
    pre = nn.functional.linear(x, w_ih, b_ih) + nn.functional.linear(h_prev, w_hh, b_hh)
    i, f, g, o = pre.chunk(4, dim=-1)  # torch's order: input, forget, candidate, output
    return GateTrace(
        *(a.double().numpy() for a in (torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o), c, hs))
    )


def widgets_enabled(interactive: bool | None = None) -> bool:
    """Whether to show ipywidgets: never under the grader or without ipywidgets, else `interactive` (default on)."""
    if interactive is False or under_grader():
        return False
    try:
        importlib.import_module("ipywidgets")
    except ImportError:
        return False
    return True


def _labels(labels: Sequence[str] | None, n: int) -> list[str]:
    if labels is None:
        return [str(t) for t in range(n)]
    return [repr(s)[1:-1] if s in ("\n", " ", "\t") else str(s) for s in labels]


def _static_figure(trace: GateTrace, labels: list[str], units: np.ndarray, title: str | None) -> Figure:
    t_len = trace.c.shape[0]
    panel = min(2.2, 0.7 + 0.045 * len(units))
    fig, axes = plt.subplots(4, 1, figsize=(min(14.0, 3.0 + 0.22 * t_len), 0.9 + 4 * panel), sharex=True, squeeze=False)
    axes = axes[:, 0]
    gates = (("i", tr("input gate\nunit")), ("f", tr("forget gate\nunit")), ("o", tr("output gate\nunit")))
    for ax, (key, ylabel) in zip(axes, gates, strict=False):
        im = ax.imshow(
            getattr(trace, key)[:, units].T, aspect="auto", cmap="viridis", vmin=0.0, vmax=1.0, interpolation="nearest"
        )
        ax.set_ylabel(ylabel)
        fig.colorbar(im, ax=ax, pad=0.01)
    lim = float(np.abs(trace.c[:, units]).max()) or 1.0
    im = axes[3].imshow(trace.c[:, units].T, aspect="auto", cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
    axes[3].set_ylabel(tr("cell state\nunit"))
    fig.colorbar(im, ax=axes[3], pad=0.01)
    for ax in axes:
        ax.set_yticks(range(len(units)) if len(units) <= 16 else [])
        if len(units) <= 16:
            ax.set_yticklabels([str(u) for u in units], fontsize=7)
    step = max(1, t_len // 60)
    axes[3].set_xticks(range(0, t_len, step))
    axes[3].set_xticklabels(labels[::step], fontsize=7, rotation=0 if t_len <= 60 else 90)
    axes[3].set_xlabel(tr("time step"))
    fig.suptitle(title or tr("LSTM gates over time (rows: hidden units)"))
    fig.tight_layout()
    return fig


def lstm_gate_widget(trace: GateTrace, labels: Sequence[str] | None = None, units: Sequence[int] | None = None):
    """An ipywidgets box: a time-step slider and a bar chart of every unit's gates at that step."""
    import ipywidgets as widgets

    t_len, n_units = trace.c.shape
    units = np.arange(n_units) if units is None else np.asarray(units)
    names = _labels(labels, t_len)
    slider = widgets.IntSlider(value=0, min=0, max=t_len - 1, description=tr("time step"), continuous_update=False)
    out = widgets.Output()

    def draw(t: int) -> None:
        with out:
            out.clear_output(wait=True)
            fig, axes = plt.subplots(1, 4, figsize=(12, 2.6), sharey=True)
            panels = (
                ("i", tr("input gate")),
                ("f", tr("forget gate")),
                ("o", tr("output gate")),
                ("c", tr("cell state")),
            )
            for ax, (key, name) in zip(axes, panels, strict=True):
                values = getattr(trace, key)[t, units]
                ax.barh(range(len(units)), values, color="tab:red" if key == "c" else "tab:blue")
                ax.set_title(name)
                if key != "c":
                    ax.set_xlim(0, 1)
            axes[0].set_ylabel(tr("unit"))
            fig.suptitle(tr("step {t}: input {label!r}", t=t, label=names[t]))
            fig.tight_layout()
            display(fig)
            plt.close(fig)

    slider.observe(lambda change: draw(change["new"]), names="value")
    draw(0)
    return widgets.VBox([slider, out])


def view_lstm_gates(
    model_or_weights: Any,
    sequence: Any,
    *,
    encode: Callable[[str], torch.Tensor] | None = None,
    labels: Sequence[str] | None = None,
    units: Sequence[int] | int | None = None,
    layer: int = 0,
    interactive: bool | None = None,
    title: str | None = None,
) -> Figure:
    """Heatmaps of an LSTM's gates and cell state over one sequence, with a slider where possible.

    Args:
        model_or_weights: an ``nn.LSTM``; or a module with ``.lstm`` (and optionally ``.embed``
            and ``.chars``, as in a character model); or an ``nn.LSTM`` state_dict.
        sequence: (T, D) inputs of one sequence, or a string when `encode` is given or the model
            has ``.embed`` and ``.chars`` (the characters are then embedded and used as labels).
        encode: maps a string to its (T, D) inputs.
        labels: T tick labels for the time axis (defaults: the characters, or 0..T-1).
        units: which hidden units to show (indices), or an int n for the first n; default up to 32.
        layer: which layer to inspect.
        interactive: False to never show widgets; None or True shows them where available.
        title: the figure title.

    Returns:
        The static matplotlib Figure (drawn in every case).
    """
    lstm, embed = _as_lstm(model_or_weights)
    if isinstance(sequence, str):
        text = sequence
        if encode is None:
            chars = getattr(model_or_weights, "chars", None)
            if embed is None or chars is None:
                raise ValueError(tr("pass encode= to turn the string into (T, D) inputs"))
            index = {ch: k for k, ch in enumerate(chars)}
            with torch.no_grad():
                x = embed(torch.tensor([index[ch] for ch in text]))
        else:
            x = encode(text)
        labels = list(text) if labels is None else labels
    else:
        x = sequence
    x = x.detach() if torch.is_tensor(x) else x
    trace = lstm_gate_trace(lstm, x, layer=layer)
    n_units = trace.c.shape[1]
    if units is None:
        chosen = np.arange(min(n_units, 32))
    elif isinstance(units, int):
        chosen = np.arange(min(n_units, units))
    else:
        chosen = np.asarray(units, dtype=int)
    names = _labels(labels, trace.c.shape[0])
    fig = _static_figure(trace, names, chosen, title)
    if widgets_enabled(interactive):
        display(lstm_gate_widget(trace, names, chosen))
    return fig
