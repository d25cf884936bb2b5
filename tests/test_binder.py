"""Binder serves the student release only: postBuild run on a copy of the repository, then JupyterLab.

pip is the one step left out (Binder installs environment.yml; here the course's own .venv runs),
so the test sees what Binder's image holds and what its file browser shows.
"""

import json
import os
import secrets
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from autograder.assignments import all_assignments
from autograder.paths import REPO

INSTRUCTOR_ONLY = ["notebooks", "tests", "bench", "autograder/work", ".git"]


def _working_tree(dest: Path) -> None:
    """Copy the files git would commit (tracked, and untracked but not ignored) to `dest`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source, target = REPO / name.decode(), dest / name.decode()
        if source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
            target.chmod(source.stat().st_mode)
    (dest / ".git").mkdir()  # Binder's copy of the repository has one


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            return reply.status, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, b""
    except OSError:  # not listening yet
        return 0, b""


@pytest.fixture(scope="module")
def binder(tmp_path_factory):
    """The repository after postBuild, and a JupyterLab started there as Binder starts it."""
    repo, home, shims = (tmp_path_factory.mktemp(n) for n in ("binder", "home", "shims"))
    _working_tree(repo)
    for name, script in (("python", f'exec "{sys.executable}" "$@"'), ("pip", "exit 0")):
        (shims / name).write_text(f"#!/bin/sh\n{script}\n")
        (shims / name).chmod(stat.S_IRWXU)
    env = {**os.environ, "HOME": str(home), "PATH": f"{shims}{os.pathsep}{os.environ['PATH']}"}
    for var in ("AUTOGRADER_WORK", "JUPYTER_CONFIG_DIR", "NBGRADER_EXECUTION"):
        env.pop(var, None)
    built = subprocess.run(["bash", "postBuild"], cwd=repo, env=env, capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token = secrets.token_hex(16)
    cmd = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}"]
    cmd += [f"--IdentityProvider.token={token}"] + (["--allow-root"] if os.geteuid() == 0 else [])
    log = repo.parent / "binder-jupyter.log"
    with log.open("w") as out:
        lab = subprocess.Popen(cmd, cwd=repo, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        while _get(f"{url}/api/status?token={token}")[0] != 200:
            if lab.poll() is not None:
                pytest.fail(f"jupyter lab exited with {lab.returncode}:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield repo, lambda path: _get(f"{url}/{path}?token={token}")
    finally:
        os.killpg(lab.pid, 15)
        lab.wait()


def test_binder_file_browser_shows_only_the_students_notebooks(binder):
    repo, get = binder
    status, body = get("api/contents/")
    assert status == 200
    folders = sorted(item["name"] for item in json.loads(body)["content"])
    assert folders == sorted([a.name for a in all_assignments()] + ["zh"]), "each notebook, and the 中文 edition"
    for name in [f for f in folders if f != "zh"] + [f"zh/{a.name}" for a in all_assignments()]:
        status, body = get(f"api/contents/{name}")
        notebooks = [i["name"] for i in json.loads(body)["content"] if i["name"].endswith(".ipynb")]
        assert len(notebooks) == 1
        text = (repo / "mywork" / name / notebooks[0]).read_text(encoding="utf-8")
        assert "### BEGIN HIDDEN TESTS" not in text
        assert ('i18n.use(\\"zh\\")' in text) == name.startswith("zh/"), f"{name} is in the wrong edition"
    for outside in ("api/contents/..", "api/contents/../notebooks", "files/../README.md", "api/contents/%2E%2E"):
        assert get(outside)[0] in (403, 404), f"{outside} is reachable"


def test_binder_image_holds_no_instructor_material(binder):
    repo, _ = binder
    left = [p for p in INSTRUCTOR_ONLY if (repo / p).exists()]
    assert not left, f"postBuild left {left} in the image"
    assert "autograder.validate" in (Path(sys.prefix) / "etc/jupyter/jupyter_server_config.d/dlcourse.json").read_text()
