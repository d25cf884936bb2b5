"""Every source notebook runs, and its tests grade exactly as the contract says (see autograder.contract).

The contract is checked beside a CPU hog per test worker: a grade must not depend on how busy the
machine is.
"""

import pytest

from autograder.assignments import all_assignments
from autograder.contract import check_contract
from autograder.lint import lint_assignment

ASSIGNMENTS = all_assignments()


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
def test_lint(assignment):
    assert lint_assignment(assignment) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
def test_contract(assignment, cpu_hogs):
    report = check_contract(assignment)
    assert report.violations(assignment) == []
    assert set(report.broken) == {ex.solution_id for ex in assignment.exercises}


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=[a.name for a in ASSIGNMENTS])
def test_contract_of_the_chinese_edition(assignment):
    """The 中文 edition runs top to bottom, grades as the English one, and names forbidden calls in 中文.

    Its code is the English code token for token (test_edition), so what depends on the code alone
    (tests independent of each other, no shortcut through any function in scope) is the English
    contract's to check, beside the CPU hogs.
    """
    chinese = assignment.in_edition("zh")
    report = check_contract(chinese, every_pair=False)
    assert report.violations(chinese) == []
    assert set(report.broken) == {ex.solution_id for ex in chinese.exercises}
