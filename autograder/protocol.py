"""The wire between the grader and what runs in its sandbox: the value codec and typed messages.

This is the only module of :mod:`autograder` that code in :mod:`autograder.sandboxed` may
import, so both sides of the trust boundary speak through what is defined here, and nothing
else. Every message is a dataclass serialised at the pipe's edge with ``to_json`` and read back
with ``from_json``, which checks every field's type: a message written by (or forged in) the
sandbox either decodes to the declared types or raises :class:`ProtocolError`.

Messages, by the pipe they travel:

* runner -> worker -> runner (JSON lines): :class:`Job`, answered by :class:`Answer`, whose
  failure is a :class:`Failure` kind (a value, never a string prefix to parse back);
* worker -> zygote (JSON lines): :class:`ZygoteConfig` (argv), the commands :class:`Spawn`
  (of a :class:`ChildJob`), :class:`Signal`, :class:`KillAll`, :class:`Usage`, :class:`Wipe`;
  zygote -> worker: :class:`Reply`, and the events :class:`Ready` and :class:`Exit`;
* grader -> clean room (a file): :class:`Plan`; clean room -> grader (files): one
  :class:`TestRecord` per test, holding the :class:`CheckCall` of each check, and a :class:`Summary`;
* grader -> tester (a file of its own): :class:`TesterPlan`, the tests that run split, in a process
  that never runs student code; tester <-> student process (pipes, length-prefixed):
  :class:`TesterReady`, :class:`StudentNames`, :class:`RemoteCall` -> :class:`RemoteResult`,
  :class:`TestsDone`.

The values a check saw cross as tagged plain data (:func:`encode` in the sandbox, :func:`decode`
in the grader): exact builtins, numpy arrays, scalars and dtypes, torch tensors (on the ``meta``
device: their shape and dtype) and dtypes, and random generators (``numpy.random.Generator``, a
CPU ``torch.Generator``) as their state.
Anything else, and anything past the :class:`Budget`, arrives as :class:`Opaque`.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import io
import json
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = [
    "NO_TESTER",
    "Answer",
    "Budget",
    "CellKind",
    "CheckCall",
    "CleanRoomPlan",
    "ChildJob",
    "ChildKind",
    "Command",
    "Exit",
    "Failure",
    "Job",
    "KillAll",
    "Message",
    "Opaque",
    "Outcome",
    "Plan",
    "PlanCell",
    "PlanTest",
    "ProtocolError",
    "REMOTE_OPS",
    "RemoteCall",
    "RemoteResult",
    "StudentNames",
    "TesterPlan",
    "TesterReady",
    "TestsDone",
    "Ready",
    "Reply",
    "Signal",
    "Spawn",
    "Summary",
    "TestRecord",
    "Usage",
    "Wipe",
    "ZYGOTE_COMMANDS",
    "ZygoteConfig",
    "conceal",
    "decode",
    "encode",
    "opaque_encoded",
    "opaque_in",
    "parse",
]


class ProtocolError(ValueError):
    """A message or encoded value that does not have the declared shape."""


# typed messages ---------------------------------------------------------------------------------

M = TypeVar("M", bound="Message")


class Message:
    """Base of every message: ``to_json`` / ``from_json`` with the fields' types checked on the way in.

    A subclass that sets ``TAG`` carries it as ``"type"`` on the wire, so :func:`parse` can tell
    messages that share a pipe apart.
    """

    TAG: ClassVar[str] = ""

    def to_json(self) -> str:
        data = _to_data(self)
        return json.dumps({"type": self.TAG, **data} if self.TAG else data)

    @classmethod
    def from_json(cls: type[M], text: str | bytes) -> M:
        try:
            data = json.loads(text)
        except ValueError as err:
            raise ProtocolError(f"not JSON: {err}") from None
        if isinstance(data, dict) and cls.TAG:
            if data.pop("type", None) != cls.TAG:
                raise ProtocolError(f"not a {cls.TAG} message")
        return _from_data(cls, data)


def parse(text: str | bytes, *kinds: type[Message]) -> Message:
    """The message in `text`, of whichever of `kinds` its ``"type"`` names."""
    try:
        tag = json.loads(text).get("type")
    except (ValueError, AttributeError):
        raise ProtocolError("not a JSON object") from None
    for kind in kinds:
        if kind.TAG == tag:
            return kind.from_json(text)
    raise ProtocolError(f"unexpected message type {tag!r}")


def _to_data(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: _to_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [_to_data(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_data(v) for k, v in value.items()}
    return value


@functools.cache
def _fields(kind: type) -> tuple[dict[str, Any], frozenset[str]]:
    """A message class's field types and names (resolved once: messages cross by the thousand in split runs)."""
    return get_type_hints(kind), frozenset(f.name for f in dataclasses.fields(kind))


