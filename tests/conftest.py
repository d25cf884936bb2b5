import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


class CpuHogs:
    """`count` processes that burn a core each (plain busy loops), as on a busy shared machine."""

    def __init__(self, count: int = 2) -> None:
        import subprocess
        import sys

        self.procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]

    def stop(self) -> None:
        for proc in self.procs:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def cpu_hogs():
    """A CPU hog beside each test worker running the module's tests: grades must not change.

    With ``-n 2`` on two cores, that is twice as many busy processes as cores.
    """
    hogs = CpuHogs(1)
    yield hogs
    hogs.stop()


@pytest.fixture(scope="session", autouse=True)
def shared_calibrations(tmp_path_factory):
    """One cache of the solution's clean-room runs for the whole run (every pytest worker, and the
    graders the tests start): each notebook is calibrated once, not once per work folder."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOGRADER_CALIBRATIONS", str(root / "calibrations"))
        yield


@pytest.fixture(autouse=True)
def torch_defaults():
    """Tests that run notebook cells in-process (01 and 02 set float64) leave torch's defaults as they were."""
    import torch

    dtype, threads = torch.get_default_dtype(), torch.get_num_threads()
    yield
    torch.set_default_dtype(dtype)
    torch.set_num_threads(threads)
