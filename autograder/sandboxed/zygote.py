"""The warm process inside a grading sandbox: imports the heavy libraries once, then forks.

Started by :class:`autograder.sandbox.Sandbox` (inside bubblewrap, or bare when bwrap is
missing). It never runs student code itself: it imports numpy, torch, matplotlib and the
kernel machinery once (4-5 s on the course's machines), then answers JSON-line commands on
stdin and forks one child per kernel or verification run, which starts in milliseconds with
those modules already loaded. Each child gets a new session, resource limits, a clean
environment and no file descriptors of the zygote, and dies with it.

Commands are the messages of :mod:`autograder.protocol`, one JSON line each, each answered by a
:class:`~autograder.protocol.Reply` with its id: ``Spawn`` (a kernel or a verifier) -> ``pid``;
``Signal`` (pid, sig); ``KillAll`` (every other process of the sandbox); ``Wipe`` (kill_all,
then empty the job and run folders; answers the ``peak`` number of tasks seen since the last
wipe, sampled every 0.25 s, which reveals fork bombs); ``Usage`` (-> ``cpu``: CPU seconds that
every process of the sandbox has used since the zygote started, the dead ones included, and
``queued``: seconds the live ones spent ready to run but waiting for a core, i.e. how busy the
machine is). Exits are reported as :class:`~autograder.protocol.Exit` events.

CPU time is what the grader's limits count (never wall time): the zygote is a subreaper, so every
process of the sandbox that exits is reaped here (``wait4``) and its CPU time, with that of the
children it waited for, is added to a running total; live processes are read from ``/proc``.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import resource
import select
import shutil
import signal
import sys
import time
from pathlib import Path
from typing import Any

from autograder.protocol import (
    ZYGOTE_COMMANDS,
    ChildJob,
    ChildKind,
    Command,
    Exit,
    KillAll,
    Message,
    Ready,
    Reply,
    Signal,
    Spawn,
    Usage,
    Wipe,
    ZygoteConfig,
    parse,
)

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)
_TICKS = os.sysconf("SC_CLK_TCK")

_RLIMITS = {  # by field of autograder.sandbox.Limits (tests/test_trust_core.py keeps them in step)
    "cpu_seconds": resource.RLIMIT_CPU,
    "memory_bytes": resource.RLIMIT_AS,
    "processes": resource.RLIMIT_NPROC,
    "file_bytes": resource.RLIMIT_FSIZE,
    "open_files": resource.RLIMIT_NOFILE,
}


def _prctl(option: int, value: int) -> None:
    _libc.prctl(option, value, 0, 0, 0)


def _preload(modules: list[str]) -> dict[str, Any]:
    """Import `modules`; a module may define ``zygote_warm()`` to run once after its import.

    Returns what each ``zygote_warm()`` returned, by module name: the zygote keeps it in its own
    locals and hands it to the children (no module attribute leads to it).
    """
    warmed = {}
    for name in modules:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that fails here fails the same way in the kernel
            continue
        if callable(warm := getattr(module, "zygote_warm", None)):
            warmed[name] = warm()
    return warmed


def _child(job: ChildJob, limits: dict[str, int], warmed: dict[str, Any]) -> None:
    """Runs in the forked child: isolate, limit, then become a kernel or a verifier. Never returns."""
    status = 1
    try:
        os.setsid()
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        _prctl(_PR_SET_DUMPABLE, 1)  # the zygote stays undumpable; the child may be debugged by its own kind
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        log = os.open(job.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.closerange(3, 65536)
        for key, value in limits.items():
            resource.setrlimit(_RLIMITS[key], (value, value))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.chdir(job.cwd)
        os.environ.clear()
        os.environ.update(job.env)
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()  # a fresh kernel draws its own seed
        sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
        sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
        if job.kind is ChildKind.KERNEL:
            from ipykernel.kernelapp import IPKernelApp

            sys.argv = ["ipykernel_launcher", *job.argv]
            IPKernelApp.launch_instance(argv=job.argv)
        else:
            from autograder.sandboxed.cleanroom import main

            main(job.argv, warmed.get("autograder.sandboxed.cleanroom"))
        status = 0
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report and leave; never fall back into the zygote's loop
        import traceback

        traceback.print_exc()
    finally:
        os._exit(status)


class Zygote:
    """The command loop. `root` holds ``job/`` (the children's working folder) and ``run/``."""

    def __init__(
        self, root: Path, pid_namespace: bool, limits: dict[str, int], mounts: list[Path], warmed: dict[str, Any]
    ) -> None:
        self.root = root
        self.warmed = warmed
        self.mounts = mounts
        self.pid_namespace = pid_namespace
        self.limits = limits
        self.children: set[int] = set()
        self.peak = 0
        self.cpu_of_dead = 0.0
        self.out = os.fdopen(os.dup(1), "w", buffering=1)

    def send(self, message: Message) -> None:
        self.out.write(message.to_json() + "\n")

    def spawn(self, job: ChildJob) -> int:
        pid = os.fork()
        if pid == 0:
            _child(job, self.limits, self.warmed)
        self.children.add(pid)
        return pid

    def reap(self) -> None:
        """Collect every exited child; report the exits of those this zygote spawned.

        Orphans adopted as subreaper are collected too, without a report; the CPU time of every
        process collected here is added to :attr:`cpu_of_dead`.
        """
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.cpu_of_dead += usage.ru_utime + usage.ru_stime
            if pid in self.children:
                self.children.discard(pid)
                self.send(Exit(pid, os.waitstatus_to_exitcode(status)))

    def others(self) -> list[int]:
        """Every other process of the sandbox."""
        if self.pid_namespace:
            return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]
        return _descendants(os.getpid())

    def sample(self) -> None:
        """Update the peak number of tasks (processes and threads) besides this one."""
        tasks = 0
        for pid in self.others():
            try:
                tasks += len(os.listdir(f"/proc/{pid}/task"))
            except OSError:
                pass
        self.peak = max(self.peak, tasks)

    def usage(self) -> tuple[float, float]:
        """CPU seconds of every process since the zygote started; seconds live ones waited for a core."""
        cpu, queued = self.cpu_of_dead, 0.0
        for pid in self.others():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                tasks = os.listdir(f"/proc/{pid}/task")
            except OSError:
                continue
            cpu += sum(int(f) for f in fields[11:15]) / _TICKS  # utime, stime, cutime, cstime
            for task in tasks:
                try:
                    queued += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[1]) / 1e9
                except (OSError, IndexError, ValueError):
                    pass
        return cpu, queued

    def kill_all(self) -> None:
        """Kill every process of the sandbox except this one.

        In bubblewrap's pid namespace ``kill(-1)`` reaches exactly the sandbox's processes and is
        atomic with respect to fork; without it, orphans come back to this process (a subreaper)
        and are killed until none is left.
        """
        if self.pid_namespace and os.getpid() < 10:
            try:
                os.kill(-1, signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            for _ in range(200):
                family = _descendants(os.getpid())
                if not family:
                    break
                for pid in family:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                self.reap()
        for pid in list(self.children):
            try:
                _, _, usage = os.wait4(pid, 0)
                self.cpu_of_dead += usage.ru_utime + usage.ru_stime
            except ChildProcessError:
                pass
            self.children.discard(pid)
            self.send(Exit(pid, -signal.SIGKILL))
        self.reap()
        for _ in range(100):  # orphans linger as zombies until reaped; the next job must not count them
            self.reap()
            if not self.others():
                break
            time.sleep(0.05)

    def wipe(self) -> None:
        """kill_all, then empty the scratch folders (in the sandbox also /dev/shm) and recreate job/ and run/."""
        self.kill_all()
        for folder in [self.root] + ([Path("/dev/shm")] if self.pid_namespace else []):
            _empty(folder, self.mounts)
        for name in ("job", "run"):
            (self.root / name).mkdir(mode=0o700)

    def handle(self, command: Command) -> Reply:
        match command:
            case Spawn(id=n, job=job):
                return Reply(n, pid=self.spawn(job))
            case Signal(id=n, pid=pid, sig=sig):
                if pid in self.children:
                    try:
                        os.killpg(pid, sig)
                    except ProcessLookupError:
                        pass
                return Reply(n)
            case KillAll(id=n):
                self.sample()
                self.kill_all()
                return Reply(n)
            case Usage(id=n):
                cpu, queued = self.usage()
                return Reply(n, cpu=cpu, queued=queued)
            case Wipe(id=n):
                self.sample()
                peak, self.peak = self.peak, 0
                self.wipe()
                return Reply(n, peak=peak)
        raise ValueError(f"unknown command {command!r}")

    def loop(self) -> None:
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        buffer = b""
        while True:
            ready, _, _ = select.select([0, wake_r], [], [], 0.25)
            if wake_r in ready:
                os.read(wake_r, 4096)
                self.reap()
            if 0 in ready:
                data = os.read(0, 65536)
                if not data:
                    self.kill_all()
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    command = parse(line, *ZYGOTE_COMMANDS)
                    try:
                        reply = self.handle(command)
                    except Exception as err:  # noqa: BLE001 - reported to the worker
                        reply = Reply(command.id, error=f"{type(err).__name__}: {err}")
                    self.send(reply)
            self.reap()
            self.sample()


def _descendants(pid: int) -> list[int]:
    """Every descendant of `pid`, read from /proc (this runs without psutil's help by design)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _empty(folder: Path, keep: list[Path]) -> None:
    """Delete everything in `folder` but the read-only mounts `keep` (a course that lives under /tmp)."""
    for entry in folder.iterdir():
        if entry in keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            if any(entry in k.parents for k in keep):
                _empty(entry, keep)
            else:
                shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _first_line() -> str:
    """The first line on stdin (the configuration), read byte by byte so that no command after it is lost.

    Passed here rather than as an argument, so that no process of the sandbox shows it in its
    ``/proc/<pid>/cmdline`` (forked kernels inherit the zygote's).
    """
    line = b""
    while not line.endswith(b"\n"):
        byte = os.read(0, 1)
        if not byte:
            sys.exit("no configuration on stdin")
        line += byte
    return line.decode()


def main() -> None:
    config = ZygoteConfig.from_json(_first_line())
    if unknown := sorted(set(config.limits) - set(_RLIMITS)):
        sys.exit(f"no resource limit maps the Limits field(s) {unknown}: add them to _RLIMITS")
    _prctl(_PR_SET_DUMPABLE, 0)  # sandboxed children of the same user cannot ptrace or read this process
    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)  # orphans come back here: reaped, and their CPU time counted
    os.environ.update(config.env)
    warmed = _preload(config.preload)
    zygote = Zygote(Path(config.root), config.pid_namespace, config.limits, [Path(m) for m in config.mounts], warmed)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # stray prints of preloaded modules must not corrupt the protocol
    zygote.wipe()
    zygote.send(Ready(os.getpid()))
    zygote.loop()


if __name__ == "__main__":
    main()
