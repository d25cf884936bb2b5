import shutil

import numpy as np
import pytest

from course import data


def test_mnist_shapes_types_and_ranges():
    x, y = data.load_mnist("test")
    assert x.shape == (10000, 28, 28) and x.dtype == np.float32
    assert y.shape == (10000,) and y.dtype == np.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) == set(range(10))
    xt, yt = data.load_mnist("train", normalize=False, flatten=True, limit=100)
    assert xt.shape == (100, 784) and xt.dtype == np.uint8 and yt.shape == (100,)


def test_train_split_has_the_documented_size():
    x, y = data.load_mnist("train")
    assert len(x) == len(y) == 20000


def test_loading_works_from_any_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert len(data.load_shakespeare()) == 1_115_394


def test_unknown_split_is_refused():
    with pytest.raises(ValueError, match="split"):
        data.load_mnist("validation")


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    copy = tmp_path / "data"
    shutil.copytree(data.data_dir(), copy)
    monkeypatch.setenv("COURSE_DATA", str(copy))
    data._checksums.cache_clear()
    data._mnist_arrays.cache_clear()
    yield copy
    data._checksums.cache_clear()
    data._mnist_arrays.cache_clear()


def test_missing_file_names_the_file_and_the_fix(data_copy):
    (data_copy / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match=r"t10k-labels-idx1-ubyte\.gz is missing.*git checkout"):
        data.load_mnist("test")


def test_damaged_file_is_detected(data_copy):
    path = data_copy / "tinyshakespeare" / "input.txt"
    path.write_bytes(path.read_bytes().replace(b"First Citizen", b"Fifth Citizen", 1))
    with pytest.raises(data.DataError, match="damaged"):
        data.load_shakespeare()


def test_missing_checksum_list_is_reported(data_copy):
    (data_copy / "SHA256SUMS").unlink()
    with pytest.raises(data.DataError, match="SHA256SUMS is missing"):
        data.load_shakespeare()
