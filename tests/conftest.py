"""Test-wide setup: headless Qt and fresh, temporary user settings for every test."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# On CI the fuzz tests draw the same examples every time, so a run fails only for a change
# in the code (developers' runs keep exploring and pin what they find as plain tests).
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _isolated_settings(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point settings, caches, autosaves and crash logs at a temporary folder so a developer's are never read."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("WORKBENCH_LOG_DIR", str(base / "logs"))
