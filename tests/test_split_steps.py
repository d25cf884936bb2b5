"""The split clean room keeps two more things of one process: an argument that a student function
returns is the caller's own object (``cache["mask"] is mask``), and a test that counts the Python
steps of the student's code (``python_steps``) counts them in the student process.

Over real pipes, a thread playing the student process, as in ``tests/test_split_objects.py``.
"""

import numpy as np
import pytest
from split_ends import ends_fixture

from course.im2col_checks import python_steps

STUDENT = """
import numpy as np

def keep(x, mask=None):
    return {"x": x, "mask": mask, "pair": (x, [x])}

def copy_of(x):
    return x.copy()

def loops(n):
    total = 0
    for i in range(n):
        total += i
    return total
"""


ends = ends_fixture(STUDENT)


def test_an_argument_that_comes_back_is_the_callers_own_object(ends):
    client, _ = ends
    x, mask = np.arange(3.0), np.ones(3)
    cache = client.namespace["keep"](x, mask=mask)
    assert cache["x"] is x and cache["mask"] is mask and cache["pair"][0] is x and cache["pair"][1][0] is x
    assert client.namespace["copy_of"](x) is not x, "a copy stays a copy"


def test_python_steps_counts_the_students_code_where_it_runs(ends):
    client, _ = ends
    loops, steps = client.namespace["loops"], client.python_steps(python_steps)
    few, many = steps(loops, 10), steps(loops, 1000)
    assert many - few >= 2 * (1000 - 10), "two events per iteration of the student's loop, counted there"
    assert abs(steps(loops, 10) - few) <= 2, "the same call counts the same"
    with pytest.raises(RuntimeError, match="tracer"):
        python_steps(loops, 10)  # a tracer of the tester's own would count nothing of the student's code
