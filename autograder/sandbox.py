"""Where student code runs: a bubblewrap sandbox around a warm zygote, or resource limits only.

One :class:`Sandbox` per grading worker. With ``bwrap`` (Debian's ``bubblewrap``) the zygote
(:mod:`autograder.sandboxed.zygote`) and every kernel or verifier it forks see: no network (own network
namespace), their own pid/ipc/uts namespaces, a private size-limited ``/tmp`` holding the job's
working folder, read-only system files, Python, the course code (``course/``, ``autograder/``)
and ``data/``, and nothing else: no gradebook, no ``notebooks/`` (solutions, hidden tests), no
other submissions, no ``.git``, no home folders. Run as root, the sandbox drops to an
unprivileged uid of its own (leased through a lock file) so that the process limit applies. Without bwrap the
same zygote runs unconfined, with the resource limits only (``rlimits`` mode, warned about).

The host reaches the sandbox's ``/tmp`` through ``/proc/<pid>/root`` to stage files, write
kernel connection files and read verification results, never following a link planted there.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path
from typing import Any

import psutil

from autograder import paths
from autograder.protocol import (
    ChildJob,
    ChildKind,
    Command,
    Exit,
    KillAll,
    Ready,
    Reply,
    Signal,
    Spawn,
    Usage,
    Wipe,
    ZygoteConfig,
    parse,
)

__all__ = [
    "KERNEL_ENV",
    "MODES",
    "MachineBusy",
    "PRELOAD",
    "Limits",
    "Sandbox",
    "SandboxError",
    "bwrap_problem",
    "kill_family",
    "resolve_mode",
    "tasks_of",
]

MODES = ("auto", "bwrap", "rlimits")

KERNEL_ENV = {
    "OMP_NUM_THREADS": "1",  # one core per worker; the pool supplies the parallelism
    "MKL_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "PYTHONWARNINGS": "ignore",  # a warning on stderr would zero a passing test cell
    "MPLBACKEND": "Agg",
}
"""Settings every kernel runs with, sandboxed or not."""

PRELOAD = (
    "numpy",
    "torch",
    "torch.nn",
    "torch.nn.functional",
    "matplotlib",
    "matplotlib.pyplot",
    "IPython",
    "ipykernel.kernelapp",
    "ipykernel.ipkernel",
    "ipykernel.debugger",  # and pdb, which every kernel imports as it starts (0.2 s)
    "pdb",
    "autograder.sandboxed.cleanroom",
)
"""Imported once by each zygote. Only libraries whose import does not depend on running inside
a kernel (tqdm.auto, for one, picks its flavour at import time, so it is left to the kernel)."""

UID_BASE = int(os.environ.get("AUTOGRADER_SANDBOX_UID", "61000"))
"""When the grader runs as root, each sandbox runs student code as its own uid from ``UID_BASE`` up."""

UID_COUNT = 256
"""How many uids from ``UID_BASE`` the sandboxes of one machine may use at once."""


def _lease_uid() -> tuple[int, int]:
    """A uid no other sandbox on this machine holds, and the locked file descriptor that holds it.

    RLIMIT_NPROC counts every process of a uid, so two sandboxes sharing one (two graders run at
    once) would let a fork bomb in one starve the other's kernels. The lease lasts until the file
    descriptor is closed, also when the grader is killed.
    """
    for uid in range(UID_BASE, UID_BASE + UID_COUNT):
        fd = os.open(Path(tempfile.gettempdir()) / f"autograder-sandbox-{uid}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        return uid, fd
    raise SandboxError(f"all {UID_COUNT} sandbox uids from {UID_BASE} are in use")


SCRATCH_PREFIX = "agr-"


def scratch_folder() -> tuple[Path, int]:
    """A new folder for a sandbox without bubblewrap to use as its /tmp, and the lock that marks it in use.

    The lock is a file beside the folder (``agr-XXXX.lock``, outside the submission's reach by
    name), held with ``flock`` for the sandbox's lifetime; the kernel drops it when the grader
    dies, even by SIGKILL, which leaves no chance to remove the folder. So every start first
    removes this user's folders whose lock nobody holds.
    """
    base = Path(tempfile.gettempdir())
    for lock in base.glob(f"{SCRATCH_PREFIX}*.lock"):
        try:
            fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            if os.fstat(fd).st_uid == os.getuid():
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                shutil.rmtree(lock.with_suffix(""), ignore_errors=True)
                lock.unlink(missing_ok=True)
        except BlockingIOError:
            pass  # in use
        finally:
            os.close(fd)
    fd, lock = tempfile.mkstemp(prefix=SCRATCH_PREFIX, suffix=".lock")
    fcntl.flock(fd, fcntl.LOCK_EX)
    folder = Path(lock).with_suffix("")
    folder.mkdir(mode=0o700)
    return folder, fd


@dataclass(frozen=True)
class Limits:
    """Resource limits of every process that runs student code (both modes)."""

    cpu_seconds: int = 900
    """CPU time of one process (RLIMIT_CPU)."""
    memory_bytes: int = 4 * 2**30
    """Address space of one process (RLIMIT_AS); torch alone maps about 1 GB."""
    processes: int = 128
    """Processes and threads student code may add (RLIMIT_NPROC, see :func:`tasks_of`): stops fork bombs."""
    file_bytes: int = 256 * 2**20
    """Largest file a process may write (RLIMIT_FSIZE)."""
    open_files: int = 1024
    """Open file descriptors per process (RLIMIT_NOFILE)."""
    tmp_bytes: int = 512 * 2**20
    """Size of the private /tmp and of /dev/shm: all a submission can write (bwrap mode)."""

    def rlimits(self, uid: int) -> dict[str, int]:
        """The setrlimit values for processes running as `uid`."""
        limits = {k: v for k, v in asdict(self).items() if k != "tmp_bytes"}
        limits["processes"] += tasks_of(uid)
        return limits


def tasks_of(uid: int) -> int:
    """Processes and threads whose real uid is `uid`, machine-wide.

    RLIMIT_NPROC caps exactly this count, sandbox or not, so a limit of 128 for a grader run by
    an instructor whose desktop already holds 300 threads would stop every kernel from starting;
    the limit is therefore this count plus :attr:`Limits.processes`. As root each sandbox has a
    uid of its own, which holds no task yet.
    """
    count = 0
    for p in psutil.process_iter(["uids", "num_threads"]):
        if p.info["uids"] is not None and p.info["uids"].real == uid:
            count += p.info["num_threads"] or 1
    return count


def kill_family(pid: int) -> None:
    """Kill process `pid` and all its descendants, and wait (up to 5 s) until they are gone."""
    try:
        family = psutil.Process(pid).children(recursive=True) + [psutil.Process(pid)]
    except psutil.NoSuchProcess:
        return
    for p in family:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(family, timeout=5)


class SandboxError(RuntimeError):
    """The sandbox or its zygote stopped answering."""


class MachineBusy(RuntimeError):
    """A wall-clock backstop passed while student code mostly ran or waited for a core: grade again later."""


WALL_FACTOR = 10
"""Wall-clock backstops are this many times the CPU limit they back up."""


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    return args


def _readable() -> list[Path]:
    """Host folders the sandbox may read: Python, the venv, the course code and data."""
    found = [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()]
    found += [paths.REPO / name for name in ("course", "autograder", "data")]
    if os.environ.get("COURSE_DATA"):  # course.data's override of the data folder
        found.append(Path(os.environ["COURSE_DATA"]).resolve())
    return [p for p in dict.fromkeys(found) if p.is_dir() and not str(p).startswith("/usr/")]


def _jupyter_configs() -> list[Path]:
    """Jupyter's config folders that the sandbox would show (under /etc, /usr or a folder it binds)."""
    from autograder.instructor import config_folders

    shown = [Path("/etc"), Path("/usr"), *_readable()]
    folders = [Path(f).resolve() for f in config_folders()]
    return [f for f in dict.fromkeys(folders) if f.is_dir() and any(f == s or s in f.parents for s in shown)]


