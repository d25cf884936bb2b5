"""The clean room's audit hook (autograder/sandboxed/audit.py), without bubblewrap.

An audit hook cannot be removed, so each scenario runs in a fresh Python process that installs
it, declares one "solution cell" as submitted code (as the clean room does) and runs a
"test" that calls it. Every spelling of introspection must be refused to submitted code; the
grader's own uses (no submitted code on the stack) and the standard library's optional uses of
frames must still work.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from autograder import paths

_RUNNER = """
import ctypes, json, sys  # ctypes: loaded before student code, as in the zygote
from autograder.sandboxed import audit
audit.install(trusted=[])
namespace = {"__name__": "__main__"}
cell = compile(sys.argv[1], "<cell answer>", "exec")
audit.submitted(cell)
exec(cell, namespace)
try:
    exec(compile(sys.argv[2], "<test>", "exec"), namespace)
    print(json.dumps("ran"))
except Exception as err:
    print(json.dumps(f"{type(err).__name__}: {err}"))
"""


def _run(solution: str, test: str = "answer()") -> str:
    """What the test cell gave: "ran", or the error that stopped it."""
    command = [sys.executable, "-c", _RUNNER, textwrap.dedent(solution), textwrap.dedent(test)]
    out = subprocess.run(command, capture_output=True, text=True, cwd=paths.REPO, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.splitlines()[-1])


ATTACKS = {
    "getframe_built_name": "import sys\ndef answer():\n    return getattr(sys, '_get' + 'frame')(1).f_locals",
    "inspect_stack": "import inspect\ndef answer():\n    return inspect.stack()",
    "logging_currentframe": "import logging\ndef answer():\n    return logging.currentframe()",
    "traceback_tb_frame": (
        "def answer():\n    try:\n        1 / 0\n    except ZeroDivisionError as err:\n"
        "        return getattr(err.__traceback__, 'tb_' + 'frame').f_back"
    ),
    "generator_gi_frame": "def answer():\n    g = (x for x in [1])\n    return g.gi_frame",
    "current_frames": "import sys\ndef answer():\n    return sys._current_frames()",
    "settrace": "import sys\ndef answer():\n    getattr(sys, 'set' + 'trace')(lambda *a: None)",
    "setprofile": "import sys\ndef answer():\n    sys.setprofile(lambda *a: None)",
    "thread_of_the_submission": (
        "import sys, threading\nfound = []\ndef peek():\n    try:\n        found.append(sys._getframe(1))\n"
        "    except ValueError as err:\n        found.append(err)\ndef answer():\n"
        "    t = threading.Thread(target=peek)\n    t.start()\n    t.join()\n    raise found[0]"
    ),
    "gc_get_objects": "import gc\ndef answer():\n    return gc.get_objects()",
    "gc_get_referrers": "import gc\ndef answer():\n    return gc.get_referrers(answer)",
    "ctypes_dlsym": "import ctypes\ndef answer():\n    return ctypes.pythonapi.PyEval_GetFrame",
    "ctypes_from_address": "import ctypes\ndef answer():\n    return ctypes.c_long.from_address(id(answer))",
    "proc_self_mem": "def answer():\n    return open('/proc/self/mem', 'rb')",
    "code_made_at_run_time": (
        "src = 'import sys\\ndef answer():\\n    return sys._getframe(1)\\n'\n"
        "exec(compile(src, '/usr/lib/python3.11/collections/__init__.py', 'exec'))"
    ),
    "builtins_patched_first": (
        "import builtins, sys\nbuiltins.id = lambda x: 0\nbuiltins.len = lambda x: 0\n"
        "def answer():\n    return sys._getframe(1)"
    ),
    "hook_module_patched_first": (
        "import sys\nfrom autograder.sandboxed import audit\naudit.REFUSED = frozenset()\n"
        "audit._refused = lambda *a: ''\ndef answer():\n    return sys._getframe(1)"
    ),
}


@pytest.mark.parametrize("name", sorted(ATTACKS))
def test_introspection_by_submitted_code_is_refused(name):
    got = _run(ATTACKS[name])
    assert got.startswith("Refused: the grader refuses"), got


def test_an_audit_hook_of_the_submission_is_never_added():
    solution = """
    import sys
    seen = []
    def answer():
        sys.addaudithook(lambda event, args: seen.append(event))
    """
    assert _run(solution, "answer()\nimport sys\nsys._getframe()\nassert not seen, seen") == "ran"


def test_the_grader_s_own_introspection_still_works():
    test = """
    import sys, gc, threading
    frame = sys._getframe()
    sys.setprofile(lambda *a: None)
    sys.setprofile(None)
    threading.settrace(None)
    gc.get_referrers(frame)
    answer()
    """
    assert _run("def answer():\n    return 1", test) == "ran"


def test_the_standard_library_s_optional_frames_degrade_quietly():
    solution = """
    import collections, enum, logging, typing
    Point = collections.namedtuple("Point", "x y")
    Colour = enum.Enum("Colour", "red green")
    T = typing.TypeVar("T")
    def answer():
        logging.getLogger("answer").warning("works")
        return Point(1, 2), Colour.red, collections.namedtuple("Pair", "a b")(1, 2)
    """
    assert _run(solution) == "ran"
