"""Feedback shows what the grader knows, never what student code emitted (autograder.feedback, activecontent).

An "autograded" notebook is built here as a hostile kernel would leave it: a test cell whose
outputs hold what a student function printed while the hidden test called it (base64 and
reversed copies of the test), HTML and JavaScript outputs, a display that a later call
rewrote, a cell after a hidden test that printed the kernel's history, markdown with script.
It is rendered with nbgrader's own feedback template, as ``generate_feedback`` does.
"""

import base64
import copy
import os

import nbformat
import pytest
from nbconvert.exporters import HTMLExporter
from traitlets.config import Config

from autograder.activecontent import executable_content
from autograder.assignments import NOT_RUN, find_assignment, nbgrader_meta
from autograder.feedback import ERROR_LINE, for_feedback, hidden_test_lines

NEURON = find_assignment("01_neuron")
MARKER = "STUDENT-EMITTED"
"""Text only student code produces: it must not reach feedback from a test cell or after a hidden test."""
XSS = (
    '<script>alert(1)</script> <img src=x onerror="alert(2)"> [link](javascript:alert(3)) '
    '<a href="jav&#x09;ascript:alert(4)">a</a> <javascript:alert(5)>'
)


def render(nb):
    """The feedback page nbgrader's GenerateFeedback would write (the course's preprocessors, its template)."""
    import nbgrader
    from nbgrader.preprocessors import ClearHiddenTests

    formgrader = os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader")
    config = Config()
    config.HTMLExporter.template_name = "feedback"
    config.HTMLExporter.extra_template_basedirs = [os.path.join(formgrader, "templates")]
    config.HTMLExporter.extra_template_paths = [os.path.join(formgrader, "static/node_modules/bootstrap/dist/css")]
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade"):
            cell.metadata.nbgrader["score"] = 0
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    scores = {"notebook": NEURON.notebook, "score": 0, "max_score": 0, "late_penalty": 0}
    return HTMLExporter(config=config).from_notebook_node(nb, resources={"nbgrader": scores})[0]


def _first_test_with_hidden():
    return next(gid for gid, c in NEURON.test_cells.items() if "BEGIN HIDDEN TESTS" in c.source)