SCRATCH = ("/tmp", "/dev/shm")
"""The sandbox's private, writable folders."""


def _bwrap_argv(limits: Limits) -> list[str]:
    args = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    args += ["--die-with-parent", "--new-session", "--hostname", "sandbox"]
    args += _system_binds() + ["--proc", "/proc", "--dev", "/dev"]
    # The only writable places, size-limited (memory-backed); mounted before the course folders so
    # that a course living under /tmp is bound on top of the private /tmp, not hidden by it.
    for scratch in SCRATCH:
        args += ["--perms", "1777", "--size", str(limits.tmp_bytes), "--tmpfs", scratch]
    bound: list[Path] = []
    made: set[Path] = {Path(scratch) for scratch in SCRATCH}
    for path in sorted(_readable(), key=lambda p: len(p.parts)):
        for parent in reversed(path.parents):  # "/" first; bwrap would create missing ones mode 0700
            if parent == Path("/") or parent in made or any(parent == b or b in parent.parents for b in bound):
                continue
            args += ["--perms", "0755", "--dir", str(parent)]
            made.add(parent)
        args += ["--ro-bind", str(path), str(path)]
        bound.append(path)
    for hidden in {paths.REPO / "autograder" / "work", paths.work()}:
        if hidden.is_dir() and any(b in hidden.parents for b in bound):
            args += ["--tmpfs", str(hidden)]  # the gradebook and submissions, if under a readable folder
    for config in _jupyter_configs():  # a class's database URL and password, if its config is in /etc or the venv
        args += ["--tmpfs", str(config)]
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", "/tmp"]
    if os.geteuid() == 0:
        args += ["--"]
    else:
        args += ["--cap-drop", "ALL", "--"]
    return args


