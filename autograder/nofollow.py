"""Read a submission's folder without following links or opening anything but regular files.

A submission is ``<student>/<assignment>/<files>``. A symbolic link anywhere in it would make the
grader read on the student's behalf what the link points at (the course's source notebook,
``/proc/self/...``), a FIFO would block the grader, a device could be read forever. So the student's
folder, the assignment folder and every file are looked at with ``lstat`` and opened with
``O_NOFOLLOW`` relative to the folder already opened (no path is resolved twice), files with
``O_NONBLOCK`` and checked to be regular with ``fstat`` before a byte is read.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path
from types import TracebackType

__all__ = ["FILE", "Refused", "SubmissionFolder", "fingerprint"]

FILE = "a file"
"""The kind of a regular file; anything else is refused when read."""

_KINDS = (
    (stat.S_ISLNK, "a symbolic link"),
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISREG, FILE),
)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class Refused(Exception):
    """Part of the submission is not a plain folder or file; ``reason`` says so to the student."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def kind(mode: int) -> str:
    """What an ``lstat`` mode is, in words."""
    return next((words for test, words in _KINDS if test(mode)), "not a file")


class SubmissionFolder:
    """``<student>/<assignment>`` opened without following links: ``with SubmissionFolder(path) as sub:``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fds: list[int] = []

    def _open_dir(self, name: str, what: str, dir_fd: int | None) -> int:
        try:
            found = kind(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
            if found != "a folder":
                raise Refused(f"{what} is {found}; submit the folder itself")
            fd = os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
        except OSError as err:  # gone, or swapped for a link since the lstat
            raise Refused(f"{what} cannot be opened ({err.strerror}); submit the folder itself") from None
        self._fds.append(fd)
        return fd

    def __enter__(self) -> SubmissionFolder:
        try:
            student = self._open_dir(str(self.folder.parent), "the student's folder", None)
            self.fd = self._open_dir(self.folder.name, f"the assignment folder {self.folder.name}", student)
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, kind_: type | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        while self._fds:
            os.close(self._fds.pop())

    def entries(self) -> dict[str, str]:
        """Name -> kind of every entry, from ``lstat`` (nothing is opened)."""
        return {e.name: kind(e.stat(follow_symlinks=False).st_mode) for e in os.scandir(self.fd)}

    def read(self, name: str, limit: int) -> bytes:
        """The bytes of the regular file `name`, at most `limit` + 1 of them (more means too large).

        Raises:
            Refused: `name` is a link, a pipe, a device or anything but a regular file.
        """
        found = kind(os.stat(name, dir_fd=self.fd, follow_symlinks=False).st_mode)
        if found != FILE:
            raise Refused(f"{name} is {found}, not a file; submit the file itself")
        try:
            fd = os.open(name, _FILE_FLAGS, dir_fd=self.fd)
        except OSError as err:
            raise Refused(f"{name} cannot be opened ({err.strerror}); submit the file itself") from None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped since the lstat
                raise Refused(f"{name} is not a file; submit the file itself")
            return f.read(limit + 1)


def fingerprint(folder: Path, limit: int) -> str:
    """SHA-256 of the notebooks in `folder` (names, kinds, bytes of regular files), opening nothing else."""
    digest = hashlib.sha256()
    try:
        with SubmissionFolder(folder) as sub:
            for name, found in sorted(sub.entries().items()):
                if name.endswith(".ipynb"):
                    digest.update(f"{name}\0{found}\0".encode())
                    if found == FILE:
                        digest.update(sub.read(name, limit))
    except Refused as refused:
        digest.update(refused.reason.encode())
    return digest.hexdigest()
