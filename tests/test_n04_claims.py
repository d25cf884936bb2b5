"""Claims notebook 04's prose makes about its deterministic cells: window counts at the border, X_col sizes."""

from __future__ import annotations

import pytest
from test_notebook_claims import run_cells


def test_04_border_pixels_sit_in_fewer_than_nine_windows():
    pytest.importorskip("matplotlib").use("Agg")
    count = run_cells("04_im2col", ["setup", "col2im", "coverage"])["count"]
    # "a pixel on an edge or in a corner is copied fewer times" (3x3, stride 1, padding 1)
    assert (count[0, 0], count[0, 3], count[3, 3]) == (4, 6, 9)
    assert (count < 9).sum() == 20 and count.max() == 9
    ns = run_cells("04_im2col", ["setup", "col2im", "memory"])
    # "X_col is exactly 9 times the input, yet the mean count is below nine"
    assert ns["ratios"]["VGG conv1_2"] == 9 and ns["mean_count"]["VGG conv1_2"] < 9
    # without padding the ratio is the mean count (AlexNet conv1)
    assert ns["mean_count"]["AlexNet conv1"] == pytest.approx(ns["ratios"]["AlexNet conv1"], rel=1e-6)


def test_04_step_counts_in_the_prose():
    # "3025 steps" (AlexNet), "50176" (VGG at 224), "3136" (VGG at 56 with padding 1), "121" and "9" offsets
    assert ((227 - 11) // 4 + 1) ** 2 == 3025
    assert ((224 + 2 - 3) // 1 + 1) ** 2 == 50176
    assert ((56 + 2 - 3) // 1 + 1) ** 2 == 3136
    assert (11 * 11, 3 * 3) == (121, 9)
