"""Claims the prose of notebooks 01, 03, 04 and 06 makes about their deterministic demonstrations.

Where a markdown cell states what a seeded or purely arithmetic demonstration shows (instead of
printing it from the run), these tests run the cells behind it from the source notebook and check
the statement, so the prose cannot drift away from what the code computes. Conclusions of runs
whose figures depend on the machine (timings) are computed in the notebooks themselves.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import types
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def run_cells(notebook: str, ids: list[str]) -> dict:
    """Execute the cells `ids` of notebooks/<notebook> in order, in one namespace; return it."""
    path = next((NOTEBOOKS / notebook).glob("*.ipynb"))
    cells = {cell.get("id"): cell for cell in nbformat.read(path, as_version=4).cells}
    module = types.ModuleType(f"notebook_{notebook}")  # registered, so that dataclasses can find it
    previous = os.getcwd()
    sys.modules[module.__name__] = module
    os.chdir(path.parent)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for cid in ids:
                exec(compile(cells[cid].source, f"{path.name}[{cid}]", "exec"), module.__dict__)  # noqa: S102
    finally:
        os.chdir(previous)
        del sys.modules[module.__name__]
    return module.__dict__


def test_01_perceptron_learns_and_or_but_not_xor():
    # "the perceptron rule, which learned AND and OR and failed on XOR"
    ns = run_cells("01_neuron", ["setup", "helpers", "perceptron_update", "perceptron-train"])
    mistakes = {name: m for name, (_, _, m) in ns["trained"].items()}
    assert mistakes["AND"][-1] == 0 and mistakes["OR"][-1] == 0
    assert min(mistakes["XOR"]) > 0


def test_03_article_total_and_dilated_field():
    ns = run_cells("03_conv_by_hand", ["setup", "sharing", "receptive_field"])
    # "its total is not the product of its own two factors"
    assert ns["ARTICLE_FEATURES"] != ns["features"] == 400 * 89**2
    # "Dilations 1, 2, 4, ... double the field at every layer" (r -> 2r + 1)
    sizes = ns["receptive_field"]([(3, 1, 2**i) for i in range(6)])
    assert all(b == 2 * a + 1 for a, b in zip(sizes, sizes[1:], strict=False))


def test_04_patch_matrix_sizes():
    pytest.importorskip("matplotlib").use("Agg")
    ns = run_cells("04_im2col", ["setup", "im2col", "col2im", "memory"])
    ratios = ns["ratios"]
    # "a little below k^2/S^2" for AlexNet conv1; "exactly k^2 = 9" for a VGG 3x3 layer
    assert 0.9 * 121 / 16 < ratios["AlexNet conv1"] < 121 / 16
    assert ratios["VGG conv1_2"] == 9


def test_06_article_table_verdict_and_stack_claims():
    pytest.importorskip("matplotlib").use("Agg")
    ns = run_cells(
        "06_vgg_memory",
        ["setup", "account", "receptive_field", "conv_stack_params", "stack-demo", "vgg-table", "seed-check"],
    )
    # "Every row of the article's table is right ... memory up to rounding"
    assert ns["wrong"] == []
    # "Its totals line is not": far fewer activations than 24M, and 93 MB is not 24M x 4 bytes
    assert ns["total_acts"] < 0.7 * ns["ARTICLE_TOTALS"]["activations"]
    assert round(4 * ns["ARTICLE_TOTALS"]["activations"] / 1e6) != ns["ARTICLE_TOTALS"]["forward MB"]
    # "The parameter total of about 138M is correct"
    assert round(ns["total_params"] / 1e6) == 138
    # "three 3x3 convolutions ... for about half the parameters but keep three times the activations"
    assert ns["ratio"] == 3
    assert 0.5 < ns["conv_stack_params"](256, 3, 3) / ns["conv_stack_params"](256, 7, 1) < 0.6


def test_06_design_budget_claims():
    pytest.importorskip("matplotlib").use("Agg")
    ids = ["setup", "account", "receptive_field", "design_budget", "design-try", "small_vgg", "design-check"]
    ns = run_cells("06_vgg_memory", ids)

    def measures(rows, specs):
        last = max(i for i, s in enumerate(specs) if isinstance(s, ns["Conv"]))
        windows = specs[: last + 1]
        rf = ns["receptive_field"]([s.kernel for s in windows], [s.stride for s in windows])
        return rf, sum(r.act_bytes for r in rows), sum(r.params for r in rows)

    # "VGG-16 with every width divided by 8 ... receptive field and parameters fine, activations far over budget"
    rf, acts, params = measures(ns["shrunk_rows"], ns["shrunk"])
    assert rf >= ns["MIN_RECEPTIVE_FIELD"] and params <= ns["MAX_PARAMS"]
    assert acts > 1.5 * ns["MAX_ACTIVATION_BYTES"]
    # the solution's design meets all three limits, and the accountant agrees with PyTorch
    rf, acts, params = measures(ns["mine_rows"], ns["as_specs"](ns["mine"]))
    assert rf >= ns["MIN_RECEPTIVE_FIELD"] and acts <= ns["MAX_ACTIVATION_BYTES"] and params <= ns["MAX_PARAMS"]
    assert params == ns["n_torch"]
