"""Preflight: every way a submitted file can be damaged or misnamed gets a clear verdict, fast (no kernel)."""

import json
import os

import nbformat
import pytest

from autograder.assignments import find_assignment, nbgrader_meta
from autograder.nofollow import fingerprint
from autograder.preflight import MAX_BYTES, MAX_CLEAN_BYTES, prepare
from autograder.scan import suspicious

NEURON = find_assignment("01_neuron")


@pytest.fixture
def released():
    return NEURON.released()


def submit(tmp_path, nb, name=None):
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    nbformat.write(nb, folder / (name or NEURON.path.name))
    return folder


def test_a_clean_notebook_is_copied_without_outputs(tmp_path, released):
    code = next(c for c in released.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("stream", text="old output")]
    code.execution_count = 3
    check = prepare(submit(tmp_path, released), NEURON, tmp_path / "out")
    assert check.ok and check.notes == []
    out = nbformat.read(tmp_path / "out" / NEURON.path.name, as_version=4)
    assert all(not c.get("outputs") for c in out.cells if c.cell_type == "code")


@pytest.mark.parametrize(
    ("metadata", "graded_as"),
    [(None, "en"), ({"edition": "zh"}, "zh"), ({"edition": "xx"}, "en"), ({"edition": ["zh"]}, "en"), ("zh", "en")],
)
def test_the_edition_a_notebook_claims_is_graded_only_if_the_course_has_it(tmp_path, released, metadata, graded_as):
    """The runner's Job carries it, so the worker grades the edition without reading the notebook again."""
    if metadata is not None:
        released.metadata["dlcourse"] = metadata
    check = prepare(submit(tmp_path, released), NEURON, tmp_path / "out")
    assert check.ok and check.edition == graded_as


def test_a_renamed_copy_is_graded_under_the_expected_name(tmp_path, released):
    check = prepare(submit(tmp_path, released, "neuron-Copy1.ipynb"), NEURON, tmp_path / "out")
    assert check.ok and "renamed" in check.notes[0]
    assert (tmp_path / "out" / NEURON.path.name).is_file()


@pytest.mark.parametrize(
    ("files", "reason"),
    [
        ({}, "no notebook submitted"),
        ({"a.ipynb": "{}", "b.ipynb": "{}"}, "several notebooks"),
        ({"neuron.ipynb": '{"cells": [1, 2'}, "not valid JSON"),
        ({"neuron.ipynb": "[1, 2, 3]"}, "not a Jupyter notebook"),
        ({"neuron.ipynb": json.dumps({"nbformat": 99, "nbformat_minor": 0, "cells": [], "metadata": {}})}, "nbformat"),
    ],
    ids=["missing", "ambiguous", "corrupt", "not-a-notebook", "wrong-version"],
)
def test_unusable_files_are_refused_with_a_reason(tmp_path, files, reason):
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    check = prepare(folder, NEURON, tmp_path / "out")
    assert not check.ok and reason in check.reason
    assert not (tmp_path / "out" / NEURON.path.name).exists()


def test_bytes_that_are_not_utf8_are_replaced(tmp_path, released):
    folder = submit(tmp_path, released)
    path = folder / NEURON.path.name
    path.write_bytes(path.read_bytes().replace(b"One neuron", b"One \xff\xfe neuron"))
    check = prepare(folder, NEURON, tmp_path / "out")
    assert check.ok and any("UTF-8" in n for n in check.notes)


def test_duplicated_grade_ids_keep_the_last_copy(tmp_path, released):
    test = next(c for c in released.cells if nbgrader_meta(c).get("grade"))
    twin = nbformat.from_dict(json.loads(json.dumps(test)))
    twin.id = "twin"
    released.cells.insert(released.cells.index(test), twin)
    check = prepare(submit(tmp_path, released), NEURON, tmp_path / "out")
    assert check.ok and any("more than once" in n for n in check.notes)
    out = nbformat.read(tmp_path / "out" / NEURON.path.name, as_version=4)
    ids = [nbgrader_meta(c).get("grade_id") for c in out.cells if nbgrader_meta(c)]
    assert len(ids) == len(set(ids))


