"""A demonstration's result figures: printed for the reader, collected for the benchmarks and tests.

A notebook cell that trains or searches ends with, for example::

    result("LeNet-5 test accuracy", accuracy, "{:.2%}")

which prints ``LeNet-5 test accuracy: 98.71%``. When ``COURSE_RESULTS_FILE`` names a file (as
``bench/notebooks.py`` and the load tests set it), the figure is also appended to that file as
one JSON line ``{"name": ..., "value": ...}``, so a run on a busy machine can be compared with
one on an idle machine figure by figure.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from course.i18n import tr

__all__ = ["read_results", "result"]


def result(name: str, value: float, fmt: str = "{:.4g}") -> float:
    """Print ``name: value`` (formatted with `fmt`), record it when collecting; returns `value`."""
    print(tr("{name}: {value}", name=name, value=fmt.format(value)))
    target = os.environ.get("COURSE_RESULTS_FILE")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps({"name": name, "value": float(value)}) + "\n")
    return value


def read_results(path: str | Path) -> dict[str, float]:
    """The figures recorded in `path`, by name (a later figure of the same name wins)."""
    p = Path(path)
    if not p.exists():
        return {}
    lines = p.read_text(encoding="utf-8").splitlines()
    return {r["name"]: r["value"] for r in map(json.loads, filter(None, lines))}
