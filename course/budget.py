"""Amounts of work for demonstrations that train or search: full for a learner, small under the grader.

A notebook writes ``STEPS = budget(600)``: a learner's run does 600 steps (or epochs, samples,
whatever the unit the notebook names) and may raise it; under nbgrader (``NBGRADER_EXECUTION``
is set to ``autograde`` or ``validate``) the same demonstration does a small fixed share of that
work, so grading stays fast. Budgets count work, never seconds: a seeded demonstration prints the
same figures on a busy machine as on an idle one, only later. Graded tests never depend on how
long anything trained.

``COURSE_BUDGET_SCALE`` (a float) overrides the factor, e.g. ``COURSE_BUDGET_SCALE=3`` for the
longer runs the benchmarks report.
"""

from __future__ import annotations

import os

__all__ = ["GRADER_SCALE", "budget", "budget_scale", "under_grader"]

GRADER_SCALE = 0.05
"""Fraction of a budget kept under the grader."""


def under_grader() -> bool:
    """True when nbgrader is executing this notebook (autograde or validate)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def budget_scale() -> float:
    """The factor applied to every budget: COURSE_BUDGET_SCALE, else GRADER_SCALE under the grader, else 1."""
    override = os.environ.get("COURSE_BUDGET_SCALE")
    if override:
        return float(override)
    return GRADER_SCALE if under_grader() else 1.0


def budget(amount: int, *, minimum: int = 1) -> int:
    """Units of work a demonstration does: ``round(amount * budget_scale())``, never below `minimum`.

    >>> budget(600)            # 600 for a learner, 30 under the grader
    """
    return max(minimum, round(amount * budget_scale()))
