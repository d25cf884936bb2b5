"""Notebook 08's look inside the char-LSTM: the features, the correlations and the unit states it reads.

The cells run from the source notebook (the learner's default amounts of work), so what the
notebook prints about which units track what is computed by the code tested here.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "08_rnn_lstm" / "rnn_lstm.ipynb"
BEFORE = ["setup", "char-data"]
INSIDE = ["inside-features", "inside-states"]


@pytest.fixture(scope="module")
def ns():
    """The namespace after running the cells the look inside needs (setup, data, pretrained model, states)."""
    pytest.importorskip("matplotlib").use("Agg")
    saved = {
        k: os.environ.pop(k)
        for k in ("NBGRADER_EXECUTION", "COURSE_BUDGET_SCALE", "COURSE_RESULTS_FILE")
        if k in os.environ
    }
    cells = {cell.get("id"): cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells}
    module = types.ModuleType("notebook_08_inside")
    sys.modules[module.__name__] = module
    threads, previous = torch.get_num_threads(), os.getcwd()
    os.chdir(NOTEBOOK.parent)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for cid in BEFORE:
                exec(compile(cells[cid].source, f"{NOTEBOOK.name}[{cid}]", "exec"), module.__dict__)  # noqa: S102
            module.pretrained = module.load_pretrained_char_lstm()  # as the char-pretrained cell loads it
            for cid in INSIDE:
                exec(compile(cells[cid].source, f"{NOTEBOOK.name}[{cid}]", "exec"), module.__dict__)  # noqa: S102
        yield module.__dict__
    finally:
        os.chdir(previous)
        del sys.modules[module.__name__]
        torch.set_num_threads(threads)
        os.environ.update(saved)


def test_char_features_on_a_known_text(ns):
    s = "ROMEO:\nAy me\nNo\n\nJULIET:\nO"
    f = ns["char_features"](s)
    assert all(len(v) == len(s) for v in f.values())
    line = f["characters since the line began"]
    assert list(line[:9]) == [0, 1, 2, 3, 4, 5, 6, 0, 1]  # "ROMEO:\n" then "Ay"
    word = f["characters since the last space"]
    assert list(word[7:13]) == [1, 2, 0, 1, 2, 0]  # "Ay me\n"
    speaker = f["inside a speaker's name (ROMEO:)"]
    assert speaker[:7].all() and not speaker[7:17].any() and speaker[17:25].all() and not speaker[25:].any()
    speech = f["lines since the speaker's name"]
    assert speech[0] == 0 and speech[7] == 0 and speech[13] == 1 and speech[16] == 2 and speech[-1] == 0


def test_correlations_equal_numpy(ns):
    rng = np.random.default_rng(0)
    acts, feature = rng.standard_normal((300, 5)), rng.standard_normal(300)
    acts[:, 2] += 3 * feature
    want = [np.corrcoef(acts[:, k], feature)[0, 1] for k in range(5)]
    np.testing.assert_allclose(ns["correlations"](acts, feature), want, atol=1e-12)


def test_unit_states_are_torchs_states_at_the_right_characters(ns):
    model, s = ns["pretrained"], ns["look_text"][:2_000]
    h, c, where = ns["unit_states"](model, s, streams=5, warmup=10)
    length = len(s) // 5
    assert h.shape == c.shape == (5 * (length - 10), model.lstm.hidden_size) and len(where) == len(h)
    index = {ch: k for k, ch in enumerate(model.chars)}
    with torch.no_grad():
        for stream in (0, 3):
            ids = torch.tensor([[index[ch] for ch in s[stream * length : (stream + 1) * length]]])
            out, (_, c_last) = model.lstm(model.embed(ids))
            rows = (where >= stream * length) & (where < (stream + 1) * length)
            np.testing.assert_allclose(h[rows], out[0, 10:].double().numpy(), atol=1e-5)
            np.testing.assert_allclose(c[rows][-1], c_last[0, 0].double().numpy(), atol=1e-5)
    assert "".join(s[k] for k in where[: length - 10]) == s[10:length]
