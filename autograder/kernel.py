"""nbgrader's Execute step, with its kernels forked inside the worker's sandbox and a cap on output.

The worker installs its :class:`~autograder.sandbox.Sandbox` with :func:`use` and puts
:class:`SandboxExecute` in place of nbgrader's ``Execute`` (see :mod:`autograder.worker`).
nbclient then drives an ordinary ipykernel for the locked and solution cells (the test cells are
graded in the clean room, see :class:`CleanRoomTests`), but the kernel is forked by the sandbox's zygote
instead of started by jupyter_client: the kernel speaks ZeroMQ over unix sockets (the ``ipc``
transport, since the sandbox has no network) in the sandbox's ``run/`` folder, and works in
its ``job/`` folder, which holds a copy of the assignment's files but never a notebook (the
autograded copy carries the hidden tests).

Limits count CPU time, never wall time: nbgrader's per-cell ``Execute.timeout`` is read as CPU
seconds of the sandbox's processes while the cell runs. A watchdog interrupts a cell that spends
more (its test then fails, as under nbgrader's own limit) and kills the kernel if the cell
ignores the interrupt for as long again. The wall clock is only a backstop, ``wall_factor`` times
the limit: a cell that reaches it is recorded with the CPU time it used and the time it waited
for a core, so the worker can tell a busy machine (grade again) from a notebook that sleeps.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jupyter_client.connect import KernelConnectionInfo
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import CaselessStrEnum, Integer

from autograder.assignments import NOT_RUN, graded_chain, nbgrader_meta
from autograder.edition import Translation, translate
from autograder.protocol import ChildKind
from autograder.sandbox import WALL_FACTOR, Sandbox
from autograder.verify import Verdicts

__all__ = [
    "STOPPED",
    "CleanRoomTests",
    "Overrun",
    "SandboxExecute",
    "SandboxKernelManager",
    "grade_tests_in_clean_room",
    "take_execution_seconds",
    "take_overruns",
    "take_verdicts",
    "use",
]

_SANDBOX: Sandbox | None = None


@dataclass
class Overrun:
    """A cell that reached a limit: ``cpu`` (interrupted), ``cpu-ignored`` (killed) or ``wall`` (backstop)."""

    cell_index: int
    kind: str
    cpu: float
    """CPU seconds the sandbox's processes used during the cell."""
    queued: float
    """Seconds they were ready to run but waited for a core (the machine's load)."""
    wall: float

    def describe(self, limit: float) -> str:
        """One line for the student: which cell, which limit, what it used."""
        cell = f"cell {self.cell_index + 1}"
        if self.kind == "wall":
            return (f"{cell} ran {self.wall:.0f} s of wall time using {self.cpu:.1f} s of CPU time "
                    f"and waiting {self.queued:.1f} s for a core")  # fmt: skip
        ignored = " and ignored the interrupt" if self.kind == "cpu-ignored" else ""
        return f"{cell} used more than {limit:g} s of CPU time (the per-cell limit){ignored}"

    @property
    def machine_busy(self) -> bool:
        """A wall-clock overrun spent mostly running or waiting for a core, not sleeping: the machine's doing."""
        return self.kind == "wall" and self.cpu + self.queued >= 0.5 * self.wall


@dataclass
class CleanRoomTests:
    """Test cells the clean room grades instead of the kernel, and how to grade them.

    ``grade`` gets the notebook once its kernel ran (every other cell) and returns the verdicts;
    each of these test cells then gets the outputs a kernel would have left: nothing if it
    passed, else an error (which nbgrader scores 0).
    """

    ids: frozenset[str]
    grade: Callable[[NotebookNode], Verdicts]


STOPPED = "not run: the notebook's run was stopped before the tests"
"""The error a clean-room test cell gets when a cell's overrun stopped the job before the tests ran."""

_OVERRUNS: list[Overrun] = []
_EXECUTED: list[float] = []
_CLEAN_ROOM: list[float] = []
_TESTS: list[CleanRoomTests] = []
_EDITION: list[Translation] = []
_VERDICTS: list[Verdicts | Exception] = []


def take_execution_seconds() -> tuple[float, float]:
    """Wall seconds since the last call: kernels running notebooks (start to shutdown), the clean room grading tests."""
    totals = sum(_EXECUTED), sum(_CLEAN_ROOM)
    _EXECUTED.clear()
    _CLEAN_ROOM.clear()
    return totals


def grade_tests_in_clean_room(tests: CleanRoomTests | None) -> None:
    """Let the clean room grade `tests` in the notebooks executed from now on (None: the kernel runs every test)."""
    _TESTS[:] = [tests] if tests else []
    if tests:
        _VERDICTS.clear()


def grade_edition(translation: Translation | None) -> None:
    """Run the notebooks executed from now on in `translation`'s edition (None: as nbgrader restored them).

    nbgrader puts back the locked and test cells of the source it registered, in English; a
    submission of another edition gets them translated again, as its release had them.
    """
    _EDITION[:] = [translation] if translation else []


