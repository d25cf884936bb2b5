"""course.byhand catches a forbidden call however it is reached, and nothing else."""

from __future__ import annotations

import importlib
import sys
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.nn.functional import conv2d as renamed_conv2d

from course.byhand import ForbiddenCall, by_hand, resolve

X = torch.randn(1, 1, 5, 5)
W = torch.randn(1, 1, 3, 3)


def _swallowing(call):
    """Calls `call` and hides any error it raises."""
    try:
        call()
    except Exception:  # noqa: BLE001 - the point: a student's try/except must not hide the call
        pass
    return 0


def _in_a_thread(call):
    t = threading.Thread(target=lambda: _swallowing(call))
    t.start()
    t.join()


def _conv():
    return F.conv2d(X, W)


def _tanh():
    return np.tanh(1.0)


def _watch_switched_off(call):
    """Reaches the watch (the profiler hook, its closure or its object) and tries to turn it off first."""
    hook = sys.getprofile()
    for cell in getattr(hook, "__closure__", None) or ():
        if isinstance(cell.cell_contents, list):
            cell.cell_contents[:] = [False] if cell.cell_contents == [True] else []
    for part in getattr(hook, "__self__", ()):
        if isinstance(part, list):
            part.clear()
    call()


def _spread():
    _in_a_thread(lambda: None)


def _thread_unwatched(call):
    """A thread started once the watch no longer hands itself to new threads."""
    threading._profile_hook = None
    _in_a_thread(call)


def _in_a_child_process():
    """A child process, whose calls the watch in this one would never see (it leaves at once here)."""
    import os

    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def _reference_sum(values):
    return sum(values)


squash = np.tanh  # an alias of a numpy ufunc, bound before the check runs


CAUGHT = {
    "direct": (lambda: F.conv2d(X, W), "torch.nn.functional.conv2d"),
    "alias": (lambda: renamed_conv2d(X, W), "torch.nn.functional.conv2d"),
    "getattr and importlib": (
        lambda: getattr(importlib.import_module("torch.nn." + "functional"), "conv" + "2d")(X, W),
        "torch.nn.functional.conv2d",
    ),
    "tensor method": (lambda: X.unfold(2, 3, 1), "torch.Tensor.unfold"),
    "unbound method": (lambda: torch.Tensor.unfold(X, 2, 3, 1), "torch.Tensor.unfold"),
    "numpy python function": (lambda: np.convolve([1, 2, 3], [1, -1]), "numpy.convolve"),
    "autograd backward": (lambda: (X.clone().requires_grad_() * 2).sum().backward(), "torch.Tensor.backward"),
    "autograd grad": (lambda: torch.autograd.grad((X.clone().requires_grad_() ** 2).sum(), []), "torch.autograd.grad"),
    "a module class": (lambda: torch.nn.Conv2d(1, 1, 3)(X), "torch.nn.Conv2d"),
    "an inherited constructor": (lambda: torch.nn.MaxPool2d(2), "torch.nn.MaxPool2d"),
    "any autograd route": (
        lambda: (X.clone().requires_grad_() * 2).sum().backward(),
        "torch.autograd.graph._engine_run_backward",
    ),
    "python wrapper": (lambda: F.max_pool2d(X, 2), "torch.nn.functional.max_pool2d"),
    "hidden by try/except": (lambda: _swallowing(lambda: F.conv2d(X, W)), "torch.nn.functional.conv2d"),
    "in a thread it starts": (lambda: _in_a_thread(lambda: F.conv2d(X, W)), "torch.nn.functional.conv2d"),
    "switching the watch off": (lambda: sys.setprofile(None), "torch.nn.functional.conv2d"),
    "rewriting the watch it reaches": (lambda: _watch_switched_off(_conv), "torch.nn.functional.conv2d"),
    "a thread the watch does not reach": (lambda: _thread_unwatched(_conv), "torch.nn.functional.conv2d"),
    "in a child process": (_in_a_child_process, "torch.nn.functional.conv2d"),
    "a watch of its own inside": (lambda: by_hand(F.conv2d, X, W, forbidden=[]), "torch.nn.functional.conv2d"),
    "a ufunc's stand-in rewritten": (lambda: _watch_switched_off(lambda: _swallowing(_tanh)), "numpy.tanh"),
    "a reference object": (lambda: _reference_sum([1, 2]), _reference_sum),
    "numpy ufunc": (lambda: np.tanh(np.ones(2)), "numpy.tanh"),
    "numpy ufunc by an alias": (lambda: squash(np.ones(2)), "numpy.tanh"),
    "numpy ufunc hidden by try/except": (lambda: _swallowing(lambda: np.tanh(1.0)), "numpy.tanh"),
}