def _from_data(hint: Any, data: Any) -> Any:
    """`data` (parsed JSON) as the type `hint`, checked all the way down."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return data
    if origin in (Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        return _from_data(next(a for a in args if a is not type(None)), data)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if not isinstance(data, dict):
            raise ProtocolError(f"{hint.__name__}: expected an object")
        hints, names = _fields(hint)
        if unknown := set(data) - names:
            raise ProtocolError(f"{hint.__name__}: unknown fields {sorted(unknown)}")
        try:
            return hint(**{k: _from_data(hints[k], v) for k, v in data.items()})
        except TypeError as err:  # a required field is missing
            raise ProtocolError(f"{hint.__name__}: {err}") from None
    if isinstance(hint, type) and issubclass(hint, Enum):
        try:
            return hint(data)
        except ValueError:
            raise ProtocolError(f"{hint.__name__}: unknown value {data!r}") from None
    if origin is list:
        return [_from_data(args[0], v) for v in _expect(data, list)]
    if origin is tuple:
        items = _expect(data, list)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_from_data(args[0], v) for v in items)
        if len(items) != len(args):
            raise ProtocolError(f"expected {len(args)} items, got {len(items)}")
        return tuple(_from_data(a, v) for a, v in zip(args, items, strict=True))
    if origin is dict:
        return {_expect(k, str): _from_data(args[1], v) for k, v in _expect(data, dict).items()}
    if hint is float and type(data) is int:
        return float(data)
    return _expect(data, hint)


def _expect(data: Any, kind: type) -> Any:
    if type(data) is not kind:
        raise ProtocolError(f"expected {kind.__name__}, got {type(data).__name__}")
    return data


# runner <-> worker -----------------------------------------------------------------------------


@dataclass
class Job(Message):
    """Grade one student's notebook of one assignment, released in `edition` (its language: ``en``, ``zh``)."""

    assignment: str
    student: str
    edition: str = "en"


class Failure(Enum):
    """Why a job gave no grade. :attr:`machine`: the grading machine's doing, graded again later."""

    CPU_LIMIT = "cpu-limit"
    """The notebook's processes used more CPU time than the per-notebook limit."""
    ENDLESS_LOOP = "endless-loop"
    """A cell reached its CPU-time limit and ignored the interrupt."""
    WAITED = "waited"
    """A cell reached the wall-clock backstop while mostly sleeping."""
    PROCESS_LIMIT = "process-limit"
    """The notebook ran processes and threads up to the sandbox's limit (a fork bomb)."""
    SANDBOX_DIED = "sandbox-died"
    """The sandbox stopped while grading (killed by the notebook?)."""
    KERNEL_DIED = "kernel-died"
    """The kernel died while running the notebook (os._exit, a crash, out of memory)."""
    CELL_TIMEOUT = "cell-timeout"
    """A cell kept running past its time limit and could not be interrupted."""
    BUSY = "busy"
    """A wall-clock backstop passed while student code mostly ran or waited for a core."""
    HUNG = "hung"
    """The worker gave no answer within the runner's wall-clock backstop."""
    SANDBOX_START = "sandbox-start"
    """The sandbox could not start."""
    KERNEL_START = "kernel-start"
    """The kernel died before any cell ran."""
    LATE_OUTPUT = "late-output"
    """A cell's output arrived long after its reply (a busy machine)."""
    WORKER_DIED = "worker-died"
    """The grading worker died or could not start."""
    UNKNOWN = "unknown"
    """nbgrader or the worker failed with an error of no known cause: graded again, in case it was the machine."""

    @property
    def machine(self) -> bool:
        """Whether this failure may be the machine's rather than the notebook's (the job is retried)."""
        return self in _MACHINE


