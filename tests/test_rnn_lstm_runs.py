"""Notebook 08's seeded demonstrations, and the pretrained character-level LSTM in data/.

Where the prose of ``notebooks/08_rnn_lstm`` states what a seeded demonstration shows (rather
than printing it from the run), these tests run the cells behind the statement from the source
notebook at the learner's default amounts of work and check it, so the prose cannot drift from
what the code computes. They also check that the notebook's training loop is the recipe that
made ``data/char_lstm.pt``, and that the shipped weights load and predict the validation text.
Nothing here depends on how fast anything runs.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os
import sys
import types
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from course import char_lstm
from course.data import data_path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "08_rnn_lstm" / "rnn_lstm.ipynb"


@pytest.fixture
def run_cells(monkeypatch):
    """run_cells(ids) executes those cells of notebook 08, in order, in one namespace (returned).

    The learner's budgets apply (the grader's scale is removed from the environment), and torch's
    thread count, which the notebook's setup cell changes, is restored afterwards.
    """
    pytest.importorskip("matplotlib").use("Agg")
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_BUDGET_SCALE", raising=False)
    monkeypatch.delenv("COURSE_RESULTS_FILE", raising=False)
    cells = {cell.get("id"): cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells}
    module = types.ModuleType("notebook_08_rnn_lstm")
    threads = torch.get_num_threads()
    sys.modules[module.__name__] = module
    previous = os.getcwd()
    os.chdir(NOTEBOOK.parent)

    def run(ids: list[str]) -> dict:
        with contextlib.redirect_stdout(io.StringIO()):
            for cid in ids:
                exec(compile(cells[cid].source, f"{NOTEBOOK.name}[{cid}]", "exec"), module.__dict__)  # noqa: S102
        return module.__dict__

    yield run
    os.chdir(previous)
    del sys.modules[module.__name__]
    torch.set_num_threads(threads)


def test_vanishing_and_exploding_gradient_claims(run_cells):
    ns = run_cells(["setup", "vanish-rnn-demo", "init_forget_bias", "vanish-lstm-demo"])
    norms = {}
    for gain in (0.5, 0.9, 1.0, 2.0):  # the loop of cell vanish-rnn-demo
        rnn = torch.nn.RNN(ns["D_lag"], ns["H_lag"], batch_first=True).double()
        with torch.no_grad():
            rnn.weight_hh_l0.copy_(gain * ns["orthogonal"])
        norms[gain] = ns["input_grad_norms"](rnn, ns["x_lag"])
    # "Below gain 1 the gradient falls by many orders of magnitude within a few dozen steps"
    assert norms[0.5][30] / norms[0.5][0] < 1e-6
    assert norms[0.9][50] / norms[0.9][0] < 1e-4
    # "Even at gain 1 the tanh's slope (below 1) makes it decay"
    assert norms[1.0][99] < norms[1.0][0]
    # "At gain 2 it grows with the lag instead: the oldest inputs get the largest gradients, by orders of magnitude"
    assert np.argmax(norms[2.0]) > 90 and norms[2.0].max() / norms[2.0][0] > 100
    lstm_norms = {label: ns["input_grad_norms"](layer, ns["x_lag"]) for label, layer in ns["layers_lag"].items()}
    ratio = {label: n[50] / n[0] for label, n in lstm_norms.items()}
    # "its gradient still decays exponentially, though more slowly than the RNN's"
    assert ratio["RNN"] < ratio["LSTM"] < 1e-2
    # "the gradient from 50 steps back is then orders of magnitude larger"
    assert ratio["LSTM, forget bias 3"] > 100 * ratio["LSTM"]


def test_memory_task_lstm_solves_it_rnn_stays_at_chance(run_cells):
    ns = run_cells(["setup", "init_forget_bias", "memory-data", "memory-loop", "memory-budget", "memory-train"])
    # intro and closing cell: "an LSTM remember one bit across 100 noisy steps where a plain RNN stays at chance"
    assert ns["verdict"](ns["acc_lstm"]) == "solves the task"
    assert ns["verdict"](ns["acc_rnn"]) == "stays at chance"
    # viewer-md: "the forget gates (near 1 at every step ...), the input gates (mostly shut ...)"
    from course.lstm_viewer import lstm_gate_trace

    x_show, _ = ns["memory_batch"](1, torch.Generator().manual_seed(3))
    trace = lstm_gate_trace(ns["recall_lstm"].rnn, x_show[0])
    assert trace.f.mean() > 0.9
    assert trace.i[1:].mean() < 0.2


def test_notebook_training_loop_is_the_pretraining_recipe(run_cells):
    ns = run_cells(["setup", "char-data", "char-model", "char-loop"])
    assert ns["chars"] == list(char_lstm.corpus_ids()[0])
    torch.manual_seed(0)
    in_notebook = char_lstm.CharLSTM(ns["chars"])
    ns["train_char_lstm"](in_notebook, 4, evaluations=1)
    torch.manual_seed(0)
    in_course = char_lstm.CharLSTM(ns["chars"])
    char_lstm.train(in_course, ns["train_ids"], 4)
    for (name, a), b in zip(in_notebook.state_dict().items(), in_course.state_dict().values(), strict=True):
        assert torch.equal(a, b), f"{name} differs between the notebook's train_char_lstm and course.char_lstm.train"


def test_pretrained_char_lstm_loads_verified_and_predicts_the_validation_text():
    path = data_path(char_lstm.WEIGHTS)  # raises unless the checksum in SHA256SUMS matches
    assert path.stat().st_size < 3 * 2**20
    model = char_lstm.load_pretrained_char_lstm()
    chars, _, val_ids = char_lstm.corpus_ids()
    assert "".join(model.chars) == chars and not model.training
    logits, (h, c) = model(torch.zeros(2, 5, dtype=torch.long))
    assert logits.shape == (2, 5, len(chars)) and h.shape == c.shape == (1, 2, 256)
    # the notebook's evaluation: the first 20,000 validation characters (the unigram baseline is 3.3)
    assert char_lstm.validation_loss(model, val_ids, 20_000) < 1.6


def test_higher_temperature_samples_fewer_real_words(run_cells):
    # sample-md: "tau > 1 flattens it (more surprising, more misspelt)", measured as in char-sample-temperature
    ns = run_cells(["setup", "char-data", "char-model", "char-sample"])
    pretrained = char_lstm.load_pretrained_char_lstm()
    shares = [ns["word_share"](ns["sample"](pretrained, "ROMEO:\n", 600, t)) for t in (0.5, 1.0, 1.5)]
    assert shares[0] > shares[1] > shares[2]


def test_bench_reads_the_step_budget_of_the_notebook():
    spec = importlib.util.spec_from_file_location("bench_char_lstm", REPO / "bench" / "char_lstm.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    steps = bench.default_steps(bench.notebook_cells())
    assert isinstance(steps, int) and steps > 0
