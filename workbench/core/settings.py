"""User settings (recent files, window state, theme) in the platformdirs config folder.

Settings are a small JSON file. ``WORKBENCH_CONFIG_DIR`` and ``WORKBENCH_CACHE_DIR``
override the folders (the tests point them at temporary ones).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from workbench.core.project import atomic_write_text

APP_NAME = "ModelWorkbench"
MAX_RECENT = 10


def config_dir() -> Path:
    """The folder holding settings.json (created on demand)."""
    env = os.environ.get("WORKBENCH_CONFIG_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """The folder for caches and autosaves (created on demand)."""
    env = os.environ.get("WORKBENCH_CACHE_DIR")
    if env:
        return Path(env)
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))


def autosave_dir() -> Path:
    """Where autosaved copies of open projects are kept until they are saved."""
    return cache_dir() / "autosave"


class Settings:
    """A JSON-backed dict of settings with helpers for recent files."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "settings.json"
        self.data: dict[str, Any] = {}
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self.data = loaded
        except (OSError, ValueError):
            pass  # first run or an unreadable file: start fresh rather than fail

    def get(self, key: str, default: Any = None) -> Any:
        """A setting's value, or ``default``."""
        return self.data.get(key, default)

    def set(self, key: str, value: Any) -> None:
        """Set a value and save."""
        self.data[key] = value
        self.save()

    def save(self) -> None:
        """Write the settings file atomically; failures are ignored (settings are a convenience)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, json.dumps(self.data, indent=2))
        except OSError:
            pass

    def recent_files(self) -> list[str]:
        """Recently opened projects that still exist, newest first."""
        items = self.data.get("recent_files", [])
        if not isinstance(items, list):
            return []
        return [p for p in items if isinstance(p, str) and Path(p).is_file()][:MAX_RECENT]

    def add_recent(self, path: str | os.PathLike[str]) -> None:
        """Put ``path`` first in the recent files."""
        p = str(Path(path).resolve())
        items = [x for x in self.recent_files() if x != p]
        self.set("recent_files", [p, *items][:MAX_RECENT])

    def clear_recent(self) -> None:
        """Forget the recent files."""
        self.set("recent_files", [])

    def remember_project(self, path: str | os.PathLike[str]) -> None:
        """Put a project just opened or saved first in the recent files; dialogs start in its folder."""
        self.add_recent(path)
        self.set("last_dir", str(Path(path).resolve().parent))

    def start_dir(self) -> str:
        """The folder a file dialog starts in: the last project's, else the home folder."""
        last = self.data.get("last_dir")
        return last if isinstance(last, str) and Path(last).is_dir() else str(Path.home())
