"""A student's view in a real browser: JupyterLab runs notebook 01, shows its plots and test results.

Needs Chromium at /usr/bin/chromium (or $CHROMIUM) and the `playwright` package (the `browser`
extra); skipped otherwise. The system browser is used: `playwright install` is never needed.
A screenshot of the answered notebook is kept in test-artifacts/browser-01_neuron.png.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from autograder.assignments import find_assignment, nbgrader_meta
from autograder.paths import REPO

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
RUN_TIMEOUT = 180
"""Seconds a 'run all cells' may take before the test gives up."""
ARTIFACTS = REPO / "test-artifacts"

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)"),
    pytest.mark.xdist_group("browser"),  # one JupyterLab server for the whole module
]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is missing (pip install -e '.[browser]')"
)

# JupyterLab settings for a quiet, fully rendered page: every cell in the DOM (no windowing), no news toast.
USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"},
}


def _answered(release: nbformat.NotebookNode, source) -> nbformat.NotebookNode:
    for cell in release.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.source = source.cell(cell.id).source
    return release


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop the server, its process group and any kernel it started (kernels get their own session)."""
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
    for child in family:
        try:
            child.kill()
        except psutil.NoSuchProcess:
            pass


class Lab:
    def __init__(self, url: str, token: str, root: Path, log: Path):
        self.url, self.token, self.root, self.log = url, token, root, log

    def post(self, path: str, data: dict, timeout: float = RUN_TIMEOUT) -> dict:
        req = urllib.request.Request(
            f"{self.url}/{path}",
            data=json.dumps(data).encode(),
            headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free local port over a workspace with notebook 01 answered and untouched."""
    root = tmp_path_factory.mktemp("lab")
    neuron = find_assignment("01_neuron")
    chinese = neuron.in_edition("zh")
    one_wrong = _answered(chinese.released(), chinese)
    sigmoid = one_wrong.cells[[c.get("id") for c in one_wrong.cells].index("sigmoid")]
    sigmoid.source = sigmoid.source.replace("np.exp(-z[pos])", "np.exp(z[pos])")  # wrong for z > 0
    notebooks = (("answered", _answered(neuron.released(), neuron)), ("release", neuron.released()), ("zh", one_wrong))
    for folder, nb in notebooks:
        (root / folder / neuron.name).mkdir(parents=True)
        nbformat.write(nb, root / folder / neuron.name / neuron.path.name)
    home = tmp_path_factory.mktemp("home")
    for name, settings in USER_SETTINGS.items():
        f = home / ".jupyter" / "lab" / "user-settings" / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(settings))
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "HOME": str(home),
        "AUTOGRADER_WORK": str(tmp_path_factory.mktemp("work")),
    }
    # tests/conftest.py sets MPLBACKEND=Agg, which would hide every figure in the kernel.
    for var in ("MPLBACKEND", "NBGRADER_EXECUTION", "COURSE_BUDGET_SCALE", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR"):
        env.pop(var, None)
    log = root.parent / f"{root.name}-jupyter.log"
    cmd = [
        str(Path(sys.executable).parent / "jupyter"),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ] + (["--allow-root"] if os.geteuid() == 0 else [])
    # Started from the repository root, as `make lab` does: nbgrader's Validate reads the course config.
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within 60 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield Lab(url, token, root, log)
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    yield page
    context.close()


_PANEL_READY = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!(w && w.content && w.content.widgets && w.context.isReady && kernel && kernel.status === 'idle'
            && w.content.widgets.length > 0);
}"""

_CELLS = """() => window.jupyterapp.shell.currentWidget.content.widgets.map(w => ({
  id: w.model.id,
  type: w.model.type,
  nbgrader: w.model.getMetadata('nbgrader') || {},
  prompt: (w.node.querySelector('.jp-InputPrompt') || {}).textContent || '',
  errors: [...w.node.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].map(e => e.textContent),
  images: [...w.node.querySelectorAll('.jp-OutputArea-output img')].filter(i => i.naturalWidth > 0).length,
  shown: w.node.isConnected && w.node.getClientRects().length > 0,
}))"""


_DRAWS_GLYPHS = """(text) => {
  // In the markdown's font: does `text` draw differently from as many code points no font has (boxes)?
  const font = getComputedStyle(document.querySelector('.jp-MarkdownOutput')).font;
  const draw = (s) => {
    const c = document.createElement('canvas'); c.width = 400; c.height = 60;
    const g = c.getContext('2d'); g.font = font; g.fillText(s, 5, 40);
    return c.toDataURL();
  };
  return draw(text) !== draw('\\u{10FFFD}'.repeat([...text].length));
}"""


def _open(page, lab: Lab, path: str) -> None:
    page.goto(f"{lab.url}/lab/tree/{path}?reset&token={lab.token}")
    page.wait_for_function(_PANEL_READY, timeout=90_000)


def _run_all(page) -> list[dict]:
    """Run every cell, wait until none is queued or running; return what the page shows per cell."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    deadline = time.monotonic() + RUN_TIMEOUT
    started = False
    while time.monotonic() < deadline:
        cells = page.evaluate(_CELLS)
        code = [c for c in cells if c["type"] == "code"]
        busy = any("*" in c["prompt"] for c in code)
        kernel = page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status")
        started = started or busy or any(re.search(r"\[\d+\]", c["prompt"]) for c in code)
        if started and not busy and kernel == "idle":
            return cells
        time.sleep(1)
    pytest.fail(f"the notebook was still running after {RUN_TIMEOUT} s")


def _tests(cells: list[dict]) -> list[dict]:
    return [c for c in cells if c["type"] == "code" and c["nbgrader"].get("grade")]


def test_answered_notebook_passes_its_tests_and_draws_in_jupyterlab(lab, page):
    _open(page, lab, "answered/01_neuron/neuron.ipynb")
    cells = _run_all(page)
    tests = _tests(cells)
    assert len(tests) == len(find_assignment("01_neuron").exercises)
    for c in tests:
        assert c["shown"], f"test cell {c['id']} is not visible"
        assert re.fullmatch(r"\[\d+\]:", c["prompt"].strip()), f"test cell {c['id']} did not run: {c['prompt']!r}"
        assert c["errors"] == [], f"test cell {c['id']} shows an error: {c['errors'][0][:300]}"
    assert any(c["images"] for c in cells), "no plot image was rendered"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".jp-Cell", has=page.locator(".jp-OutputArea-output img")).first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser-01_neuron.png"))

    # nbgrader's Validate toolbar button: saves, re-runs the notebook in a fresh kernel on the server, reports.
    page.locator(".jp-Toolbar").get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.wait_for(timeout=RUN_TIMEOUT * 1000)
    text = dialog.inner_text()
    assert "Success! Your notebook passes all the tests." in text, text


def test_untouched_release_shows_what_is_missing(lab, page):
    _open(page, lab, "release/01_neuron/neuron.ipynb")
    tests = _tests(_run_all(page))
    first = tests[0]
    assert first["shown"] and first["errors"], f"test cell {first['id']} shows no failure"
    for c in tests:  # Run All went past every unfinished exercise (their cells carry raises-exception)
        assert re.fullmatch(r"\[\d+\]:", c["prompt"].strip()), f"Run All stopped before {c['id']}: {c['prompt']!r}"
        assert c["errors"][0].strip().startswith("NotImplementedError: ") and "is not written yet" in c["errors"][0]
        assert len(c["errors"][0].strip().splitlines()) == 1, f"{c['id']} shows a traceback: {c['errors'][0][:300]}"

    # Validate answers with one summary: every exercise "not started", and the count.
    page.locator(".jp-Toolbar").get_by_role("button", name="Validate").click()
    dialog = page.locator(".jp-Dialog-content")
    dialog.wait_for(timeout=RUN_TIMEOUT * 1000)
    text = dialog.inner_text()
    assert text.count("The following cell failed") == 1, text
    assert text.count("not started") == len(tests) + 1 and f"0 of {len(tests)} exercises pass" in text, text
    assert "forbidden" not in text, "Validate showed a test cell's source"


def test_the_chinese_edition_renders_and_explains_a_mistake_in_chinese(lab, page):
    _open(page, lab, "zh/01_neuron/neuron.ipynb")
    cells = _run_all(page)
    heading = page.locator(".jp-MarkdownOutput h1").first
    assert "一个神经元" in heading.inner_text(), "the 中文 markdown is rendered"
    assert page.evaluate(_DRAWS_GLYPHS, "一个神经元"), "the page's font draws Chinese as empty boxes"
    tests = _tests(cells)
    wrong = next(c for c in tests if c["id"] == "sigmoid_test")
    assert wrong["errors"] and re.search(r"[\u4e00-\u9fff]", wrong["errors"][0]), wrong["errors"]
    assert all(c["errors"] == [] for c in tests if c["id"] != "sigmoid_test"), "only the broken exercise fails"
    assert any(c["images"] for c in cells), "no plot image was rendered"
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".jp-Cell", has=page.locator(".jp-OutputArea-output img")).first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser-01_neuron-zh-figure.png"))
    page.locator(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
    ).first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser-01_neuron-zh-failing-test.png"))
