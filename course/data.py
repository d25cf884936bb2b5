"""Load the course's data sets from the repository's `data/` folder.

Nothing here downloads: machines that build, run and grade the course may be offline.
Every file is checked against `data/SHA256SUMS` before it is used, and a missing or damaged
file raises :class:`DataError` naming the file and how to restore it.

The folder is found from this package, so loading works from any working directory (the
grader runs kernels elsewhere). Set ``COURSE_DATA`` to use another folder.
"""

from __future__ import annotations

import gzip
import hashlib
import os
from functools import cache
from pathlib import Path

import numpy as np

from course.i18n import tr

__all__ = ["DataError", "data_dir", "data_path", "load_mnist", "load_shakespeare", "save_weights"]


def _restore() -> str:
    """How to get a missing or damaged file back, in the current language."""
    return tr(
        "Restore it with `git checkout -- data/` from the course repository "
        "(or copy the course's data/ folder again); the course never downloads data."
    )


class DataError(RuntimeError):
    """A data file is missing, damaged or not listed in SHA256SUMS."""


def data_dir() -> Path:
    """The folder holding SHA256SUMS, mnist/ and tinyshakespeare/."""
    return Path(os.environ.get("COURSE_DATA") or Path(__file__).resolve().parent.parent / "data")


@cache
def _checksums(folder: Path) -> dict[str, str]:
    sums = folder / "SHA256SUMS"
    if not sums.is_file():
        raise DataError(tr("{path} is missing. {restore}", path=sums, restore=_restore()))
    lines = (line.split(maxsplit=1) for line in sums.read_text().splitlines() if line.strip())
    return {name.strip(): digest for digest, name in lines}


@cache
def _verified(path: Path, digest: str, size: int, mtime: float) -> bool:
    sha = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    return sha.hexdigest() == digest


def data_path(name: str) -> Path:
    """Path of the data file `name` (e.g. ``"mnist/t10k-labels-idx1-ubyte.gz"``), verified.

    Raises:
        DataError: the file is missing, not listed in SHA256SUMS, or its checksum differs.
    """
    folder = data_dir()
    sums = _checksums(folder)
    if name not in sums:
        raise DataError(tr("{name} is not listed in {sums}.", name=name, sums=folder / "SHA256SUMS"))
    path = folder / name
    if not path.is_file():
        raise DataError(tr("Data file {path} is missing. {restore}", path=path, restore=_restore()))
    stat = path.stat()
    if not _verified(path, sums[name], stat.st_size, stat.st_mtime):
        raise DataError(
            tr(
                "Data file {path} is damaged: its SHA-256 does not match SHA256SUMS. {restore}",
                path=path,
                restore=_restore(),
            )
        )
    return path


def _read_idx(path: Path) -> np.ndarray:
    """Decode a gzipped IDX file (unsigned bytes) into an array of its stated shape."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if raw[:2] != b"\x00\x00" or raw[2] != 0x08:
        raise DataError(tr("{path} is not an IDX file of unsigned bytes.", path=path))
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DataError(
            tr("{path} holds {size} bytes of data, its header says {shape}.", path=path, size=data.size, shape=shape)
        )
    return data.reshape(shape)


@cache
def _mnist_arrays(split: str) -> tuple[np.ndarray, np.ndarray]:
    prefix = {"train": "train", "test": "t10k"}[split]
    images = _read_idx(data_path(f"mnist/{prefix}-images-idx3-ubyte.gz"))
    labels = _read_idx(data_path(f"mnist/{prefix}-labels-idx1-ubyte.gz"))
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels


def load_mnist(
    split: str = "train", *, normalize: bool = True, flatten: bool = False, limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST digits.

    Args:
        split: ``"train"`` (the first 20,000 training images) or ``"test"`` (all 10,000).
        normalize: scale pixels to float32 in [0, 1]; otherwise keep uint8 in [0, 255].
        flatten: return images as rows of 784 pixels instead of 28 x 28.
        limit: keep only the first `limit` examples.

    Returns:
        images: (N, 28, 28), or (N, 784) when `flatten`; float32 or uint8.
        labels: (N,) int64 digits 0-9.
    """
    if split not in ("train", "test"):
        raise ValueError(tr("split must be 'train' or 'test', not {split!r}", split=split))
    images, labels = _mnist_arrays(split)
    images, labels = images[:limit], labels[:limit]
    x = images.astype(np.float32) / 255.0 if normalize else images.copy()
    if flatten:
        x = x.reshape(len(x), -1)
    return x, labels.astype(np.int64)


def load_shakespeare() -> str:
    """The tiny-Shakespeare corpus: 1,115,394 characters of plays, as one string."""
    return data_path("tinyshakespeare/input.txt").read_text(encoding="utf-8")


def save_weights(state: object, path: Path, name: str) -> None:
    """``torch.save(state, path)`` for a file that ships in ``data/``; prints its line for SHA256SUMS as `name`."""
    import torch

    torch.save(state, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB); line for data/SHA256SUMS:")
    print(f"{digest}  {name}")
