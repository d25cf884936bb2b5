"""End to end through real nbgrader: release, grade the three sample students, feedback, CSV."""

import csv
import subprocess
import sys

import nbformat
import pytest

from autograder import paths
from autograder.assignments import NOT_RUN, graded_chain


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_WORK", str(tmp_path / "work"))
    return tmp_path / "work"


def test_demo_grades_every_notebook_as_expected(work):
    out = subprocess.run(
        [sys.executable, "-m", "autograder", "demo", "--timeout", "400"],
        capture_output=True,
        text=True,
        cwd=paths.REPO,
        timeout=3000,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "every sample got the score it should" in out.stdout
    rows = list(csv.DictReader((work / "demo" / "grades.csv").open()))
    assert {r["status"] for r in rows} == {"graded"}
    assert {r["student"] for r in rows} == {"complete", "untouched", "one_wrong"}
    feedback = list((work / "demo" / "feedback").glob("*/*/*.html"))
    assert len(feedback) == len(rows)
    autograded = list((work / "demo" / "autograded").glob("*/*/*.ipynb"))
    assert len(autograded) == len(rows)
    for path in autograded:  # demonstrations no test depends on are not run, and say so
        other = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code" and not graded_chain(c)]
        assert other and all([o.text for o in c.outputs] == [f"[grader] {NOT_RUN}\n"] for c in other), path
    class_files = ["gradebook.db", "grades.csv", "results", "feedback", "submitted", "autograded"]
    assert not [name for name in class_files if (work / name).exists()], "the demo touched the class's files"


def test_workspace_never_overwrites_a_students_work(work, tmp_path):
    from autograder.release import workspace

    dest = tmp_path / "mywork"
    copied, kept = workspace(dest)
    assert copied and not kept
    mine = copied[0]
    mine.write_text(mine.read_text().replace("YOUR CODE HERE", "my answer"))
    copied_again, kept = workspace(dest)
    assert not copied_again and mine in kept
    assert "my answer" in mine.read_text()
    copied[-1].unlink()
    assert workspace(dest)[0] == [copied[-1]], "only the missing notebook is released again"


def test_a_complete_workspace_runs_no_nbgrader(work, tmp_path, monkeypatch):
    import autograder.release

    dest = tmp_path / "mywork"
    autograder.release.workspace(dest)
    monkeypatch.setattr(autograder.release, "release", lambda *a: pytest.fail("released again"))
    copied, kept = autograder.release.workspace(dest)
    assert not copied and len(kept) == len(autograder.release.all_assignments())
