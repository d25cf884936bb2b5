"""The 中文 edition: built from the English source and a translation file, never stale, released apart."""

import copy
import io
import subprocess
import sys
import tokenize

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from autograder import edition
from autograder.assignments import all_assignments, find_assignment, nbgrader_meta
from autograder.paths import REPO

ASSIGNMENTS = all_assignments()


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_WORK", str(tmp_path / "work"))
    return tmp_path / "work"


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
def test_the_translation_is_complete_and_current(assignment):
    """Every cell a student reads is translated, from the English as it is now (else: which cell)."""
    translation = edition.Translation.of(assignment.path, "zh")
    assert edition.problems(assignment.nb, translation) == []


def test_every_edition_has_the_courses_words_and_a_translation_of_each_notebook():
    """One list of editions: the grader's (autograder.edition), the course's messages (course.i18n), the CLI's."""
    from autograder.cli import _editions
    from course import i18n

    assert tuple(edition.EDITIONS) == i18n.LANGUAGES
    assert _editions() == "en (English), zh (中文)"
    for lang in set(edition.EDITIONS) - {"en"}:
        assert all(edition.translation_path(a.path, lang).exists() for a in ASSIGNMENTS), lang


def test_a_changed_english_cell_is_named_until_it_is_translated_again():
    neuron = find_assignment("01_neuron")
    translation = edition.Translation.of(neuron.path, "zh")
    english = copy.deepcopy(neuron.nb)
    markdown = next(c for c in english.cells if c.cell_type == "markdown" and c.id != "intro")
    markdown.source += "\nOne more sentence."
    code = next(c for c in english.cells if c.cell_type == "code" and translation.cells.get(c.id, None) is not None
                and translation.cells[c.id].replace)  # fmt: skip
    gone = translation.cells[code.id].replace[0][0]
    code.source = code.source.replace(gone, "# another comment")
    english.cells.append(nbformat.v4.new_markdown_cell("A new paragraph nobody translated.", id="new-cell"))

    found = edition.problems(english, translation)
    assert any(p.startswith(f"cell {markdown.id!r}: the English changed") for p in found), found
    assert any(p.startswith(f"cell {code.id!r}: the English changed") for p in found), found
    assert any(p.startswith(f"cell {code.id!r}: {gone[:60]!r} no longer occurs") for p in found), found
    assert "cell 'new-cell': not translated" in found
    assert edition.problems(neuron.nb, translation) == []


