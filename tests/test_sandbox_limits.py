"""The process limit leaves room for what the grader's user already runs (RLIMIT_NPROC is per uid)."""

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

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


def test_a_killed_graders_scratch_folder_is_removed_by_the_next_start_and_a_live_one_is_kept():
    """Without bubblewrap, a sandbox's /tmp is a folder of the host's; SIGKILL leaves it behind."""
    from autograder.sandbox import scratch_folder

    killed = subprocess.run(
        [sys.executable, "-c", "import os, signal\nfrom autograder.sandbox import scratch_folder\n"
         "folder, _ = scratch_folder()\n(folder / 'work.npy').write_bytes(b'x' * 1000)\n"
         "print(folder, flush=True)\nos.kill(os.getpid(), signal.SIGKILL)"],
        capture_output=True, text=True,
    )  # fmt: skip
    left = Path(killed.stdout.strip())
    assert killed.returncode == -9 and left.is_dir() and left.with_suffix(".lock").exists()
    live, lock = scratch_folder()
    try:
        assert not left.exists() and not left.with_suffix(".lock").exists()
        another = subprocess.run(
            [sys.executable, "-c", "from autograder.sandbox import scratch_folder\nprint(scratch_folder()[0])"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert live.is_dir(), "a folder in use was removed"
        shutil.rmtree(another.stdout.strip())
        Path(another.stdout.strip()).with_suffix(".lock").unlink()
    finally:
        shutil.rmtree(live)
        live.with_suffix(".lock").unlink()
        os.close(lock)
