"""The process limit leaves room for what the grader's user already runs (RLIMIT_NPROC is per uid)."""

import os
import shutil
import subprocess
import sys
import textwrap
import threading

import pytest

from autograder import paths
from autograder.sandbox import Limits, tasks_of

FREE_UID = 61999  # no process runs as this uid


def test_a_fresh_uid_gets_exactly_the_limit():
    assert tasks_of(FREE_UID) == 0
    assert Limits().rlimits(FREE_UID)["processes"] == Limits().processes


def test_the_limit_counts_what_the_user_already_runs():
    assert tasks_of(os.getuid()) >= threading.active_count()
    assert Limits().rlimits(os.getuid())["processes"] >= Limits().processes + threading.active_count()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_student_code_can_start_threads_when_its_user_already_runs_many():
    # A user with 200 threads: a plain limit of 128 would stop the kernel's first thread.
    script = textwrap.dedent(
        """
        import os, resource, threading
        from autograder.sandbox import Limits
        stop = threading.Event()
        for _ in range(200):
            threading.Thread(target=stop.wait, daemon=True).start()

        def thread_starts(limit):
            pid = os.fork()
            if pid == 0:
                resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
                try:
                    threading.Thread(target=lambda: None).start()
                except RuntimeError:
                    os._exit(1)
                os._exit(0)
            return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0

        print(thread_starts(Limits().processes), thread_starts(Limits().rlimits(os.getuid())["processes"]))
        stop.set()
        """
    )
    out = subprocess.run(
        ["setpriv", f"--reuid={FREE_UID}", f"--regid={FREE_UID}", "--clear-groups", sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=paths.REPO,
        timeout=60,
    )
    assert out.stdout.split() == ["False", "True"], out.stderr