def test_the_build_is_reproducible_and_keeps_code_and_grading(tmp_path):
    runs = []
    for out in (tmp_path / "a", tmp_path / "b"):
        cmd = [sys.executable, "-m", "autograder", "translation", "build", "--out", str(out)]
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        runs.append({p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*.ipynb"))})
    assert runs[0] == runs[1] and len(runs[0]) == len(ASSIGNMENTS)
    for a in ASSIGNMENTS:
        zh = nbformat.reads(runs[0][a.path.relative_to(a.path.parents[1])].decode(), as_version=4)
        assert edition.edition_of(zh) == "zh"
        assert [(c.id, c.cell_type, nbgrader_meta(c)) for c in zh.cells] == [
            (c.id, c.cell_type, nbgrader_meta(c)) for c in a.nb.cells
        ], "same cells, grade ids and points"
        switch = zh.cells[[c.cell_type for c in zh.cells].index("code")]
        assert switch.source.startswith('from course import i18n; i18n.use("zh")')
        switch.source = switch.source.split("\n", 1)[1]
        for mine, english in zip(zh.cells, a.nb.cells, strict=True):  # only words change, never the code
            if english.cell_type == "code":
                assert _code(mine.source) == _code(english.source), f"{a.name}: {english.id}"


def _code(source: str) -> list[str]:
    """A code cell's tokens without its comments, strings and line breaks inside brackets."""
    lines = "".join("\n" if ln.lstrip().startswith(("%", "!")) else ln for ln in source.splitlines(keepends=True))
    skip = {tokenize.COMMENT, tokenize.STRING, tokenize.NL}
    return [t.string for t in tokenize.generate_tokens(io.StringIO(lines).readline) if t.type not in skip]


def test_the_release_in_chinese_holds_no_translation_file_and_validates(work):
    from autograder.release import release

    neuron = find_assignment("01_neuron")
    (notebook,) = release([neuron], "zh")
    assert not list(notebook.parent.glob("*.yaml")), "translation files hold hidden tests: never released"
    nb = nbformat.read(notebook, as_version=4)
    assert edition.edition_of(nb) == "zh" and 'i18n.use("zh")' in nb.cells[1].source
    assert "### BEGIN HIDDEN TESTS" not in nbformat.writes(nb)
    assert "一个神经元" in nb.cells[0].source
    for cell in nb.cells:  # nbgrader's Validate would call a translated locked cell edited otherwise
        if "checksum" in nbgrader_meta(cell):
            assert cell.metadata.nbgrader.checksum == compute_checksum(cell), cell.id


def test_each_edition_has_its_own_workspace(work, tmp_path):
    from autograder.release import workspace

    mywork = tmp_path / "mywork"
    english, _ = workspace(mywork)
    chinese, _ = workspace(mywork / "zh", "zh")
    assert len(english) == len(chinese) == len(ASSIGNMENTS)
    mine = english[0]
    mine.write_text(mine.read_text().replace("YOUR CODE HERE", "my answer"))
    assert not workspace(mywork / "zh", "zh")[0], "switching back releases nothing"
    assert "my answer" in mine.read_text()
    assert edition.edition_of(nbformat.read(chinese[0], as_version=4)) == "zh"
    assert edition.edition_of(nbformat.read(english[1], as_version=4)) == "en"


@pytest.fixture(scope="module")
def graded_in_chinese(tmp_path_factory):
    """Notebook 01's 中文 edition through the real grader: complete, untouched, and one exercise left."""
    import csv
    import os

    work, subs = tmp_path_factory.mktemp("work"), tmp_path_factory.mktemp("submitted")
    env = {**os.environ, "AUTOGRADER_WORK": str(work)}
    neuron = find_assignment("01_neuron")
    chinese = neuron.in_edition("zh")
    _run(env, "release", "--assignment", neuron.name, "--edition", "zh")
    release = nbformat.read(work / "release" / neuron.name / neuron.path.name, as_version=4)
    one_wrong = copy.deepcopy(release)
    for cell in one_wrong.cells:
        if nbgrader_meta(cell).get("solution") and cell.id != "sigmoid":
            cell.source = chinese.cell(cell.id).source
    for student, nb in (("complete", chinese.nb), ("untouched", release), ("one_wrong", one_wrong)):
        (subs / student / neuron.name).mkdir(parents=True)
        nbformat.write(nb, subs / student / neuron.name / neuron.path.name)
    _run(env, "grade", "--submissions", str(subs))
    _run(env, "feedback")
    _run(env, "export", "--to", str(work / "grades.csv"))
    scores = {r["student"]: float(r["score"]) for r in csv.DictReader((work / "grades.csv").open())}
    return neuron, work, scores


def _run(env, *args):
    done = subprocess.run(
        [sys.executable, "-m", "autograder", *args], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_chinese_edition_is_graded_like_the_english_one(graded_in_chinese):
    neuron, _, scores = graded_in_chinese
    sigmoid = next(ex for ex in neuron.exercises if ex.solution_id == "sigmoid")
    assert scores == {"complete": neuron.max_points, "untouched": 0, "one_wrong": neuron.max_points - sigmoid.points}


def test_feedback_speaks_chinese_to_a_chinese_submission(graded_in_chinese):
    neuron, work, _ = graded_in_chinese
    page = (work / "feedback" / "one_wrong" / neuron.name / f"{neuron.notebook}.html").read_text(encoding="utf-8")
    assert "一个神经元" in page, "the notebook's own text, in 中文"
    assert "[grader] 通过" in page and "[grader] 未通过：NotImplementedError" in page
    assert "[grader] passed" not in page and "[grader] failed" not in page
    assert "（得分：" in page and "(Score:" not in page, "nbgrader's own words on the page too"
    assert "BEGIN HIDDEN TESTS" not in page


def test_the_self_check_speaks_the_notebooks_language(graded_in_chinese, tmp_path):
    """``python -m course.selfcheck`` on a 中文 notebook: its summary and the checks' messages in 中文."""
    neuron, work, _ = graded_in_chinese
    notebook = tmp_path / neuron.path.name
    notebook.write_bytes((work / "release" / neuron.name / neuron.path.name).read_bytes())
    done = subprocess.run(
        [sys.executable, "-m", "course.selfcheck", str(notebook)], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "练习" in done.stdout and "未开始" in done.stdout, done.stdout[-2000:]
    assert "not started" not in done.stdout