@pytest.mark.parametrize("case", sorted(CAUGHT))
def test_forbidden_calls_are_caught_however_reached(case):
    call, forbidden = CAUGHT[case]

    def conv_forward():
        return call()

    says = r"^conv_forward (calls .*; this exercise asks you to write it yourself|starts a (thread|process) .*)\."
    with pytest.raises(ForbiddenCall, match=says):
        by_hand(conv_forward, forbidden=[forbidden])
    assert sys.getprofile() is None
    assert np.tanh is np._core.umath.tanh and squash is np.tanh, "a rebound ufunc was not put back"


def test_honest_code_passes_and_returns_its_value():
    def conv_by_loops(x, w):
        out = np.zeros((3, 3))
        for i in range(3):
            for j in range(3):
                out[i, j] = (x[i : i + 3, j : j + 3] * w).sum()
        return out

    x, w = np.arange(25.0).reshape(5, 5), np.ones((3, 3))
    forbidden = ["torch.nn.functional.conv2d", "numpy.convolve", "torch.Tensor.unfold", "scipy.signal.convolve2d"]
    assert by_hand(conv_by_loops, x, w, forbidden=forbidden)[0, 0] == x[:3, :3].sum()
    assert sys.getprofile() is None


def test_a_thread_or_a_process_is_named_as_what_the_check_cannot_follow():
    with pytest.raises(ForbiddenCall, match=r"^_spread starts a thread \(_thread.start_new_thread\); the check"):
        by_hand(_spread, forbidden=[])
    with pytest.raises(ForbiddenCall, match=r"^_in_a_child_process starts a process \(os.fork\)"):
        by_hand(_in_a_child_process, forbidden=[])


def test_a_progress_bar_starts_no_thread_under_the_watch(monkeypatch):
    """tqdm starts its monitor thread with a process's first bar; a function that shows one is honest."""
    from tqdm import std as tqdm_std

    monkeypatch.setattr(tqdm_std.tqdm, "monitor", None)  # as in a process with no bar yet

    def train_with_a_bar(steps):
        return sum(tqdm_std.tqdm(range(steps), disable=False, file=sys.stderr))

    assert by_hand(train_with_a_bar, 3, forbidden=["torch.nn.functional.conv2d"]) == 3
    assert tqdm_std.tqdm.monitor is None


def test_a_wrapped_by_hand_still_puts_its_watch_away(monkeypatch):
    """The grader's tester wraps the module's by_hand; the watch still knows the call it belongs to."""
    import course.byhand

    original = course.byhand.by_hand
    monkeypatch.setattr(
        course.byhand, "by_hand", lambda fn, *a, forbidden, **k: original(fn, *a, forbidden=forbidden, **k)
    )
    assert course.byhand.by_hand(lambda: 1, forbidden=["torch.nn.functional.conv2d"]) == 1
    assert sys.getprofile() is None


def test_calls_outside_the_function_do_not_count():
    F.conv2d(X, W)
    assert by_hand(lambda: 1, forbidden=["torch.nn.functional.conv2d"]) == 1


def test_messages_name_implementation_details_by_what_they_are():
    def conv_backward():
        (X.clone().requires_grad_() * 2).sum().backward()

    with pytest.raises(ForbiddenCall, match=r"calls autograd \(\.backward\(\) or torch\.autograd\.grad\)"):
        by_hand(conv_backward, forbidden=["torch.autograd.graph._engine_run_backward"])


def test_a_module_instance_is_named_by_its_class():
    class RBFOutput(torch.nn.Module):
        def forward(self, x):
            return torch.cdist(x, x)

    with pytest.raises(ForbiddenCall, match=r"^RBFOutput calls torch\.cdist;"):
        by_hand(RBFOutput(), torch.zeros(2, 3), forbidden=["torch.cdist"])


def test_a_module_may_still_be_used_where_another_is_forbidden():
    assert by_hand(lambda: torch.nn.Conv2d(1, 1, 3)(X).shape, forbidden=["torch.nn.MaxPool2d"]) == (1, 1, 3, 3)


def test_names_resolve_to_objects_or_none():
    assert resolve("torch.Tensor.unfold") is torch.Tensor.unfold
    assert resolve("numpy.lib.stride_tricks.as_strided") is np.lib.stride_tricks.as_strided
    assert resolve("no_such_package.thing") is None and resolve("numpy.no_such_function") is None
