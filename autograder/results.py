"""One status per student and notebook: the grader's record of what grading gave.

``results/<student>/<assignment>.json`` holds a :class:`Result`; the runner writes it (atomically,
after the gradebook), the report reads it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from autograder import paths

__all__ = ["NOT_GRADED", "Result", "load_results"]

NOT_GRADED = "not graded"
"""The status of a job the machine failed (not the notebook): grade again."""


@dataclass
class Result:
    """What grading one student's notebook gave."""

    student: str
    assignment: str
    notebook: str
    status: str  # "graded", "failed" or NOT_GRADED
    score: float
    max_score: float
    reason: str = ""
    cells: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    submission_sha256: str = ""
    seconds: float = 0.0
    """Wall seconds the job took (for scheduling; never used to decide a grade)."""
    cpu_seconds: float = 0.0
    """CPU seconds the submission's processes used."""
    flags: dict[str, str] = field(default_factory=dict)
    """Test cells whose clean-room run did not hold up (scored 0, held for review), with the reason."""
    sandbox: str = ""
    """How the submission's code was confined: bwrap, or rlimits (resource limits only)."""
    phases: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each phase of the job (``autograder.worker.PHASES``), for ``bench/grading.py``."""

    @property
    def path(self) -> Path:
        return paths.results() / self.student / f"{self.assignment}.json"

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1))
        os.replace(tmp, self.path)


def load_results() -> list[Result]:
    """Every saved result, sorted by student and assignment."""
    found = [Result(**json.loads(p.read_text())) for p in sorted(paths.results().glob("*/*.json"))]
    return sorted(found, key=lambda r: (r.student, r.assignment))
