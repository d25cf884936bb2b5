import pytest

from course import budget, timing


def test_budget_shrinks_under_the_grader(monkeypatch):
    monkeypatch.delenv("COURSE_BUDGET_SCALE", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert budget.budget(600) == 600 and not budget.under_grader()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert budget.budget(600) == round(600 * budget.GRADER_SCALE) and isinstance(budget.budget(600), int)
    assert budget.budget(3) == 1 and budget.budget(3, minimum=2) == 2  # never below the minimum
    monkeypatch.setenv("COURSE_BUDGET_SCALE", "3")
    assert budget.budget(60) == 180


def test_flops_and_throughput_arithmetic():
    # one 3x3 conv, 1 -> 1 channel, 2x2 output, batch 1: 4 outputs x 9 multiply-adds x 2
    assert timing.conv2d_flops(1, 1, 2, 2, 1, 3, 3) == 72
    assert timing.gflops(2e9, 0.5) == pytest.approx(4.0)


def test_best_time_is_positive_and_bounded():
    calls = []
    seconds = timing.best_time(lambda: calls.append(1), repeat=3, min_time=0.001)
    assert seconds > 0 and len(calls) >= 5


def test_results_print_and_collect(tmp_path, monkeypatch, capsys):
    from course.results import read_results, result

    target = tmp_path / "results.jsonl"
    monkeypatch.setenv("COURSE_RESULTS_FILE", str(target))
    assert result("test accuracy", 0.9871, "{:.2%}") == 0.9871
    result("loss", 1.5)
    result("loss", 1.25)
    assert capsys.readouterr().out == "test accuracy: 98.71%\nloss: 1.5\nloss: 1.25\n"
    assert read_results(target) == {"test accuracy": 0.9871, "loss": 1.25}
    monkeypatch.delenv("COURSE_RESULTS_FILE")
    result("unrecorded", 1.0)
    assert "unrecorded" not in read_results(target)