def _options_from_pipe(argv: list[str]) -> tuple[list[str], int]:
    """`argv` with bwrap's options moved to a pipe (``--args FD``), and the pipe's read end.

    Student code can read the command line of every process in its pid namespace, bwrap's (pid
    1) included, which would name the host folders bound and hidden (the work folder among
    them); read from a pipe, the options leave only ``bwrap --args N -- <command>`` there.
    """
    end = argv.index("--")
    read, write = os.pipe()
    os.write(write, "".join(f"{option}\0" for option in argv[1:end]).encode())  # a few KiB: fits the pipe
    os.close(write)
    return [argv[0], "--args", str(read), *argv[end:]], read


def _drop_root(uid: int) -> list[str]:
    """Root runs bwrap without a user namespace and becomes `uid` inside (RLIMIT_NPROC exempts root)."""
    if os.geteuid() != 0:
        return []
    return [
        "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--",
    ]


@cache
def bwrap_problem() -> str | None:
    """None if bubblewrap can build the sandbox here, else why not (missing, no namespaces, ...)."""
    if shutil.which("bwrap") is None:
        return "bwrap (Debian package bubblewrap) is not installed"
    try:
        out = subprocess.run(
            _bwrap_argv(Limits()) + _drop_root(UID_BASE) + [sys.executable, "-c", "import numpy"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bwrap failed to start: {err}"
    if out.returncode != 0:
        return f"bwrap cannot build the sandbox here: {(out.stderr or out.stdout).strip()[-300:]}"
    return None


def resolve_mode(requested: str) -> tuple[str, str]:
    """The mode to use for `requested` (auto, bwrap, rlimits) and a warning ('' if none).

    Raises:
        SandboxError: bwrap was requested but cannot work here.
    """
    if requested not in MODES:
        raise ValueError(f"sandbox mode must be one of {MODES}, not {requested!r}")
    if requested == "rlimits":
        return "rlimits", "WARNING: sandbox off (--sandbox rlimits): student code runs with resource limits only"
    problem = bwrap_problem()
    if problem is None:
        return "bwrap", ""
    if requested == "bwrap":
        raise SandboxError(problem)
    return "rlimits", (
        f"WARNING: {problem}; grading WITHOUT a sandbox (resource limits only): submissions can read the "
        "gradebook, the source notebooks and other students' files, and use the network. "
        "Install bubblewrap (apt-get install bubblewrap) to isolate them."
    )


class Sandbox:
    """A zygote in a sandbox (``bwrap``) or bare (``rlimits``), commanded over JSON lines.

    Paths given to the methods are relative to the sandbox's scratch root (``job/...``,
    ``run/...``); :meth:`inside` turns one into the path student code sees, :meth:`host` into
    the path this process uses.
    """

    def __init__(self, mode: str, *, limits: Limits | None = None, log: Path | None = None) -> None:
        if mode not in ("bwrap", "rlimits"):
            raise ValueError(f"unknown sandbox mode {mode!r}")
        self.mode = mode
        self.limits = limits or Limits()
        self.log = log
        self.uid: int | None = None
        self._uid_lease: int | None = None
        self.proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._ready = False
        self._replies: dict[int, Reply] = {}
        self._exits: dict[int, int] = {}
        self._next = 0
        self._scratch: Path | None = None
        self._scratch_lock: int | None = None
        self._root_inside = "/tmp"
        self._root_host = ""

    # life cycle -----------------------------------------------------------------------------

    def start(self, timeout: float = 180.0) -> None:
        """Start the zygote and wait until its libraries are loaded."""
        if self.mode == "bwrap":
            if os.geteuid() == 0 and self._uid_lease is None:
                self.uid, self._uid_lease = _lease_uid()
            prefix, options = _options_from_pipe(_bwrap_argv(self.limits))
            prefix += _drop_root(self.uid or 0)
            root = "/tmp"
        else:
            self._scratch, self._scratch_lock = scratch_folder()
            prefix, options, root = [], None, str(self._scratch)
        self._root_inside = root
        config = ZygoteConfig(
            root=root,
            pid_namespace=self.mode == "bwrap",
            limits=self.limits.rlimits(os.getuid() if self.uid is None else self.uid),
            mounts=[str(p) for p in _readable() if self.mode == "bwrap" and Path(root) in p.parents],
            preload=list(PRELOAD),
            env=self.child_env({}),
        )
        self._ready = False
        self.proc = subprocess.Popen(
            [*prefix, sys.executable, "-m", "autograder.sandboxed.zygote"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log.open("ab") if self.log else subprocess.DEVNULL,
            env=self.child_env({}),
            cwd="/",
            pass_fds=() if options is None else (options,),
        )
        if options is not None:
            os.close(options)
        self.proc.stdin.write((config.to_json() + "\n").encode())  # its first line: never on a command line
        self.proc.stdin.flush()
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        with self._lock:
            if not self._changed.wait_for(lambda: self._ready or self._dead(), timeout):
                raise SandboxError(f"the sandbox did not start within {timeout:.0f} s")
            if self._dead():
                raise SandboxError(f"the sandbox exited at start (code {self.proc.poll()}); see {self.log}")
        if self.mode == "bwrap":
            init = psutil.Process(self.proc.pid).children()[0].pid
            self._root_host = f"/proc/{init}/root{root}"
        else:
            self._root_host = root

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def _dead(self) -> bool:
        return self.proc is None or self.proc.poll() is not None

    def stop(self) -> None:
        """Kill the zygote and everything it started; remove the scratch folder."""
        if self.proc is not None:
            kill_family(self.proc.pid)
            self.proc = None
        if self._uid_lease is not None:
            os.close(self._uid_lease)
            self.uid, self._uid_lease = None, None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch.with_suffix(".lock").unlink(missing_ok=True)
            os.close(self._scratch_lock)
            self._scratch, self._scratch_lock = None, None

    # protocol -------------------------------------------------------------------------------

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            message = parse(line, Reply, Exit, Ready)
            with self._lock:
                match message:
                    case Exit(pid=pid, status=status):
                        self._exits[pid] = status
                    case Ready():
                        self._ready = True
                    case Reply(id=ident):
                        self._replies[ident] = message
                self._changed.notify_all()
        with self._lock:
            self._changed.notify_all()

    def _call(self, command: type[Command], timeout: float = 60.0, **fields: Any) -> Reply:
        """Send `command` (built with `fields` and a fresh id) and wait for its reply."""
        if self._dead():
            raise SandboxError("the sandbox is not running")
        op = command.TAG
        with self._lock:
            self._next += 1
            ident = self._next
            try:
                self.proc.stdin.write((command(id=ident, **fields).to_json() + "\n").encode())
                self.proc.stdin.flush()
            except OSError as err:
                raise SandboxError(f"the sandbox stopped listening: {err}") from None
            if not self._changed.wait_for(lambda: ident in self._replies or self._dead(), timeout):
                raise SandboxError(f"the sandbox did not answer {op!r} within {timeout:.0f} s")
            if ident not in self._replies:
                raise SandboxError(f"the sandbox died during {op!r}")
            reply = self._replies.pop(ident)
        if reply.error:
            raise SandboxError(f"{op}: {reply.error}")
        return reply

    def child_env(self, extra: dict[str, str]) -> dict[str, str]:
        """The environment of sandboxed processes: fixed settings plus the grading variables of `extra`."""
        job = self.inside("job")
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": job,
            "TMPDIR": job,
            "LANG": "C.UTF-8",
            **KERNEL_ENV,
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLCONFIGDIR": self.inside("run/mpl"),
            "IPYTHONDIR": self.inside("run/ipython"),
        }
        passed = {k: v for k, v in extra.items() if k.startswith(("NBGRADER_", "COURSE_"))}
        return {**env, **passed}

    def spawn(self, kind: ChildKind, argv: list[str], env: dict[str, str], log: str) -> int:
        """Fork a kernel (ipykernel argv) or a clean-room run; returns its pid inside the sandbox."""
        job = ChildJob(kind, argv, self.child_env(env), self.inside("job"), self.inside(log))
        return self._call(Spawn, job=job).pid

    def signal(self, pid: int, sig: int) -> None:
        """Send `sig` to the process group of a spawned process."""
        self._call(Signal, pid=pid, sig=sig)

    def exit_status(self, pid: int) -> int | None:
        """The exit code of a spawned process, None while it runs (or -9 once the sandbox is gone)."""
        with self._lock:
            if pid in self._exits:
                return self._exits[pid]
        return None if self.alive() else -9

    def wait(self, pid: int, timeout: float) -> int | None:
        """Wait up to `timeout` seconds for `pid` to exit; its exit code, or None if still running."""
        with self._lock:
            self._changed.wait_for(lambda: pid in self._exits or self._dead(), timeout)
        return self.exit_status(pid)

    def usage(self) -> tuple[float, float]:
        """(CPU seconds used by the sandbox's processes since it started, seconds they waited for a core).

        Both only grow (the second while processes live); limits compare differences over a cell or a job.
        """
        reply = self._call(Usage)
        return reply.cpu, reply.queued

    def wait_cpu(self, pid: int, cpu_seconds: float, slept: float | None = None) -> int | None:
        """Wait for `pid` to exit while the sandbox's processes use at most `cpu_seconds` more CPU time.

        Returns its exit code, or None when the CPU time ran out first, or when the processes mostly
        slept (ran and waited for a core less than half the time) for longer than `slept` wall
        seconds or than the wall-clock backstop (:data:`WALL_FACTOR` times `cpu_seconds`).

        Raises:
            MachineBusy: the backstop passed while they mostly ran or waited for a core.
        """
        cpu0, queued0 = self.usage()
        start = time.monotonic()
        while (status := self.wait(pid, 0.5)) is None:
            cpu, queued = self.usage()
            wall = time.monotonic() - start
            if cpu - cpu0 > cpu_seconds:
                return None
            if slept is not None and wall > slept and (cpu - cpu0) + (queued - queued0) < 0.5 * wall:
                return None
            if wall > WALL_FACTOR * cpu_seconds:
                if (cpu - cpu0) + (queued - queued0) >= 0.5 * wall:
                    raise MachineBusy(f"{wall:.0f} s of wall time for {cpu - cpu0:.1f} s of CPU time")
                return None
        return status

    def kill_all(self) -> None:
        """Kill every process in the sandbox except the zygote."""
        self._call(KillAll)

    def wipe(self) -> int:
        """Kill every process in the sandbox and empty its job and run folders.

        Returns:
            the largest number of tasks (processes and threads) the sandbox held since the last wipe.
        """
        peak = self._call(Wipe).peak
        with self._lock:
            self._exits.clear()
        return peak

    # files ------------------------------------------------------------------------------------

    def inside(self, rel: str) -> str:
        return f"{self._root_inside}/{rel}"

    def host(self, rel: str) -> str:
        return f"{self._root_host}/{rel}"

    def _dir_fd(self, rel_dir: str) -> int:
        fd = os.open(self._root_host, os.O_RDONLY | os.O_DIRECTORY)
        for part in [p for p in rel_dir.split("/") if p]:
            try:
                nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            finally:
                os.close(fd)
            fd = nxt
        return fd

    def _own(self, name: str, dir_fd: int) -> None:
        if self.uid is not None:
            os.chown(name, self.uid, self.uid, dir_fd=dir_fd, follow_symlinks=False)

    def write(self, rel: str, data: bytes, mode: int = 0o600) -> None:
        """Create the file `rel` (it must not exist yet), owned by the sandbox's user."""
        folder, name = os.path.split(rel)
        dfd = self._dir_fd(folder)
        try:
            fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode, dir_fd=dfd)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            self._own(name, dfd)
        finally:
            os.close(dfd)

    def mkdir(self, rel: str) -> None:
        folder, name = os.path.split(rel)
        dfd = self._dir_fd(folder)
        try:
            os.mkdir(name, 0o700, dir_fd=dfd)
            self._own(name, dfd)
        finally:
            os.close(dfd)

    def read(self, rel: str, max_bytes: int) -> bytes | None:
        """The regular file `rel` if it exists and is at most `max_bytes` long, else None (links refused)."""
        folder, name = os.path.split(rel)
        try:
            dfd = self._dir_fd(folder)
        except OSError:
            return None
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dfd)
        except OSError as err:
            if err.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR, errno.EACCES):
                return None
            raise
        finally:
            os.close(dfd)
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
                return None
            return f.read(max_bytes + 1)[:max_bytes]

    def stage(self, folder: Path, rel: str = "job") -> None:
        """Copy the files of `folder` (not notebooks, not links) into the sandbox folder `rel`."""
        for entry in sorted(folder.iterdir()):
            if entry.is_symlink() or entry.suffix == ".ipynb":
                continue
            target = f"{rel}/{entry.name}"
            if entry.is_dir():
                self.mkdir(target)
                self.stage(entry, target)
            elif entry.is_file():
                self.write(target, entry.read_bytes(), 0o644)
