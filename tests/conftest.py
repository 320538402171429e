"""Test-wide setup: headless Qt and fresh, temporary user settings for every test."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _isolated_settings(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point settings, caches and autosaves at a temporary folder so a developer's are never read."""
    base = tmp_path_factory.mktemp("userdirs")
    monkeypatch.setenv("WORKBENCH_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("WORKBENCH_CACHE_DIR", str(base / "cache"))
