"""Helpers for the deep-learning course: data, checks, gradient checks, plots, timing, budgets, training.

The package holds no answers to the graded exercises; notebooks import it for everything else.
"""

__version__ = "0.1.0"

from course.unfinished import install as _show_unfinished_exercises_in_one_line

_show_unfinished_exercises_in_one_line()
