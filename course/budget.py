"""Time budgets for demonstrations that train: full length for a learner, short under the grader.

A notebook writes ``TRAIN_SECONDS = budget(60)``: a learner gets 60 s and may raise it; when the
notebook runs under nbgrader (``NBGRADER_EXECUTION`` is set to ``autograde`` or ``validate``)
or under the course's tests, the budget shrinks so grading stays fast. Graded tests never
depend on how long anything trained.

``COURSE_BUDGET_SCALE`` (a float) overrides the factor, e.g. ``COURSE_BUDGET_SCALE=3`` for
the longer runs the benchmarks report.
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


def budget(seconds: float, *, minimum: float = 0.5) -> float:
    """Seconds a demonstration may run: ``seconds * budget_scale()``, never below `minimum`."""
    return max(minimum, seconds * budget_scale())
