"""A newcomer's first steps, as root and as a normal user: `make lab` from a fresh clone, twice.

Each run clones the repository, starts `make lab` with only `python3` and `make` on the PATH the
user already has, waits until JupyterLab answers over HTTP with every course notebook in `mywork/`,
checks what the student's environment holds, stops JupyterLab, and starts it once more (the second
start must not install or release anything). Prints the times and the size of the environment.

Usage (as root; the normal user is created if missing)::

    python3 .ci/newcomer.py [--user learner] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = len(list((REPO / "notebooks").glob("*/*.ipynb")))
"""The notebooks `mywork/` must hold: one per assignment in the repository."""
DEVELOPER_TOOLS = ("pytest", "ruff", "playwright")
"""Packages that `make test` adds and a student's environment must not hold."""


@dataclass
class Start:
    """One `make lab` until JupyterLab answered with the notebooks."""

    seconds: float
    log: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pip_source() -> dict[str, str]:
    """This machine's package source (mirror, wheels folder) as PIP_* variables a normal user can read."""
    env = {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    listed = subprocess.run(["python3", "-m", "pip", "config", "list"], capture_output=True, text=True).stdout
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        if key.startswith("global."):
            name = "PIP_" + key.removeprefix("global.").upper().replace("-", "_")
            env.setdefault(name, value.strip("'"))
    return env


def _as(user: str | None) -> list[str]:
    return [shutil.which("runuser") or "/usr/sbin/runuser", "-u", user, "--"] if user else []


def _contents(port: int, token: str, path: str = "") -> dict | None:
    try:
        url = f"http://127.0.0.1:{port}/api/contents/{path}?token={token}"
        with urllib.request.urlopen(url, timeout=5) as reply:
            return json.load(reply)
    except OSError:
        return None


def start_lab(clone: Path, user: str | None, env: dict[str, str], deadline: float) -> Start:
    """Run `make lab` until the JupyterLab it starts lists every course notebook, then stop it."""
    port, token = _free_port(), secrets.token_hex(8)
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"
    log = clone / f"make-lab-{time.monotonic_ns()}.log"
    began = time.monotonic()
    with log.open("w") as out:
        make = subprocess.Popen(
            [*_as(user), "make", "lab", f"LAB_ARGS={args}"],
            cwd=clone,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        while True:
            listing = _contents(port, token)
            folders = {item["name"] for item in listing["content"]} if listing else set()
            notebooks = [
                item["name"]
                for name in sorted(folders)
                if (inside := _contents(port, token, name))
                for item in inside["content"]
                if item["name"].endswith(".ipynb")
            ]
            if len(notebooks) == NOTEBOOKS:
                return Start(time.monotonic() - began, log.read_text())
            if make.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"make lab did not serve the notebooks (exit {make.returncode}):\n{log.read_text()[-4000:]}")
            time.sleep(0.5)
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait()


def newcomer(user: str | None, parent: Path, deadline: float) -> dict[str, str]:
    """Clone, `make lab` twice, check the environment; return the figures for the report."""
    home = Path(pwd.getpwnam(user).pw_dir) if user else Path.home()
    parent.mkdir(mode=0o755)
    clone = parent / "course"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    if user:
        shutil.chown(parent, user)
        subprocess.run(["chown", "-R", user, str(clone)], check=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin" if user else os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        **_pip_source(),
    }
    first = start_lab(clone, user, env, deadline)
    second = start_lab(clone, user, env, deadline)
    for step in ("Installing", "copied"):
        if step in second.log:
            sys.exit(f"the second make lab did work it had no need to do ({step!r}):\n{second.log[-3000:]}")
    site = clone / ".venv"
    installed = subprocess.run([site / "bin/python", "-m", "pip", "list"], capture_output=True, text=True).stdout
    extra = [tool for tool in DEVELOPER_TOOLS if tool in installed.lower()]
    if extra:
        sys.exit(f"a student's environment holds developer tools: {extra}")
    if "jupyterlab-language-pack-zh-cn" not in installed.lower():
        sys.exit("the JupyterLab 中文 language pack is not installed")
    megabytes = int(subprocess.run(["du", "-sm", site], capture_output=True, text=True).stdout.split()[0])
    return {
        "user": user or "root",
        "first make lab": f"{first.seconds:.0f} s",
        "second make lab": f"{second.seconds:.1f} s",
        ".venv": f"{megabytes} MB",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", default="learner", help="the normal user (created if missing)")
    parser.add_argument("--keep", action="store_true", help="keep the clones")
    parser.add_argument("--minutes", type=float, default=40, help="give up after this long")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: it checks `make lab` as root and as a normal user it creates")
    try:
        pwd.getpwnam(args.user)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/bash", args.user], check=True)
    deadline = time.monotonic() + 60 * args.minutes
    parent = Path(tempfile.mkdtemp(prefix="newcomer-"))
    parent.chmod(0o755)
    try:
        rows = [newcomer(None, parent / "root", deadline), newcomer(args.user, parent / "user", deadline)]
    finally:
        if not args.keep:
            shutil.rmtree(parent, ignore_errors=True)
    for row in rows:
        print("  ".join(f"{k}: {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
