"""A class on one machine, as the README's instructor section sets it up: real Linux users, nbgrader's
exchange, a PostgreSQL gradebook, the course's grader, nbgrader's feedback release.

One flow, shared by the tests below (module fixture): the instructor releases 01 with
``nbgrader release_assignment``; three students, each a Linux account created here, run
``nbgrader fetch_assignment``, answer and ``nbgrader submit`` with a Python they can run; the
instructor runs ``nbgrader collect``, ``python -m autograder grade`` on what collect wrote (as it
is), ``feedback``, ``export`` and ``nbgrader release_feedback``; the students ``nbgrader
fetch_feedback``. The gradebook is a private PostgreSQL server whose URL (with its password) sits
in the instructor's own nbgrader_config.py. The same collected submissions are graded again with
the default SQLite gradebook for comparison.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from redteam.corpus import Context, complete, partial, zeros
from services import postgres, postgres_missing, student_account, students_python, users_missing

from autograder import paths
from autograder.assignments import find_assignment
from autograder.feedback import hidden_test_lines
from autograder.sandbox import resolve_mode

NEURON = find_assignment("01_neuron")
PASSWORD = "pw-" + os.urandom(8).hex()
SNOOP = f"""
import os, glob
_seen = any({PASSWORD!r} in v for v in os.environ.values())
for _path in glob.glob("/etc/**", recursive=True) + glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline") + \\
        glob.glob(os.path.expanduser("~") + "/.jupyter/*"):
    try:
        with open(_path, "rb") as _f:
            _seen = _seen or {PASSWORD!r}.encode() in _f.read(2**20)
    except OSError:
        pass
print("database password seen:", "YES" if _seen else "no")
"""
FORMGRADER = f"""
import json
from autograder.nbgrader_api import api
print(json.dumps({{s["student"]: s["score"] for s in api().get_submissions({NEURON.name!r})}}))
"""
"""The scores the formgrader's assignment page shows (its handler calls this API method)."""
KERNEL_CHECK = """
import course, course.data
x, y = course.data.load_mnist("test")
print(course.__file__, len(x))
"""
"""What a student's kernel needs: the installed ``course`` package and the data (``COURSE_DATA``)."""
CLASS = {"dlc-ada": complete, "dlc-bob": partial, "dlc-cy": zeros}
"""Students (Linux accounts) and how each answers."""
GRADE = ["--assignment", NEURON.name, "--timeout", "120", "--cell-timeout", "15", "--workers", "2"]

pytestmark = [
    pytest.mark.xdist_group("grading"),
    pytest.mark.skipif(bool(users_missing()), reason=users_missing() or "-"),
    pytest.mark.skipif(bool(postgres_missing()), reason=postgres_missing() or "-"),
]


def _run(argv: list[str], env: dict[str, str], cwd: Path, user: str | None = None) -> str:
    prefix = ["runuser", "-u", user, "--", "env", "-i", *[f"{k}={v}" for k, v in env.items()]] if user else []
    out = subprocess.run([*prefix, *argv], capture_output=True, text=True, cwd=cwd, env=None if user else env)
    assert out.returncode == 0, f"{' '.join(argv[:4])} failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out.stdout + out.stderr


