import numpy as np
import pytest

from course import checks


def fails(fn, *args, **kwargs) -> str:
    with pytest.raises(AssertionError) as info:
        fn(*args, **kwargs)
    return str(info.value)


def test_close_values_pass():
    checks.assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-9]))
    checks.assert_close(3.0, 3.0)


def test_messages_diagnose_common_mistakes_without_showing_expected_values():
    expected = np.array([[1.25, 2.5], [3.75, 4.5]])
    assert "transposed" in fails(checks.assert_close, expected.T, expected)
    assert "factor of 0.5" in fails(checks.assert_close, expected * 0.5, expected)
    assert "wrong sign" in fails(checks.assert_close, -expected, expected)
    message = fails(checks.assert_close, expected + 1, expected)
    assert "4 of 4 entries" in message and "3.75" not in message and "4.5" not in message


def test_named_mistake_is_reported():
    message = fails(
        checks.assert_close, np.zeros(3), np.ones(3), name="dx", mistakes={"the mask is not reused": np.zeros(3)}
    )
    assert message.startswith("dx is wrong") and "the mask is not reused" in message


def test_shape_problems_are_explained():
    assert "Off by one along axis 1" in fails(checks.assert_shape, np.zeros((3, 4)), (3, 5))
    assert "reverse order" in fails(checks.assert_shape, np.zeros((4, 3)), (3, 4))
    assert "wrong order" in fails(checks.assert_shape, np.zeros((2, 3, 4)), (3, 2, 4))
    assert "reshape" in fails(checks.assert_shape, np.zeros(12), (3, 4))
    assert "forget to return" in fails(checks.assert_close, None, np.zeros(2))


def test_non_finite_and_non_numeric_values():
    assert "NaN or infinite" in fails(checks.assert_close, np.array([np.nan, 1.0]), np.ones(2))
    assert "number or an array" in fails(checks.assert_close, "abc", 1.0)


def test_assert_equal_says_direction_and_named_mistakes():
    assert "too large" in fails(checks.assert_equal, 35, 34, name="params")
    assert "too small" in fails(checks.assert_equal, 33, 34, name="params")
    assert "forgot the bias" in fails(checks.assert_equal, 30, 34, mistakes={"you forgot the bias": 30})
    checks.assert_equal((1, 2), (1, 2))


def test_assert_raises_and_assert_true():
    checks.assert_raises(ValueError, int, "x")
    assert "returned normally" in fails(checks.assert_raises, ValueError, int, "3")
    assert "raised TypeError" in fails(checks.assert_raises, ValueError, len, 3)
    assert fails(checks.assert_true, False, "rows must sum to 1") == "rows must sum to 1"


def test_checks_survive_later_monkeypatching_of_numpy(monkeypatch):
    monkeypatch.setattr(np, "abs", lambda x: np.zeros_like(x))
    fails(checks.assert_close, np.ones(2), np.zeros(2))


def test_relative_error():
    assert checks.relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert checks.relative_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
