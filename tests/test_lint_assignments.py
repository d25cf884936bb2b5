"""The contract tooling itself: exercise pairing, the release transform and lint's rules."""

import copy

import nbformat
import pytest

from autograder.assignments import Assignment, find_assignment, nbgrader_meta, stub_source
from autograder.lint import lint_assignment
from autograder.report import hidden_test_lines

NEURON = find_assignment("01_neuron")


def test_exercises_pair_each_solution_with_its_test():
    pairs = {ex.solution_id: ex.test_id for ex in NEURON.exercises}
    assert pairs["sigmoid"] == "sigmoid_test"
    assert NEURON.max_points == sum(ex.points for ex in NEURON.exercises)


def test_stub_keeps_the_signature_and_drops_the_answer():
    stub = stub_source(NEURON.cell("softmax").source)
    assert stub.startswith("def softmax(scores):") and "raise NotImplementedError()" in stub
    assert "np.exp" not in stub


def test_release_has_no_solution_or_hidden_test():
    released = nbformat.writes(NEURON.released())
    assert "BEGIN SOLUTION" not in released and "BEGIN HIDDEN TESTS" not in released
    assert hidden_test_lines(NEURON)  # the source does hide something
    assert not any(line in released for line in hidden_test_lines(NEURON))


def _broken_copy(tmp_path, edit) -> Assignment:
    nb = copy.deepcopy(NEURON.nb)
    edit(nb)
    folder = tmp_path / "notebooks" / "01_neuron"
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / "neuron.ipynb")
    return Assignment("01_neuron", folder / "neuron.ipynb")


def _cell(nb, cell_id):
    return next(c for c in nb.cells if c.get("id") == cell_id)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda nb: _cell(nb, "intro").update(source="# no table"), "key-terms table"),
        (
            lambda nb: _cell(nb, "setup").update(outputs=[nbformat.v4.new_output("stream", text="x")]),
            "outputs are not cleared",
        ),
        (
            lambda nb: _cell(nb, "tanh_test").update(source=_cell(nb, "tanh_test").source.split("### BEGIN HIDDEN")[0]),
            "no hidden tests",
        ),
        (lambda nb: _cell(nb, "tanh_test").update(source=_cell(nb, "tanh_test").source + "\ncurves\n"), "curves"),
        (lambda nb: _cell(nb, "tanh_test").update(source=_cell(nb, "tanh_test").source + "\n0.5\n"), "bare expression"),
        (lambda nb: _cell(nb, "tanh_test").update(source=_cell(nb, "tanh_test").source + "\nsigmoid(z)\n"), "sigmoid"),
        (
            lambda nb: (
                nbgrader_meta(_cell(nb, "relu_test")) and _cell(nb, "relu_test").metadata.nbgrader.update(points=0)
            ),
            "points > 0",
        ),
        (lambda nb: nb.cells.remove(_cell(nb, "hinge_loss_test")), "no test cell 'hinge_loss_test'"),
        (
            lambda nb: _cell(nb, "relu").update(source=_cell(nb, "relu").source.replace("### END SOLUTION", "")),
            "lacks ### BEGIN SOLUTION",
        ),
        (
            lambda nb: _cell(nb, "tanh_test").update(
                source=_cell(nb, "tanh_test").source.replace("forbidden =", "banned =")
            ),
            "must start with forbidden = [...]",
        ),
        (
            lambda nb: _cell(nb, "tanh_test").update(source=_cell(nb, "tanh_test").source.replace("by_hand(", "call(")),
            "through by_hand",
        ),
        (
            lambda nb: _cell(nb, "tanh_test").update(
                source=_cell(nb, "tanh_test").source.replace('"torch.tanh"', '"torch.tanhh"')
            ),
            "'torch.tanhh' names nothing",
        ),
        (
            lambda nb: _cell(nb, "tanh_test").update(
                source=_cell(nb, "tanh_test").source.replace('"torch.tanh"', "tanh_ref")
            ),
            "'tanh_ref' is not defined by a locked cell",
        ),
        (lambda nb: _cell(nb, "tanh_test").metadata.update(tags=[]), "lacks the raises-exception tag"),
        (
            lambda nb: _cell(nb, "relu").update(source=_cell(nb, "relu").source + "\nshown = curves\n"),
            "relu: uses names no locked or solution cell above binds: curves",
        ),
        (
            lambda nb: _cell(nb, "setup").update(source=_cell(nb, "setup").source + "\nshown = sigmoid\n"),
            "setup: uses names no locked or solution cell above binds: sigmoid",
        ),
    ],
    ids=[
        "terms",
        "outputs",
        "hidden",
        "foreign-name",
        "bare-expression",
        "other-exercise",
        "points",
        "missing-test",
        "markers",
        "no-forbidden-list",
        "not-by-hand",
        "forbidden-typo",
        "forbidden-unknown-name",
        "run-all-stops",
        "solution-needs-a-demonstration",
        "locked-needs-a-later-cell",
    ],
)
def test_lint_finds_each_broken_rule(tmp_path, edit, expected):
    problems = lint_assignment(_broken_copy(tmp_path, edit))
    assert any(expected in p for p in problems), problems


def test_lint_passes_the_real_notebook():
    assert lint_assignment(NEURON) == []