def _config(folder: Path, **settings: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["c = get_config()  # noqa: F821"] + [
        f"c.{key.replace('__', '.')} = {value!r}" for key, value in settings.items()
    ]
    (folder / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    os.chmod(folder, 0o755)
    os.chmod(folder / "nbgrader_config.py", 0o644)
    return folder


def _scores(csv_path: Path) -> dict[str, tuple[str, str]]:
    return {r["student"]: (r["score"], r["status"]) for r in csv.DictReader(csv_path.open())}


@pytest.fixture(scope="module")
def flow():
    root = Path(tempfile.mkdtemp(prefix="dlcourse-class-"))
    os.chmod(root, 0o755)
    exchange = root / "exchange"
    exchange.mkdir(mode=0o777)
    os.chmod(exchange, 0o777)
    work = root / "work"
    python = students_python(root)
    students_config = _config(
        root / "students-config", Exchange__root=str(exchange), CourseDirectory__course_id="dlcourse"
    )
    with postgres(PASSWORD) as db_url:
        instructor_config = _config(root / "instructor-config", CourseDirectory__db_url=db_url)
        os.chmod(instructor_config / "nbgrader_config.py", 0o600)  # the password: the instructor's only
        (instructor_config / "nbgrader_config.py").write_text(
            (instructor_config / "nbgrader_config.py").read_text() + f"c.Exchange.root = {str(exchange)!r}\n"
        )
        teacher = {**os.environ, "AUTOGRADER_WORK": str(work), "JUPYTER_CONFIG_DIR": str(instructor_config)}
        teacher.pop("AUTOGRADER_DB_URL", None)
        nbgrader = [sys.executable, "-m", "nbgrader"]
        _run([sys.executable, "-m", "autograder", "release", "--assignment", NEURON.name], teacher, paths.REPO)
        _run([*nbgrader, "release_assignment", NEURON.name], teacher, paths.REPO)

        ctx = Context(NEURON, NEURON.released(), paths.REPO, work, root / "canaries", 9)
        homes, kernels = {}, {}
        for student, answers in CLASS.items():
            account = student_account(student)
            home = Path(account.pw_dir)
            shutil.rmtree(home / NEURON.name, ignore_errors=True)
            env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "JUPYTER_CONFIG_DIR": str(students_config)}
            _run([str(python), "-m", "nbgrader", "fetch_assignment", NEURON.name], env, home, user=student)
            kernel = _run([str(python), "-c", KERNEL_CHECK], {**env, "COURSE_DATA": str(paths.REPO / "data")}, home,
                          user=student)  # fmt: skip
            mine = home / NEURON.name / NEURON.path.name
            assert mine.is_file() and mine.stat().st_uid == account.pw_uid, "fetched as the student"
            nb = answers(ctx)
            if student == "dlc-ada":  # her first answer also looks for the database password
                first = next(c for c in nb.cells if c.get("id") == NEURON.exercises[0].solution_id)
                first.source = SNOOP + "\n" + first.source
            nbformat.write(nb, mine)
            shutil.chown(mine, account.pw_uid, account.pw_gid)
            _run([str(python), "-m", "nbgrader", "submit", NEURON.name], env, home, user=student)
            homes[student] = (home, env)
            kernels[student] = kernel

        _run([*nbgrader, "collect", NEURON.name], teacher, paths.REPO)
        collected = {p: p.read_bytes() for p in (work / "submitted").rglob("*") if p.is_file()}
        _run([sys.executable, "-m", "autograder", "grade", *GRADE], teacher, paths.REPO)
        _run([sys.executable, "-m", "autograder", "feedback", "--assignment", NEURON.name], teacher, paths.REPO)
        _run([sys.executable, "-m", "autograder", "export", "--to", str(work / "grades.csv")], teacher, paths.REPO)
        _run([*nbgrader, "export", "--to", str(work / "nbgrader.csv")], teacher, paths.REPO)
        formgrader = _run([sys.executable, "-c", FORMGRADER], teacher, paths.REPO)
        again = _run([sys.executable, "-m", "autograder", "feedback"], teacher, paths.REPO)
        _run([sys.executable, "-m", "autograder", "export", "--student", "dlc-bob", "--to", str(work / "bob.csv")],
             teacher, paths.REPO)  # fmt: skip
        _run([*nbgrader, "release_feedback", NEURON.name], teacher, paths.REPO)
        fetched = {}
        for student, (home, env) in homes.items():
            _run([str(python), "-m", "nbgrader", "fetch_feedback", NEURON.name], env, home, user=student)
            fetched[student] = sorted((home / NEURON.name / "feedback").glob(f"*/{NEURON.notebook}.html"))

        sqlite_work = root / "work-sqlite"
        plain = {**teacher, "AUTOGRADER_WORK": str(sqlite_work), "JUPYTER_CONFIG_DIR": str(root / "no-config")}
        _run([sys.executable, "-m", "autograder", "grade", "--submissions", str(work / "submitted"), *GRADE], plain,
             paths.REPO)  # fmt: skip
        _run([sys.executable, "-m", "autograder", "export", "--to", str(sqlite_work / "grades.csv")], plain, paths.REPO)
        yield {"work": work, "sqlite": sqlite_work, "fetched": fetched, "collected": collected, "kernels": kernels,
               "python": python, "formgrader": json.loads(formgrader.splitlines()[-1]), "again": again}  # fmt: skip
    for student in CLASS:
        subprocess.run(["userdel", "--remove", student], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def test_students_kernels_get_the_installed_course_and_the_data(flow):
    for student, printed in flow["kernels"].items():
        where, count = printed.split()[-2:]
        assert Path(where).is_relative_to(flow["python"].parent.parent), f"{student} imported {where}"
        assert int(count) == 10_000


def test_collected_submissions_are_graded_as_collected(flow):
    work = flow["work"]
    for student in CLASS:
        names = {p.name for p in flow["collected"] if p.parent == work / "submitted" / student / NEURON.name}
        assert {"timestamp.txt", "submission_secret.txt", NEURON.path.name} <= names
    after = {p: p.read_bytes() for p in (work / "submitted").rglob("*") if p.is_file()}
    assert after == flow["collected"], "grading changed what nbgrader collect wrote"
    ours = _scores(work / "grades.csv")
    assert ours == {
        "dlc-ada": (f"{NEURON.max_points:g}", "graded"),
        "dlc-bob": (f"{NEURON.max_points - NEURON.exercises[0].points:g}", "graded"),
        "dlc-cy": ("0", "graded"),
    }


def test_the_formgrader_and_the_course_csv_agree(flow):
    """nbgrader's own export reads the gradebook the formgrader shows."""
    theirs = {r["student_id"]: float(r["score"]) for r in csv.DictReader((flow["work"] / "nbgrader.csv").open())
              if r["assignment"] == NEURON.name}  # fmt: skip
    ours = {s: float(score) for s, (score, _) in _scores(flow["work"] / "grades.csv").items()}
    assert theirs == ours


def test_the_formgrader_shows_the_course_csv_scores(flow):
    ours = {s: float(score) for s, (score, _) in _scores(flow["work"] / "grades.csv").items()}
    assert flow["formgrader"] == ours


def test_feedback_is_rebuilt_only_for_new_grades_and_export_filters(flow):
    assert "wrote 0 feedback files" in flow["again"] and f"{len(CLASS)} already up to date" in flow["again"]
    assert [r["student"] for r in csv.DictReader((flow["work"] / "bob.csv").open())] == ["dlc-bob"]


def test_postgresql_and_sqlite_give_the_same_scores(flow):
    assert not (flow["work"] / "gradebook.db").exists(), "a SQLite file appeared beside the PostgreSQL gradebook"
    assert (flow["sqlite"] / "gradebook.db").is_file()
    assert _scores(flow["work"] / "grades.csv") == _scores(flow["sqlite"] / "grades.csv")


def test_each_student_fetches_their_own_feedback(flow):
    hidden = hidden_test_lines(NEURON)
    for student, pages in flow["fetched"].items():
        assert len(pages) == 1, f"{student} fetched {pages}"
        page = " ".join(pages[0].read_text().split())
        assert not [line for line in hidden if line in page], f"{student}'s feedback shows hidden tests"
    ada = flow["fetched"]["dlc-ada"][0].read_text()
    assert "database password seen:" in ada
    if resolve_mode("auto")[0] == "bwrap":
        assert "database password seen: no" in ada, "student code read the gradebook's password"
