"""Preflight: every way a submitted file can be damaged or misnamed gets a clear verdict, fast (no kernel)."""

import json

import nbformat
import pytest

from autograder.assignments import find_assignment, nbgrader_meta
from autograder.preflight import MAX_CLEAN_BYTES, prepare
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
    notes = suspicious(released)
    assert len(notes) == 1 and "np.allclose" in notes[0] and "_getframe" in notes[0]
    assert suspicious(NEURON.released()) == []