def test_a_huge_notebook_is_refused_after_its_outputs_are_dropped(tmp_path, released):
    cell = next(c for c in released.cells if nbgrader_meta(c).get("solution"))
    cell.source += "\n# " + "x" * (MAX_CLEAN_BYTES + 10)
    check = prepare(submit(tmp_path, released), NEURON, tmp_path / "out")
    assert not check.ok and "too large" in check.reason


def test_code_that_reaches_into_the_grader_is_named_for_review(released):
    cell = next(c for c in released.cells if nbgrader_meta(c).get("solution"))
    cell.source += "\nnp.allclose = lambda *a, **k: True\nimport sys\nframe = sys._getframe(1)\n"
    released.cells.insert(1, nbformat.v4.new_code_cell("import os\nos._exit(3)"))  # never run: not read
    notes = suspicious(released)
    assert len(notes) == 1 and "np.allclose" in notes[0] and "_getframe" in notes[0]
    assert suspicious(NEURON.released()) == []


# links and special files: the grader never reads anything on a link's behalf ----------------------


def _link_notebook_to_source(folder):
    (folder / NEURON.path.name).symlink_to(NEURON.path)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_link_notebook_to_source, "neuron.ipynb is a symbolic link, not a file; submit the file itself"),
        (lambda f: (f / NEURON.path.name).symlink_to("/proc/self/environ"), "is a symbolic link"),
        (lambda f: (f / "renamed.ipynb").symlink_to(NEURON.path), "renamed.ipynb is a symbolic link"),
        (lambda f: os.mkfifo(f / NEURON.path.name), "neuron.ipynb is a named pipe, not a file"),
        (lambda f: (f / NEURON.path.name).mkdir(), "neuron.ipynb is a folder, not a file"),
        (lambda f: (f / "timestamp.txt").symlink_to("/dev/zero"), "timestamp.txt is a symbolic link"),
        (lambda f: os.mkfifo(f / "timestamp.txt"), "timestamp.txt is a named pipe"),
    ],
    ids=["link-to-source", "link-to-proc", "renamed-link", "fifo", "folder", "timestamp-link", "timestamp-fifo"],
)
def test_links_and_special_files_are_refused(tmp_path, released, make, reason):
    folder = tmp_path / "in"
    folder.mkdir()
    if not (folder / NEURON.path.name).exists() and "timestamp" in reason:
        nbformat.write(released, folder / NEURON.path.name)
    make(folder)
    check = prepare(folder, NEURON, tmp_path / "out")
    assert not check.ok and reason in check.reason, check.reason
    assert not (tmp_path / "out" / NEURON.path.name).exists()
    assert fingerprint(folder, MAX_BYTES)  # never blocks on the pipe nor reads through the link


@pytest.mark.parametrize("level", ["assignment", "student"])
def test_a_linked_folder_is_refused(tmp_path, released, level):
    real = submit(tmp_path, NEURON.nb)  # the source notebook, solutions included
    (tmp_path / "class" / "ada").mkdir(parents=True)
    if level == "assignment":
        folder = tmp_path / "class" / "ada" / NEURON.name
        folder.symlink_to(real)
    else:
        (tmp_path / "class" / "bob").symlink_to(tmp_path / "in", target_is_directory=True)
        folder = tmp_path / "class" / "bob" / "in"
    check = prepare(folder, NEURON, tmp_path / "out")
    assert not check.ok and "is a symbolic link; submit the folder itself" in check.reason, check.reason


def test_the_timestamp_travels_with_the_notebook(tmp_path, released):
    folder = submit(tmp_path, released)
    (folder / "timestamp.txt").write_text("2026-11-23T08:44:46 UTC")
    assert prepare(folder, NEURON, tmp_path / "out").ok
    assert (tmp_path / "out" / "timestamp.txt").read_text() == "2026-11-23T08:44:46 UTC"


