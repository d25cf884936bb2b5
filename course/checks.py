"""Assertion helpers for test cells.

Each helper raises ``AssertionError`` with a message that says what is wrong (shape, how many
entries, how large the error is) and, where it can, why: test cells pass ``mistakes``, a
mapping from a description of a usual mistake to the value that mistake produces, and the
message names the one the student's answer matches. Messages never print the expected values,
so hidden tests stay hidden in feedback.

>>> assert_close(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
>>> assert_shape(np.zeros((2, 3)), (2, 3))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from course.i18n import tr  # bound at import too: the messages, in the notebook's language

__all__ = [
    "assert_close",
    "assert_equal",
    "assert_raises",
    "assert_shape",
    "assert_true",
    "relative_error",
]

# Bound at import so that later reassignment of numpy attributes does not change the checks.
_asarray = np.asarray
_abs = np.abs
_max = np.max
_isfinite = np.isfinite
_count_nonzero = np.count_nonzero


def relative_error(a: Any, b: Any) -> float:
    """max |a - b| / max(|a| + |b|), the scale-free error used throughout the course (0 if both are 0)."""
    a = _asarray(a, dtype=np.float64)
    b = _asarray(b, dtype=np.float64)
    denom = float(_max(_abs(a) + _abs(b))) if a.size else 0.0
    return 0.0 if denom == 0.0 else float(_max(_abs(a - b))) / denom


def _shape_hint(got: tuple[int, ...], want: tuple[int, ...]) -> str:
    if len(got) == len(want) and got == tuple(reversed(want)):
        return tr("The axes are in reverse order: is the result transposed?")
    if sorted(got) == sorted(want):
        return tr("The right sizes in the wrong order: check which axis is which (channels first?).")
    if int(np.prod(got)) == int(np.prod(want)):
        return tr("The right number of entries in the wrong shape: check your reshape.")
    if len(got) == len(want):
        diffs = [(i, g - w) for i, (g, w) in enumerate(zip(got, want, strict=True)) if g != w]
        if all(abs(d) == 1 for _, d in diffs):
            axes = ", ".join(str(i) for i, _ in diffs)
            return tr("Off by one along axis {axes}: check the output-size formula and the +1.", axes=axes)
    if len(got) == len(want) - 1 or len(got) == len(want) + 1:
        return tr("One axis too few or too many: a missing keepdims, batch axis or squeeze?")
    return ""


def _none(name: str) -> AssertionError:
    return AssertionError(tr("{name} is None: did you forget to return it?", name=name))


def _wrong_shape(name: str, got: tuple[int, ...], want: tuple[int, ...], hint: str) -> AssertionError:
    return AssertionError(
        tr("{name} has shape {got}, expected {want}. {hint}", name=name, got=got, want=want, hint=hint).strip()
    )


def assert_shape(actual: Any, shape: tuple[int, ...], *, name: str | None = None) -> None:
    """Check ``np.shape(actual) == shape``, explaining transposes, permutations and off-by-ones.

    `name` is what the value is, as the student knows it (default: "output").
    """
    name = tr("output") if name is None else name
    if actual is None:
        raise _none(name)
    got, want = tuple(np.shape(actual)), tuple(shape)
    if got != want:
        raise _wrong_shape(name, got, want, _shape_hint(got, want))


def _matching_mistake(actual: np.ndarray, mistakes: Mapping[str, Any], rtol: float, atol: float) -> str:
    for description, wrong in mistakes.items():
        wrong = _asarray(wrong, dtype=np.float64)
        if wrong.shape == actual.shape and _close_mask(actual, wrong, rtol, atol).all():
            return tr("Your result matches what you get when {description}.", description=description)
    return ""


def _generic_diagnosis(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> str:
    if _close_mask(actual, -expected, rtol, atol).all():
        return tr("Every entry has the wrong sign.")
    if actual.ndim == 2 and actual.shape == expected.T.shape and _close_mask(actual, expected.T, rtol, atol).all():
        return tr("The result is transposed.")
    nonzero = _abs(expected) > atol
    if nonzero.any():
        ratios = actual[nonzero] / expected[nonzero]
        k = float(ratios.flat[0])
        if k != 0 and _close_mask(actual, k * expected, rtol, atol).all():
            return tr("Off by a constant factor of {k:.4g}: a missing or extra scale (1/N, 1/2, 1/(1-p))?", k=k)
    if _close_mask(actual.ravel()[::-1], expected.ravel(), rtol, atol).all():
        return tr(
            "The entries are in reverse order: is a kernel flipped that should not be, or not flipped that should?"
        )
    return ""


def _close_mask(actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    return _abs(actual - expected) <= atol + rtol * _abs(expected)


def assert_close(
    actual: Any,
    expected: Any,
    *,
    name: str | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    mistakes: Mapping[str, Any] | None = None,
) -> None:
    """Check that `actual` equals `expected` elementwise within ``atol + rtol * |expected|``.

    Args:
        actual: the student's value, array-like of any shape.
        expected: the reference, same shape.
        name: what the value is, as the student knows it ("sigmoid(z)", "dW1"; default: "output").
        mistakes: description -> value produced by that mistake, e.g.
            ``{"the kernel is not flipped": correlate(x, w)}``; a match is named in the message.
    """
    name = tr("output") if name is None else name
    if actual is None:
        raise _none(name)
    try:
        a = _asarray(actual, dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(
            tr("{name} should be a number or an array, got {type}.", name=name, type=type(actual).__name__)
        ) from None
    e = _asarray(expected, dtype=np.float64)
    mistakes = mistakes or {}
    if a.shape != e.shape:
        hint = _matching_mistake(a, mistakes, rtol, atol) or _shape_hint(a.shape, e.shape)
        raise _wrong_shape(name, a.shape, e.shape, hint)
    if not _isfinite(a).all():
        bad = int(_count_nonzero(~_isfinite(a)))
        raise AssertionError(
            tr(
                "{name} contains {bad} NaN or infinite entries: an overflow (exp of a large number?) "
                "or a division by zero.",
                name=name,
                bad=bad,
            )
        )
    ok = _close_mask(a, e, rtol, atol)
    if ok.all():
        return
    figures = {
        "name": name,
        "wrong": int(ok.size - _count_nonzero(ok)),
        "size": ok.size,
        "error": float(_max(_abs(a - e))),
        "relative": relative_error(a, e),
        "hint": _matching_mistake(a, mistakes, rtol, atol) or _generic_diagnosis(a, e, rtol, atol),
    }
    if not a.ndim:
        message = tr(
            "{name} is wrong in {wrong} of {size} entries; the largest error is {error:.3g} "
            "(relative error {relative:.2g}). {hint}",
            **figures,
        )
    else:
        where = np.unravel_index(int(np.argmax(_abs(a - e))), a.shape)
        message = tr(
            "{name} is wrong in {wrong} of {size} entries; the largest error is {error:.3g} at index {index} "
            "(relative error {relative:.2g}). {hint}",
            index=tuple(int(i) for i in where),
            **figures,
        )
    raise AssertionError(message.rstrip())


def assert_equal(
    actual: Any, expected: Any, *, name: str | None = None, mistakes: Mapping[str, Any] | None = None
) -> None:
    """Check exact equality of counts, tuples or strings.

    The message shows the student's value and, for numbers, whether it is too large or too small.
    `name` is what the value is (default: "value").
    """
    if actual == expected:
        return
    name = tr("value") if name is None else name
    for description, wrong in (mistakes or {}).items():
        if actual == wrong:
            raise AssertionError(
                tr(
                    "{name} is {actual!r}: that is what you get when {description}.",
                    name=name,
                    actual=actual,
                    description=description,
                )
            )
    if not isinstance(actual, int | float | np.integer | np.floating) or not isinstance(
        expected, int | float | np.integer | np.floating
    ):
        raise AssertionError(tr("{name} is {actual!r}, which is wrong.", name=name, actual=actual))
    if actual > expected:
        raise AssertionError(tr("{name} is {actual!r}, which is wrong (too large).", name=name, actual=actual))
    raise AssertionError(tr("{name} is {actual!r}, which is wrong (too small).", name=name, actual=actual))


def assert_true(condition: Any, message: str) -> None:
    """Check a property (monotone, sums to one, ...) and explain it when it does not hold."""
    if not bool(condition):
        raise AssertionError(message)


def assert_raises(
    exception: type[BaseException], fn: Callable[..., Any], *args: Any, name: str | None = None, **kwargs: Any
) -> None:
    """Check that ``fn(*args, **kwargs)`` raises `exception`; `name` says what was called (default: "the call")."""
    name = tr("the call") if name is None else name
    try:
        fn(*args, **kwargs)
    except exception:
        return
    except Exception as err:  # noqa: BLE001 - reported to the student
        raise AssertionError(
            tr(
                "{name} raised {error}, expected {expected}.",
                name=name,
                error=type(err).__name__,
                expected=exception.__name__,
            )
        ) from None
    raise AssertionError(
        tr("{name} should raise {expected} but returned normally.", name=name, expected=exception.__name__)
    )