def take_verdicts() -> Verdicts | None:
    """The clean room's verdicts on the last notebook (None if it did not get that far).

    Raises:
        what grading in the clean room raised (a busy machine, a sandbox that died).
    """
    found = _VERDICTS[:1]
    _VERDICTS.clear()
    if not found:
        return None
    if isinstance(found[0], Exception):
        raise found[0]
    return found[0]


def _graded_elsewhere(cell: NotebookNode) -> bool:
    meta = nbgrader_meta(cell)
    return bool(_TESTS and meta.get("grade") and meta.get("grade_id") in _TESTS[0].ids)


def _error(name: str, message: str) -> NotebookNode:
    return new_output("error", ename=name, evalue=message, traceback=[f"{name}: {message}"])


def _fill(nb: NotebookNode, verdicts: Verdicts) -> None:
    """Give each test cell the clean room graded the outputs its verdict stands for."""
    for cell in nb.cells:
        if cell.cell_type == "code" and _graded_elsewhere(cell):
            gid = nbgrader_meta(cell)["grade_id"]
            if gid in verdicts.failed:
                cell.outputs = [_error("NotConfirmed", f"not confirmed when run cleanly: {verdicts.failed[gid]}")]
            elif gid in verdicts.errors:
                cell.outputs = [_error(*verdicts.errors[gid])]
            else:
                cell.outputs = []


def take_overruns() -> list[Overrun]:
    """The overruns recorded since the last call (one grading job's), oldest first."""
    found = list(_OVERRUNS)
    _OVERRUNS.clear()
    return found


def use(sandbox: Sandbox | None) -> None:
    """Make kernels started from now on run in `sandbox`."""
    global _SANDBOX
    _SANDBOX = sandbox


def _sandbox() -> Sandbox:
    if _SANDBOX is None:
        raise RuntimeError("no sandbox installed: call autograder.kernel.use(sandbox) first")
    return _SANDBOX


class SandboxProvisioner(LocalProvisioner):
    """Launches the kernel through the zygote; signals and exit codes go through it too."""

    sandbox_pid: int | None = None

    @property
    def has_process(self) -> bool:
        return self.sandbox_pid is not None

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> KernelConnectionInfo:
        sandbox = _sandbox()
        km = self.parent
        if kwargs.get("cwd"):
            sandbox.stage(Path(kwargs["cwd"]))
        name = Path(km.connection_file).name
        info = json.loads(Path(km.connection_file).read_text())
        Path(km.connection_file).unlink()
        info["ip"] = sandbox.inside(f"run/{Path(km.ip).name}")
        sandbox.write(f"run/{name}", json.dumps(info).encode())
        argv = list(cmd[cmd.index("ipykernel_launcher") + 1 :])
        argv[argv.index("-f") + 1] = sandbox.inside(f"run/{name}")
        self.sandbox_pid = sandbox.spawn(ChildKind.KERNEL, argv, kwargs.get("env") or {}, f"run/{Path(name).stem}.log")
        self.pid = self.sandbox_pid
        return self.connection_info

    async def poll(self) -> int | None:
        if self.sandbox_pid is None:
            return 0
        return _sandbox().exit_status(self.sandbox_pid)

    async def wait(self) -> int | None:
        while (status := await self.poll()) is None:
            await asyncio.sleep(0.05)
        self.sandbox_pid = None
        return status

    async def send_signal(self, signum: int) -> None:
        if self.sandbox_pid is not None:
            _sandbox().signal(self.sandbox_pid, signum)

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)


class SandboxKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels live in the installed sandbox, reached over ipc sockets."""

    transport = CaselessStrEnum(["tcp", "ipc"], default_value="ipc")

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        sandbox = _sandbox()
        stem = f"k-{uuid.uuid4().hex[:8]}"
        self.connection_file = sandbox.host(f"run/{stem}.json")
        self.ip = sandbox.host(f"run/{stem}-ipc")
        self.kernel_id = self.kernel_id or str(uuid.uuid4())
        if self.provisioner is None:
            self.provisioner = SandboxProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)

    def _reconcile_connection_info(self, info: KernelConnectionInfo) -> None:
        """Nothing: the kernel's copy of the connection file names its sockets as seen inside the sandbox."""

    def cleanup_connection_file(self) -> None:
        """Nothing: wiping the sandbox removes it (and no path inside the sandbox is trusted)."""

    def cleanup_ipc_files(self) -> None:
        """Nothing, as for the connection file."""