def _stream(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def hostile():
    """The source notebook (hidden tests in place, as in autograded/) with the outputs an attack leaves."""
    nb = copy.deepcopy(NEURON.nb)
    test_id = _first_test_with_hidden()
    test = next(c for c in nb.cells if c.id == test_id)
    source = test.source
    solution = next(c for c in nb.cells if nbgrader_meta(c).get("solution"))
    solution.outputs = [
        _stream("my own print\n"),
        nbformat.v4.new_output("display_data", data={"text/html": f"{MARKER} rewritten later by display_id"}),
    ]
    test.outputs = [
        _stream(f"{MARKER} " + base64.b64encode(source.encode()).decode() + "\n"),
        _stream(f"{MARKER} " + source[::-1] + "\n"),
        nbformat.v4.new_output("display_data", data={"text/html": XSS, "application/javascript": "alert(5)"}),
        nbformat.v4.new_output("execute_result", data={"text/markdown": XSS}, execution_count=1),
        nbformat.v4.new_output(
            "error",
            ename="AssertionError",
            evalue="sigmoid(z) is wrong in 3 of 5 entries. Did you forget the minus sign?\nsecond line",
            traceback=[line for line in source.splitlines()],
        ),
    ]
    after = next(c for c in nb.cells[nb.cells.index(test) :] if nbgrader_meta(c).get("solution"))
    after.outputs = [
        _stream(f"{MARKER} {source}"),
        nbformat.v4.new_output("error", ename="Leak" + MARKER, evalue=source, traceback=[]),
    ]
    demonstration = nbformat.v4.new_code_cell("print(In)")  # outside the graded chain: the grader never runs it
    demonstration.outputs = [_stream(f"{MARKER} forged")]
    nb.cells.insert(nb.cells.index(test) + 1, demonstration)
    nb.cells.append(nbformat.v4.new_markdown_cell(XSS))
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


@pytest.fixture(scope="module")
def pages():
    before = hostile()
    after = for_feedback(hostile(), NEURON, {})
    return before, after, render(before), render(after)


def test_the_attack_is_real_without_the_rewrite(pages):
    _, _, raw_page, _ = pages
    assert MARKER in raw_page and executable_content(raw_page)


def test_nothing_student_code_emitted_reaches_the_page(pages):
    _, _, _, page = pages
    assert MARKER not in page
    assert not [line for line in hidden_test_lines(NEURON) if line in " ".join(page.split())]


def test_a_test_cell_shows_the_verdict_and_the_error_line_only(pages):
    _, nb, _, _ = pages
    cell = next(c for c in nb.cells if c.get("id") == _first_test_with_hidden())
    assert [o.text for o in cell.outputs] == [
        "[grader] failed: AssertionError: sigmoid(z) is wrong in 3 of 5 entries. Did you forget the minus sign?\n"
    ]
    passed = next(c for c in nb.cells if c.get("id") in NEURON.test_cells and c.get("id") != cell.id)
    assert [o.text for o in passed.outputs] == ["[grader] passed\n"]


def test_a_clean_room_verdict_is_shown_and_long_or_hidden_error_lines_are_cut():
    nb = hostile()
    test = next(c for c in nb.cells if c.get("id") == _first_test_with_hidden())
    hidden = sorted(hidden_test_lines(NEURON))[0]
    test.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x" * 5000, traceback=[])]
    failed = for_feedback(copy.deepcopy(nb), NEURON, {})
    texts = [o.text for o in next(c for c in failed.cells if c.get("id") == test.id).outputs]
    assert texts == [f"[grader] failed: ValueError: {'x' * ERROR_LINE}\n"]
    flagged = for_feedback(copy.deepcopy(nb), NEURON, {test.id: "the checks were replaced"})
    texts = [o.text for o in next(c for c in flagged.cells if c.get("id") == test.id).outputs]
    assert texts == ["[grader] 0 points: not confirmed when run in the clean room: the checks were replaced\n"]
    test.outputs[0].evalue = f"  {hidden}  "
    cut = for_feedback(nb, NEURON, {})
    assert "a hidden test line was removed" in next(c for c in cut.cells if c.get("id") == test.id).outputs[0].text


def test_own_cells_keep_text_only_before_any_hidden_test(pages):
    _, nb, _, _ = pages
    solution = next(c for c in nb.cells if nbgrader_meta(c).get("solution"))
    assert [o.get("text") for o in solution.outputs] == ["my own print\n"]  # the display_id-able HTML is gone
    test = next(c for c in nb.cells if c.get("id") == _first_test_with_hidden())
    after = next(c for c in nb.cells[nb.cells.index(test) :] if nbgrader_meta(c).get("solution"))
    assert [o.text for o in after.outputs] == ["[grader] this cell raised an error\n"]


def test_a_cell_outside_the_graded_chain_only_says_it_was_not_run(pages):
    _, nb, _, _ = pages
    demonstration = next(c for c in nb.cells if c.get("source") == "print(In)")
    assert [o.text for o in demonstration.outputs] == [f"[grader] {NOT_RUN}\n"]


def test_markdown_of_the_course_renders_and_the_students_is_text(pages):
    _, nb, _, page = pages
    course = [c for c in NEURON.nb.cells if c.cell_type == "markdown"]
    assert [c.source for c in nb.cells if c.cell_type == "markdown"][: len(course)] == [c.source for c in course]
    assert nb.cells[-1].source.startswith("```text\n") and "&lt;script&gt;alert(1)" in page
    assert "widgets" not in nb.metadata


def test_the_rendered_page_runs_nothing(pages):
    _, _, _, page = pages
    assert executable_content(page) == []


@pytest.mark.parametrize(
    "html",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" jav&#x09;ascript:alert(1)">x</a>',
        '<a href="data:text/html;base64,PHNjcmlwdD4=">x</a>',
        "<svg><animate onbegin=alert(1) /></svg>",
        '<iframe src="https://example.org"></iframe>',
        '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    ],
)
def test_the_scanner_finds_executable_content(html):
    assert executable_content(f"<html><head><script>ok()</script></head><body>{html}</body></html>")


def test_the_scanner_passes_plain_content():
    page = '<body><a href="https://x.org">a</a><a href="#top">t</a><img src="data:image/png;base64,AA"></body>'
    assert executable_content(page) == []


def test_fences_cannot_be_closed_from_inside():
    nb = hostile()
    nb.cells[-1].source = "````\n" + XSS + "\n````"
    rewritten = for_feedback(nb, NEURON, {})
    assert rewritten.cells[-1].source.startswith("`````text\n")
    assert executable_content(render(rewritten)) == []