_MACHINE = frozenset(
    {
        Failure.BUSY,
        Failure.HUNG,
        Failure.SANDBOX_START,
        Failure.KERNEL_START,
        Failure.LATE_OUTPUT,
        Failure.WORKER_DIED,
        Failure.UNKNOWN,
    }
)


@dataclass
class Answer(Message):
    """The worker's answer to a :class:`Job`: graded (flags, notes) or failed (a :class:`Failure` kind)."""

    success: bool
    failure: Failure | None = None
    detail: str = ""
    """What happened, in one line (the failure's reason is worded from it)."""
    log: str = ""
    """The full log of a failure (nbgrader's, or a traceback), kept beside the result."""
    flags: dict[str, str] = field(default_factory=dict)
    """Test cells whose clean-room run does not hold up (scored 0, held for review), with the reason."""
    notes: list[str] = field(default_factory=list)
    by_hand: dict[str, str] = field(default_factory=dict)
    """Test cells that failed because the exercise was not written by hand, with the message."""
    sandbox: str = ""
    cpu: float = 0.0
    """CPU seconds the submission's processes used."""
    phases: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each phase of a graded job, by name (``autograder.worker.PHASES``)."""

    @classmethod
    def failed(cls, failure: Failure, detail: str, log: str = "") -> Answer:
        return cls(success=False, failure=failure, detail=detail, log=log)

    @property
    def machine_failed(self) -> bool:
        """Whether the job failed and that may be the grading machine's doing: grade again."""
        return not self.success and (self.failure is None or self.failure.machine)


# worker <-> zygote ------------------------------------------------------------------------------


@dataclass
class ZygoteConfig(Message):
    """How the zygote starts (its argv): scratch root, limits of its children, what to preload."""

    root: str
    pid_namespace: bool
    limits: dict[str, int]
    """setrlimit values by :class:`autograder.sandbox.Limits` field name."""
    mounts: list[str]
    """Read-only mounts under `root` that a wipe leaves alone (a course that lives under /tmp)."""
    preload: list[str]
    env: dict[str, str]


class ChildKind(Enum):
    KERNEL = "kernel"
    VERIFY = "verify"


@dataclass
class ChildJob:
    """A process the zygote forks: an ipykernel or a clean-room run, with its argv, environment and log."""

    kind: ChildKind
    argv: list[str]
    env: dict[str, str]
    cwd: str
    log: str


@dataclass
class Command(Message):
    """A command to the zygote; its :class:`Reply` carries the same `id`."""

    id: int


@dataclass
class Spawn(Command):
    """Fork a child for `job`; the reply carries its pid."""

    TAG: ClassVar[str] = "spawn"
    job: ChildJob


@dataclass
class Signal(Command):
    """Send `sig` to the process group of the child `pid` (only children the zygote spawned)."""

    TAG: ClassVar[str] = "signal"
    pid: int
    sig: int


class KillAll(Command):
    """Kill every other process of the sandbox."""

    TAG: ClassVar[str] = "kill_all"


class Usage(Command):
    """Ask for the CPU seconds of the sandbox's processes and the seconds they waited for a core."""

    TAG: ClassVar[str] = "usage"


class Wipe(Command):
    """Kill every other process and empty the scratch folders; the reply carries the peak task count."""

    TAG: ClassVar[str] = "wipe"


ZYGOTE_COMMANDS = (Spawn, Signal, KillAll, Usage, Wipe)
"""Every command the zygote takes."""


@dataclass
class Reply(Message):
    """The zygote's answer to the command `id`; the fields that command asks for, or `error`."""

    TAG: ClassVar[str] = "reply"
    id: int
    error: str = ""
    pid: int = 0
    cpu: float = 0.0
    queued: float = 0.0
    peak: int = 0


@dataclass
class Ready(Message):
    """The zygote has loaded its libraries and waits for commands."""

    TAG: ClassVar[str] = "ready"
    pid: int


@dataclass
class Exit(Message):
    """A child the zygote spawned has exited with `status` (negative: killed by that signal)."""

    TAG: ClassVar[str] = "exit"
    pid: int
    status: int


# grader <-> clean room -------------------------------------------------------------------------


class CellKind(Enum):
    LOCKED = "locked"
    """Source text from the course (not the submission)."""
    SOLUTION = "solution"
    """The student's text."""


