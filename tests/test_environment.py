"""Binder's environment.yml and pyproject.toml must ask for the same packages."""

import re
import tomllib

from autograder import paths


def test_environment_yml_lists_the_project_dependencies():
    declared = tomllib.loads((paths.REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    text = (paths.REPO / "environment.yml").read_text()
    pip_section = text.split("- pip:", 1)[1]
    listed = [m.group(1).strip() for m in re.finditer(r"^\s+- ([^-#\n][^#\n]*)$", pip_section, re.MULTILINE)]
    assert sorted(listed) == sorted(declared)


def test_postbuild_installs_the_project_and_builds_the_release():
    post = (paths.REPO / "postBuild").read_text()
    assert "pip install" in post and "autograder release --workspace" in post
