"""Every source notebook runs, and its tests grade exactly as the contract says (see autograder.contract).

The contract is checked beside two CPU hogs: a grade must not depend on how busy the machine is.
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
def test_contract_of_the_chinese_edition(assignment, cpu_hogs):
    """The 中文 edition runs top to bottom and grades exactly as the English one (autograder.edition)."""
    chinese = assignment.in_edition("zh")
    report = check_contract(chinese)
    assert report.violations(chinese) == []
    assert set(report.broken) == {ex.solution_id for ex in chinese.exercises}