# encodings JSON allows: read, and said so --------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "label"),
    [("utf-16", "UTF-16"), ("utf-16-le", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32"),
     ("utf-32-le", "UTF-32"), ("utf-8-sig", "UTF-8 with a byte-order mark")],
)  # fmt: skip
def test_a_notebook_saved_as_utf16_or_utf32_is_read_and_named(tmp_path, released, encoding, label):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / NEURON.path.name).write_bytes(nbformat.writes(released).encode(encoding))
    check = prepare(folder, NEURON, tmp_path / "out")
    assert check.ok and check.notes == [
        f"neuron.ipynb was saved as {label} (Jupyter saves UTF-8); it was read as {label}"
    ]
    out = nbformat.read(tmp_path / "out" / NEURON.path.name, as_version=4)
    assert [c.source for c in out.cells] == [c.source for c in released.cells]


def test_a_damaged_utf16_file_is_named_as_utf16(tmp_path, released):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / NEURON.path.name).write_bytes(nbformat.writes(released).encode("utf-16")[:999])
    check = prepare(folder, NEURON, tmp_path / "out")
    assert not check.ok and "neuron.ipynb is UTF-16 text but not valid JSON" in check.reason, check.reason


# nbgrader metadata realigned to the source by cell id ----------------------------------------------


def _graded(nb):
    return {c.id: nbgrader_meta(c) for c in nb.cells if nbgrader_meta(c)}


def _prepared(tmp_path, nb):
    check = prepare(submit(tmp_path, nb), NEURON, tmp_path / "out")
    assert check.ok, check.reason
    return check, nbformat.read(tmp_path / "out" / NEURON.path.name, as_version=4)


def test_stripped_metadata_is_restored_from_the_source(tmp_path, released):
    for cell in released.cells:
        cell.metadata.pop("nbgrader", None)
    _, out = _prepared(tmp_path, released)
    assert _graded(out) == _graded(NEURON.nb)


def test_forged_points_and_grade_flags_are_ignored(tmp_path, released):
    solution = next(c for c in released.cells if nbgrader_meta(c).get("solution"))
    solution.metadata["nbgrader"].update(grade=True, points=1000)
    test = next(c for c in released.cells if c.id in NEURON.test_cells)
    test.metadata["nbgrader"]["points"] = 1000
    bonus = {"schema_version": 3, "grade": True, "solution": False, "locked": True, "grade_id": "bonus", "points": 1000}
    released.cells.append(nbformat.v4.new_code_cell("pass", metadata={"nbgrader": bonus}))
    check, out = _prepared(tmp_path, released)
    assert _graded(out) == _graded(NEURON.nb)
    assert len([n for n in check.notes if "nbgrader metadata was changed" in n]) == 2
    assert any("claimed to be (bonus)" in n for n in check.notes)


def test_without_cell_ids_cells_are_matched_by_their_grade_id(tmp_path, released):
    data = json.loads(nbformat.writes(released))
    data["nbformat_minor"] = 4
    for cell in data["cells"]:
        del cell["id"]
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            cell["metadata"]["nbgrader"]["points"] = 1000
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / NEURON.path.name).write_text(json.dumps(data))
    assert prepare(folder, NEURON, tmp_path / "out").ok
    out = nbformat.read(tmp_path / "out" / NEURON.path.name, as_version=4)
    assert [nbgrader_meta(c) for c in out.cells] == [nbgrader_meta(c) for c in NEURON.nb.cells]


def test_a_notebook_with_no_exercise_cells_is_refused(tmp_path, released):
    for cell in released.cells:
        cell.id = f"x{cell.id}"[:64]
        cell.metadata.pop("nbgrader", None)
    check = prepare(submit(tmp_path, released), NEURON, tmp_path / "out")
    assert not check.ok and "has none of the exercise cells of 01_neuron" in check.reason, check.reason