@dataclass
class PlanCell:
    id: str
    kind: CellKind
    source: str


@dataclass
class PlanTest:
    id: str
    source: str


@dataclass
class CleanRoomPlan(Message):
    """What a clean-room process runs: `cells`, then the `tests`, each already plain Python; it records
    the ``assert_*`` calls of the modules in `record` and seals each test's record with `key`."""

    cells: list[PlanCell]
    tests: list[PlanTest]
    record: list[str]
    """Modules whose ``assert_*`` calls are recorded."""
    cell_timeout: float
    out: str = ""
    """Folder (as the sandbox sees it) for the records."""
    key: str = ""
    """This run's secret (hex) that seals the records: see :func:`seal`."""


@dataclass(kw_only=True)
class Plan(CleanRoomPlan):
    """The student process's plan: the submission's cells in its order, then the tests that do not run split."""

    allowed: list[str]
    """Guarded changes the course's own solution makes (not held against the tests)."""
    careful: bool
    """Run each test on its own from restored state (the course's solution)."""


@dataclass
class TesterPlan(CleanRoomPlan):
    """The tester's plan (the split clean room): the locked cells its tests read (course source, in the
    notebook's order), then the split tests; `key` is its own, under which alone their records count.

    Written to a file of its own, read and deleted by the tester before the student process runs
    any cell; the student process never holds these tests' sources or `key`.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class


# tester <-> student process (the split clean room) ------------------------------------------------
#
# Values cross as :func:`encode`d data with three more tags, which only these messages carry (a
# record holding one is refused by :func:`decode`): ``{"remote": target}`` (a student object that
# stays in the student process: a name, or "#<n>" for a result kept there), ``{"tester": "#<n>"}``
# (an object of the tester handed to student code: a test's function, called back, or an object
# whose public attributes student code reads by callback), ``{"ref": "numpy.tanh"}`` (a library
# object, imported by name on the other side) and ``{"name": "step"}`` (a locked notebook name,
# read from the other side's restored namespace).
#
# Each message that creates handles says, in `classes`, the class of each new handle's object as
# its MRO (``"module:qualname"`` strings): the receiving side gives the handle the nearest class
# of that list which it trusts (``split._nearest_class``), so that ``isinstance`` judges it.


@dataclass
class TesterReady(Message):
    """The tester has read and deleted its plan: the student process may run cells."""

    TAG: ClassVar[str] = "tester_ready"


NO_TESTER = 75
"""The clean room's exit status when its tester died before it was ready (before any student code
ran): the grader's failure, so the job is graded again (:attr:`Failure.UNKNOWN`)."""


@dataclass
class StudentNames(Message):
    """The names the solution cells bound: callables stay behind (called by name), data crosses."""

    TAG: ClassVar[str] = "student_names"
    callables: list[str]
    values: dict[str, Any]
    """name -> encoded value (or a ``remote`` handle for what is not data)."""
    classes: dict[str, list[str]] = field(default_factory=dict)
    """handle ("#<n>") -> the MRO of its object's class, as ``"module:qualname"`` strings."""


REMOTE_OPS = ("call", "getattr", "getitem", "iter", "next", "len", "bool", "backward", "assign")
"""What a :class:`RemoteCall` does to its target: call it, read an attribute (``args == [name]``),
an item (``args == [key]``), list its items, its next item, its length, its truth; back-propagate
``args == [grad]`` through a result's graph (a ``graph`` handle, either way); and, for the tester
only: copy ``args == [name, tensor]`` into a tensor attribute (what a test changed in place in its copy)."""


