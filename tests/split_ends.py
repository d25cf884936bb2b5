"""Both ends of the split clean room in one process, for its unit tests: a tester's client and the
student side (on a thread) over real pipes, each with the locked cells run in its namespace."""

import contextlib
import os
import threading
from collections.abc import Callable, Iterator

import pytest

from autograder.protocol import StudentNames
from autograder.sandboxed import split


@contextlib.contextmanager
def open_ends(locked: str, student: str, cell_timeout: float = 30) -> Iterator[tuple[split.Client, split.StudentSide]]:
    """The client (the tester's end, with the student's names bound) and the student side, serving."""
    student_ns: dict = {"__name__": "__main__"}
    tester_ns: dict = {"__name__": "__main__"}
    for namespace in (student_ns, tester_ns):
        exec(compile(locked, "<locked>", "exec"), namespace)  # noqa: S102 - a locked cell, on both sides
    exec(compile(student, "<student>", "exec"), student_ns)  # noqa: S102 - the student's cell
    tester_reads, student_writes = os.pipe()
    student_reads, tester_writes = os.pipe()
    side = split.StudentSide(split.Link(student_reads, student_writes), student_ns, set(tester_ns), cell_timeout)
    client = split.Client(split.Link(tester_reads, tester_writes), tester_ns, cell_timeout=cell_timeout, wall=30)
    thread = threading.Thread(target=lambda: (side.send_names(), side.serve()), daemon=True)
    thread.start()
    client.bind(client.link.receive((StudentNames,), timeout=30))
    try:
        yield client, side
    finally:
        client.link.send(split.TestsDone())
        thread.join(10)
        client.link.close()
        side.link.close()


def ends_fixture(student: str, locked: str = "") -> Callable:
    """A pytest fixture ``ends``: :func:`open_ends` of `locked` and `student`, for each test."""

    @pytest.fixture
    def ends() -> Iterator[tuple[split.Client, split.StudentSide]]:
        with open_ends(locked, student) as pair:
            yield pair

    return ends
