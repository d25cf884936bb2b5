"""The class's own nbgrader settings, which the course's configuration never overrides.

An instructor sets the gradebook's database and the exchange where nbgrader's documentation says
to: an ``nbgrader_config.py`` (or ``.json``) in Jupyter's config path (``~/.jupyter``,
``/etc/jupyter``, ...). nbgrader reads the course's configuration last (the shim at the
repository root), so the course takes those values from there first and only falls back to its
defaults: SQLite in the work folder, and ``/srv/nbgrader/exchange``. ``AUTOGRADER_DB_URL`` wins
over both (the demo and the tests use it to keep a class's gradebook untouched).
"""

from __future__ import annotations

import os
from pathlib import Path

from traitlets.config import Config

__all__ = ["DEFAULT_EXCHANGE", "config_folders", "db_url", "setting"]

DEFAULT_EXCHANGE = "/srv/nbgrader/exchange"
"""The exchange a class uses unless its configuration names another (a folder every student can write)."""


def config_folders() -> list[str]:
    """Jupyter's config folders, lowest priority first (the repository's shim is not among them)."""
    from jupyter_core.paths import jupyter_config_path

    return list(reversed(jupyter_config_path()))


def _merged() -> Config:
    from traitlets.config.loader import JSONFileConfigLoader, PyFileConfigLoader

    merged = Config()
    for folder in config_folders():
        for loader in (JSONFileConfigLoader, PyFileConfigLoader):
            name = "nbgrader_config." + ("json" if loader is JSONFileConfigLoader else "py")
            if (Path(folder) / name).is_file():
                merged.merge(loader(name, folder).load_config())
    return merged


def setting(section: str, name: str, default: str) -> str:
    """`section.name` as the instructor's nbgrader configuration sets it, else `default`."""
    value = _merged().get(section, Config()).get(name)
    return value if isinstance(value, str) and value else default


def db_url(default: str) -> str:
    """The gradebook's database URL: ``AUTOGRADER_DB_URL``, else the instructor's ``CourseDirectory.db_url``."""
    return os.environ.get("AUTOGRADER_DB_URL") or setting("CourseDirectory", "db_url", default)