@dataclass
class RemoteCall(Message):
    """Call an object of the other process (or do `op` on it): under ``by_hand(forbidden=...)`` when `by_hand`."""

    TAG: ClassVar[str] = "remote_call"
    id: int
    target: str
    args: Any
    kwargs: Any
    by_hand: bool = False
    forbidden: list[str] = field(default_factory=list)
    """Dotted names, as by_hand resolves them."""
    forbidden_names: list[str] = field(default_factory=list)
    """Notebook names (locked or student objects), read from the student process's namespace."""
    op: str = "call"
    """One of :data:`REMOTE_OPS`."""
    grad: bool = True
    """Whether the caller records gradients (``torch.is_grad_enabled()``): the call runs so too."""
    device: str = "cpu"
    """The caller's default torch device (``with torch.device("meta"):``): the call runs on it too."""
    released: list[str] = field(default_factory=list)
    """Handles of the receiver's graphs (``graph`` values) that the sender holds no more: freed there."""
    classes: dict[str, list[str]] = field(default_factory=dict)
    """The classes of the handles that `args` and `kwargs` create (see :class:`StudentNames`)."""
    count_steps: bool = False
    """Count the Python events the call runs there (a test's ``python_steps`` of the student's code)."""
    linked: dict[str, Any] = field(default_factory=dict)
    """The sender's parameters that the receiver holds linked copies of and that changed since
    (handle -> the parameter's ``(values, grad, requires_grad)``, encoded): see ``split._Link``."""
    synced: dict[str, Any] = field(default_factory=dict)
    """The receiver's parameters, as the sender changed its linked copies of them (handle -> the copy)."""


@dataclass
class RemoteResult(Message):
    """What a :class:`RemoteCall` returned (`value`), or raised (`error_type`, `error`)."""

    TAG: ClassVar[str] = "remote_result"
    id: int
    value: Any = None
    error_type: str = ""
    error: str = ""
    written: dict[str, Any] = field(default_factory=dict)
    """Arguments the call changed in place (position or keyword -> encoded new value)."""
    cpu: float = 0.0
    """CPU seconds the call took in the student process (counted against the test's limit)."""
    classes: dict[str, list[str]] = field(default_factory=dict)
    """The classes of the handles that `value` and `written` create (see :class:`StudentNames`)."""
    steps: int = 0
    """The Python events the call ran, when the call asked to count them."""
    linked: dict[str, Any] = field(default_factory=dict)
    """As :attr:`RemoteCall.linked`: the answering end's parameters that changed (during the call)."""
    synced: dict[str, Any] = field(default_factory=dict)
    """As :attr:`RemoteCall.synced`: the caller's parameters, as the answering end changed its copies."""


@dataclass
class TestsDone(Message):
    """The tester has run every split test: the student process stops serving calls."""

    TAG: ClassVar[str] = "tests_done"
    __test__: ClassVar[bool] = False


def _mac(key: str, label: str, body: bytes) -> bytes:
    return hmac.new(bytes.fromhex(key), label.encode() + b"\n" + body, "sha256").hexdigest().encode()


def seal(text: str, key: str, label: str) -> str:
    """`text` after a line with its HMAC-SHA256 under `key` (hex): proof that the clean room wrote it.

    `label` names what the text is (a test's id): a record sealed for one test is refused as
    another's.

    The grader puts a fresh key in each plan. The clean room reads the plan and deletes the file
    before any submitted code runs, and keeps the key only in its functions' locals, which
    submitted code cannot reach without the frame or gc introspection the audit hook refuses; so
    records that a submission writes itself, or replays from another run, are refused by
    :func:`unseal`.
    """
    return _mac(key, label, text.encode()).decode() + "\n" + text


_CONCEALED = b"\x00"
"""First byte of a concealed body (a record's JSON never starts with it)."""


def _keystream(key: str, label: str, size: int) -> bytes:
    return hashlib.shake_256(b"conceal\n" + bytes.fromhex(key) + b"\n" + label.encode()).digest(size)


