"""The usual mistakes are caught by the visible tests and named; right answers written another way pass.

Generic over notebooks: every module of tests/mistakes/ is a notebook's corpus (its format is in
that package's docstring).
"""

import pytest
from mistakes import Right, Wrong, corpus, notebook_path, outcome

MODULES = corpus()
CASES = [
    pytest.param(module.NOTEBOOK, case, id=f"{module.NOTEBOOK}-{case.exercise}-{i}")
    for module in MODULES.values()
    for i, case in enumerate(module.CASES)
]


@pytest.mark.parametrize("module", MODULES.values(), ids=list(MODULES))
def test_corpus_has_five_mistakes_of_known_exercises(module):
    assert sum(isinstance(c, Wrong) for c in module.CASES) >= 5
    source = notebook_path(module.NOTEBOOK).read_text()
    for case in module.CASES:
        assert f'"id": "{case.exercise}_test"' in source, f"no test cell {case.exercise}_test in {module.NOTEBOOK}"


@pytest.mark.parametrize(("notebook", "case"), CASES)
def test_case(notebook, case):
    message = outcome(case, notebook_path(notebook))
    if isinstance(case, Right):
        assert message is None, f"a right answer ({case.why}) fails: {message}"
    else:
        assert message is not None, f"the visible tests of {case.exercise} pass a wrong answer:\n{case.code}"
        assert case.says.lower() in message.lower(), f"the message does not name the mistake ({case.says!r}): {message}"