def _size(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return sum(_size(v) for v in value.values())
    if isinstance(value, list):
        return sum(_size(v) for v in value)
    return 8


class SandboxExecute(Execute):
    """nbgrader's Execute with sandboxed kernels, CPU-time cell limits and at most `max_output_bytes` of output.

    Only the cells a grade depends on run (:func:`~autograder.assignments.graded_chain`: locked,
    solution and test cells); every other code cell, a demonstration or a cell the student added,
    gets one line saying it was not run. The test cells named by :func:`grade_tests_in_clean_room`
    do not run in the kernel either: once it ran the rest, the clean room grades them and each
    gets the outputs its verdict stands for, before nbgrader's next step saves the grades.

    ``timeout`` (nbgrader's ``Execute.timeout``) is CPU seconds per cell; the wall-clock limit
    nbclient enforces becomes ``wall_factor`` times that, a backstop (see the module's docstring).
    Output beyond the cap is dropped as it arrives (so a print loop cannot fill the grader's
    memory), and the cell gets one line on stdout saying so.
    """

    max_output_bytes = Integer(8 * 2**20, help="Output kept per notebook, in characters.").tag(config=True)
    wall_factor = Integer(WALL_FACTOR, help="Wall-clock backstop per cell, in CPU limits.").tag(config=True)
    poll_seconds = 0.25

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["kernel_manager_class"] = SandboxKernelManager
        super().__init__(*args, **kwargs)
        self._kept = 0
        self._noted: set[int] = set()

    def preprocess(self, nb: NotebookNode, resources: Any = None, km: Any = None) -> tuple[NotebookNode, Any]:
        self._kept = 0
        self._noted = set()
        if _EDITION:
            nb = translate(nb, _EDITION[0], cells="given")
        start = time.perf_counter()
        try:
            nb, resources = super().preprocess(nb, resources, km)
        finally:
            _EXECUTED.append(time.perf_counter() - start)
        if _TESTS and any(o.kind != "cpu" for o in _OVERRUNS):  # the worker fails the job: no test keeps points
            _fill(nb, Verdicts(errors=dict.fromkeys(_TESTS[0].ids, ("RuntimeError", STOPPED))))
        elif _TESTS:
            start = time.perf_counter()
            try:
                verdicts = _TESTS[0].grade(nb)
            except Exception as err:  # the worker re-raises it; raising here keeps nbgrader from saving grades
                _VERDICTS[:] = [err]
                raise
            finally:
                _CLEAN_ROOM.append(time.perf_counter() - start)
            _fill(nb, verdicts)
            _VERDICTS[:] = [verdicts]
        return nb, resources

    def _get_timeout(self, cell: NotebookNode | None) -> int | None:
        cpu_limit = super()._get_timeout(cell)
        return cpu_limit * self.wall_factor if cpu_limit else None

    async def async_execute_cell(self, cell: NotebookNode, cell_index: int, *args: Any, **kwargs: Any) -> NotebookNode:
        if cell.cell_type == "code" and not graded_chain(cell):
            cell.outputs = [new_output("stream", name="stdout", text=f"[grader] {NOT_RUN}\n")]
            return cell
        if cell.cell_type == "code" and _graded_elsewhere(cell):
            cell.outputs = []  # filled from the clean room's verdict once every other cell ran
            return cell
        limit = super()._get_timeout(cell)
        if cell.cell_type != "code" or not limit:
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        self._cell_start = (*await asyncio.to_thread(_sandbox().usage), time.monotonic())
        watchdog = asyncio.ensure_future(self._watch_cpu(cell_index, limit))
        try:
            return await super().async_execute_cell(cell, cell_index, *args, **kwargs)
        finally:
            watchdog.cancel()
            for overrun in _OVERRUNS:
                if overrun.cell_index == cell_index and overrun.kind != "wall":
                    note = f"[grader] interrupted: {overrun.describe(limit)}\n"
                    cell.outputs.append(new_output("stream", name="stdout", text=note))

    execute_cell = run_sync(async_execute_cell)  # nbclient binds its own at class creation

    async def _cell_usage(self, cell_index: int, kind: str) -> Overrun:
        cpu0, queued0, wall0 = self._cell_start
        cpu, queued = await asyncio.to_thread(_sandbox().usage)
        return Overrun(cell_index, kind, cpu - cpu0, max(0.0, queued - queued0), time.monotonic() - wall0)

    async def _watch_cpu(self, cell_index: int, limit: float) -> None:
        """Interrupt the cell once it used `limit` CPU seconds; kill the kernel at twice that."""
        interrupted: Overrun | None = None
        while True:
            await asyncio.sleep(self.poll_seconds)
            usage = await self._cell_usage(cell_index, "cpu")
            if interrupted is None and usage.cpu > limit:
                interrupted = usage
                _OVERRUNS.append(interrupted)
                await ensure_async(self.km.interrupt_kernel())
            elif interrupted is not None and usage.cpu > 2 * limit:
                interrupted.kind = "cpu-ignored"
                await asyncio.to_thread(_sandbox().kill_all)
                return

    async def _async_handle_timeout(self, timeout: int, cell: NotebookNode | None = None) -> None | dict[str, Any]:
        """The wall-clock backstop: record what the cell used, then stop the notebook (the worker decides why)."""
        index = self.nb.cells.index(cell) if cell is not None else -1
        _OVERRUNS.append(await self._cell_usage(index, "wall"))
        await asyncio.to_thread(_sandbox().kill_all)
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs: list[NotebookNode], msg: dict, display_id: str | None, cell_index: int) -> Any:
        size = _size(msg.get("content", {}))
        if self._kept + size <= self.max_output_bytes:
            self._kept += size
            return super().output(outs, msg, display_id, cell_index)
        if cell_index not in self._noted:
            self._noted.add(cell_index)
            note = f"[output truncated by the grader: more than {self.max_output_bytes} characters in this notebook]\n"
            outs.append(new_output("stream", name="stdout", text=note))
        return None