def _xor(data: bytes, stream: bytes) -> bytes:
    return (int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")).to_bytes(len(data), "little")


def conceal(text: str, key: str, label: str) -> bytes:
    """`text` encrypted and sealed under `key` (hex), as `label`: for :func:`unseal`, which decrypts it.

    The tester's records: its files sit in the sandbox's ``/tmp``, where the student process (same
    user) could read a finished test's recorded values while later tests still call its code.
    Encrypted with SHAKE-256 of the key and the label as the key stream (one record per label and
    key), then sealed like :func:`seal` (HMAC over the ciphertext).
    """
    data = text.encode()
    body = _CONCEALED + _xor(data, _keystream(key, label, len(data)))
    return _mac(key, label, body) + b"\n" + body


def unseal(raw: bytes, key: str, label: str) -> bytes:
    """The text that :func:`seal` (or :func:`conceal`) sealed under `key` as `label`.

    Raises:
        ProtocolError: the seal is missing or does not match (written by anything but the clean room).
    """
    mac, _, body = raw.partition(b"\n")
    if not hmac.compare_digest(mac, _mac(key, label, body)):
        raise ProtocolError("not written by the clean room of this run (its seal does not match)")
    if body.startswith(_CONCEALED):
        return _xor(body[1:], _keystream(key, label, len(body) - 1))
    return body


class Outcome(Enum):
    """What a check concluded: in the sandbox (pass, fail, error), or re-run in the grader (also opaque)."""

    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    OPAQUE = "opaque"
    """A value it compared did not cross as plain data (a re-check's verdict only)."""


@dataclass
class CheckCall:
    """One recorded ``assert_*`` call: where in the test, what it concluded, its arguments encoded."""

    fn: str
    line: int
    outcome: Outcome
    args: Any
    kwargs: Any


@dataclass
class TestRecord(Message):
    """One test's clean run: whether it completed, its checks, the guarded values it changed."""

    __test__: ClassVar[bool] = False  # not a pytest test class
    completed: bool
    error: str
    calls: list[CheckCall]
    changed: list[str]


@dataclass
class Summary(Message):
    """The clean run as a whole: patches the notebook made (undone), errors of its cells."""

    patched: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    split_changed: list[str] = field(default_factory=list)
    """Guarded values the student's code changed while serving the split tests' calls."""


# the values checks saw --------------------------------------------------------------------------


@dataclass
class Budget:
    """Characters of encoded values still allowed in one test's record."""

    left: int

    def spend(self, size: int) -> bool:
        """Take `size` characters; False once the budget is overdrawn."""
        self.left -= size
        return self.left >= 0


@dataclass(frozen=True)
class Opaque:
    """A value that did not cross the sandbox boundary as plain data; `what` says what it was."""

    what: str


def encode(value: Any, budget: Budget, other: Callable[[Any], Any] | None = None) -> Any:
    """`value` as JSON-able tagged data; anything else becomes ``{"opaque": type name}``.

    Only exact builtin types, numpy arrays and scalars and torch tensors cross: an object that
    overrides ``__eq__`` or ``__float__`` arrives as opaque and its check cannot pass. `other`
    (the split clean room's calls only) encodes what is not data instead, or returns None.
    """
    try:
        return _encode(value, budget, other)
    except Exception as err:  # noqa: BLE001 - any failure to encode is an opaque value
        return {"opaque": f"{type(value).__name__} ({type(err).__name__})"}


def _npy(array: Any) -> str:
    import numpy as np

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array(array, order="C"), allow_pickle=False)
    return base64.b64encode(buffer.getvalue()).decode()


def _encode(value: Any, budget: Budget, other: Callable[[Any], Any] | None = None) -> Any:
    kind = type(value)  # the real type: a split handle's ``__class__`` names a library class it is not
    torch = sys.modules.get("torch")
    if value is None or kind in (bool, str):
        out: Any = value
    elif kind is int:
        out = value if abs(value) < 2**53 else {"int": str(value)}
    elif kind is float:
        out = value if value == value and abs(value) != float("inf") else {"float": repr(value)}
    elif kind is complex:
        out = {"complex": [repr(value.real), repr(value.imag)]}
    elif kind in (list, tuple) or (torch is not None and kind is torch.Size):
        items = [_encode(v, budget, other) for v in value]
        out = {"list": items} if kind is list else {"tuple": items}
    elif kind in (set, frozenset):
        out = {"set": [_encode(v, budget, other) for v in value]}
    elif kind is dict:
        out = {"dict": [[_encode(k, budget, other), _encode(v, budget, other)] for k, v in value.items()]}
    elif torch is not None and issubclass(kind, torch.Tensor) and value.device.type == "meta":
        out = {"meta": [list(value.shape), str(value.dtype).removeprefix("torch."), value.requires_grad]}
    elif torch is not None and issubclass(kind, torch.Tensor):
        if other is not None and kind is torch.nn.Parameter and (link := other(value)) is not None:
            grad = None if value.grad is None else value.grad.detach()  # the split clean room's calls
            return {"param": [_encode((value.detach(), grad, value.requires_grad), budget), link]}
        if other is not None and value.requires_grad:  # the split clean room's calls: autograd crosses too
            if value.grad_fn is not None and (graph := other(value)) is not None:
                return {"graph": [_encode(value.detach(), budget), graph]}
            return _leaf(value, budget)
        out = {"tensor": _npy(value.detach().cpu().numpy())}
    elif torch is not None and kind is torch.dtype:
        out = {"torch_dtype": str(value).removeprefix("torch.")}
    elif torch is not None and kind is torch.Generator and value.device.type == "cpu":
        out = {"torch_generator": _npy(value.get_state().numpy())}
    else:
        import numpy as np

        if kind is np.random.Generator and type(value.bit_generator).__name__ in BIT_GENERATORS:
            bits = value.bit_generator
            return {"np_generator": [type(bits).__name__, _encode(bits.state, budget)]}
        if issubclass(kind, np.ndarray) and value.dtype != object:
            out = {"ndarray": _npy(np.asarray(value).view(np.ndarray))}
        elif issubclass(kind, np.generic) and not issubclass(kind, np.object_):
            out = {"scalar": _npy(np.asarray(value))}
        elif issubclass(kind, np.dtype) and not value.hasobject:
            out = {"dtype": value.str}
        elif other is not None and (tagged := other(value)) is not None:
            return tagged
        else:
            return {"opaque": kind.__name__}
    text = out if isinstance(out, str) else _payload_text(out)
    if text is not None and not budget.spend(len(text)):
        return {"opaque": f"{kind.__name__} (too large to transfer)"}
    return out


