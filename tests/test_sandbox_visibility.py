"""What student code can see of the grader's processes from inside the bwrap sandbox.

Every process of the sandbox's pid namespace shows its command line to every other
(``/proc/<pid>/cmdline``): bwrap's own (pid 1) and the zygote's, which forked kernels and the
clean room inherit. Neither may name the host folders the sandbox binds or hides (the work
folder holds the gradebook) nor carry the zygote's configuration.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder import paths
from autograder.sandbox import Sandbox, bwrap_problem

pytestmark = pytest.mark.skipif(bwrap_problem() is not None, reason=f"no bwrap sandbox here: {bwrap_problem()}")


def test_no_process_in_the_sandbox_shows_the_grader_s_command_lines(tmp_path):
    sandbox = Sandbox("bwrap", log=tmp_path / "sandbox.log")
    sandbox.start()
    try:
        proc = Path(sandbox.host("")).parent / "proc"  # the sandbox's own /proc, as student code sees it
        lines = {p.parent.name: p.read_bytes().replace(b"\0", b" ").decode() for p in proc.glob("[0-9]*/cmdline")}
    finally:
        sandbox.stop()
    assert "1" in lines and len(lines) >= 2, lines
    for pid, line in lines.items():
        assert "--ro-bind" not in line and "--tmpfs" not in line, (pid, line)
        assert str(paths.work()) not in line and str(paths.REPO / "course") not in line, (pid, line)
        assert "preload" not in line and "limits" not in line, (pid, line)