def _leaf(tensor: Any, budget: Budget) -> Any:
    """A tensor that requires grad, as a leaf that does (and its ``.grad``): ``{"leaf": [data, grad]}``."""
    grad = tensor.grad if tensor.is_leaf else None
    parts = [_npy(t.detach().cpu().numpy()) for t in (tensor, grad) if t is not None]
    if not budget.spend(sum(map(len, parts))):
        return {"opaque": f"{type(tensor).__name__} (too large to transfer)"}
    return {"leaf": parts}


def _payload_text(out: Any) -> str | None:
    """The text payload of a one-tag encoding (what the budget counts), else None."""
    if isinstance(out, dict) and len(out) == 1 and isinstance(payload := next(iter(out.values())), str):
        return payload
    return None


OTHER_TAGS = ("remote", "tester", "ref", "name", "graph", "param", "arg", "layers", "optimizer")
"""Tags that only the split clean room's calls carry (:func:`decode` refuses them without `other`).

``{"arg": "2"}`` (or a keyword): in a call's result, that argument of the call itself, so that
``cache["mask"] is mask`` holds across the split as in one process.

``{"graph": [tensor, handle]}``: a call's result that records its autograd graph, which stays
behind under the handle (the caller joins the data to its own graph: ``split._joined``); or such a
result handed back as it came, the receiver's own tensor with its graph.

``{"param": [(values, grad, requires_grad), handle]}``: in a call's result, an ``nn.Parameter`` of
the sender's, as a copy that stays linked to it under the handle (``split._Link``: what either
side changes in place goes to the other with the next message); or a copy handed back, the
receiver's own parameter.

``{"layers": [class, attributes, parameters, buffers, ...]}``: a module made only of torch's own
layers, as a copy (``layers.describe``; its payload goes undecoded to `other`, which rebuilds it
of its own torch: ``layers.rebuild``).

``{"optimizer": [class, defaults, state, positions]}``: one of torch's optimizers over parameters
of modules that crossed as copies before it in the same call (``optimizers.describe``; undecoded
to `other` too, which rebuilds it over its copies: ``optimizers.rebuild``)."""


def decode(data: Any, other: Callable[[str, Any], Any] | None = None) -> Any:
    """The value :func:`encode` wrote; an opaque or unknown tag becomes :class:`Opaque`.

    `other(tag, payload)` turns the :data:`OTHER_TAGS` into objects (the split clean room's calls
    only; a ``graph``'s payload decoded first); without it they are refused. A ``leaf`` (a tensor
    that requires grad, with its ``.grad``, which only those calls send) is data.

    Raises:
        ProtocolError: `data` is not an encoding (a damaged or forged record).
    """
    try:
        return _decode(data, other)
    except ProtocolError:
        raise
    except Exception as err:  # noqa: BLE001 - whatever a forged payload breaks is a protocol error
        raise ProtocolError(f"undecodable value ({type(err).__name__}: {str(err)[:100]})") from None


def _torch_dtype(name: Any) -> Any:
    import torch

    dtype = vars(torch).get(name) if isinstance(name, str) else None  # no module __getattr__ runs
    if not isinstance(dtype, torch.dtype):
        raise ProtocolError(f"torch.{name} is not a dtype")
    return dtype


def _decode(value: Any, other: Callable[[str, Any], Any] | None = None) -> Any:
    if isinstance(value, list):
        raise ProtocolError("an untagged list (encode tags every container)")
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        raise ProtocolError(f"an encoded value has one tag, not {len(value)}")
    ((tag, payload),) = value.items()
    if tag == "list":
        return [_decode(v, other) for v in payload]
    if tag == "tuple":
        return tuple(_decode(v, other) for v in payload)
    if tag == "dict":
        return {_decode(k, other): _decode(v, other) for k, v in payload}
    if tag == "int":
        return int(payload)
    if tag == "float":
        return float(payload)
    if tag == "complex":
        return complex(float(payload[0]), float(payload[1]))
    if tag == "set":
        return {_decode(v, other) for v in payload}
    if tag == "dtype":
        import numpy as np

        return np.dtype(payload)
    if tag == "torch_dtype":
        return _torch_dtype(payload)
    if tag == "meta":
        import torch

        shape, dtype, requires_grad = payload
        if not (isinstance(shape, list) and all(type(n) is int and n >= 0 for n in shape)):
            raise ProtocolError("a meta tensor's shape is not a list of sizes")
        return torch.empty(shape, dtype=_torch_dtype(dtype), device="meta", requires_grad=requires_grad is True)
    if tag == "np_generator":
        return _np_generator(payload)
    if tag in ("ndarray", "scalar", "tensor", "torch_generator"):
        import numpy as np

        array = np.lib.format.read_array(io.BytesIO(base64.b64decode(payload)), allow_pickle=False)
        if tag == "scalar":
            return array[()]
        if tag == "tensor":
            import torch

            return torch.from_numpy(array)
        if tag == "torch_generator":
            import torch

            generator = torch.Generator()
            generator.set_state(torch.from_numpy(array))
            return generator
        return array
    if tag == "opaque":
        return Opaque(str(payload))
    if tag == "leaf":
        import torch

        tensor, *grad = (torch.from_numpy(_decode({"ndarray": part})) for part in payload)
        tensor.requires_grad_(True)
        if grad:
            tensor.grad = grad[0]
        return tensor
    if tag in ("graph", "param") and other is not None:
        data, handle = payload
        return other(tag, [_decode(data, other), _decode(handle, other)])
    if tag in ("layers", "optimizer") and other is not None:
        return other(tag, payload)
    if tag in OTHER_TAGS and other is not None and isinstance(payload, str):
        return other(tag, payload)
    raise ProtocolError(f"unknown tag {tag!r}")


BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")
"""numpy's bit generators: a ``numpy.random.Generator`` over one of them crosses as its state."""


def _np_generator(payload: Any) -> Any:
    """A ``numpy.random.Generator`` in the state that `payload` (``[bit generator name, state]``) holds."""
    import numpy as np

    name, state = payload
    if name not in BIT_GENERATORS:
        raise ProtocolError(f"not a bit generator: {name!r}")
    bits = getattr(np.random, name)()
    bits.state = _decode(state)  # numpy checks the state's shape and types
    return np.random.Generator(bits)


def opaque_encoded(data: Any) -> str:
    """What the first opaque value in encoded `data` was ('' if none)."""
    if isinstance(data, dict):
        if set(data) == {"opaque"}:
            return str(data["opaque"])
        return next((w for v in data.values() if (w := opaque_encoded(v))), "")
    if isinstance(data, list):
        return next((w for v in data if (w := opaque_encoded(v))), "")
    return ""


def opaque_in(value: Any) -> str:
    """What the first :class:`Opaque` inside a decoded `value` was ('' if none)."""
    if isinstance(value, Opaque):
        return value.what
    if isinstance(value, list | tuple):
        return next((w for v in value if (w := opaque_in(v))), "")
    if isinstance(value, dict):
        return next((w for k, v in value.items() if (w := opaque_in(k) or opaque_in(v))), "")
    return ""
