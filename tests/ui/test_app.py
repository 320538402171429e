"""The application object: its icon, and the dialog an unexpected error opens."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSize
from PySide6.QtWidgets import QApplication, QMessageBox

from workbench.ui import app as wapp


def test_the_icon_has_every_size(qapp: QApplication) -> None:
    icon = wapp.app_icon()
    sizes = {s.width() for s in icon.availableSizes()}
    assert {16, 24, 32, 48, 64, 128, 256, 512, 1024} <= sizes
    assert not icon.pixmap(QSize(48, 48)).isNull()


def test_the_window_uses_the_icon(qapp: QApplication, tmp_path: Path) -> None:
    assert wapp.run_gui(screenshot=str(tmp_path / "w.png")) == 0
    assert 256 in {s.width() for s in qapp.windowIcon().availableSizes()}


def test_an_unexpected_error_writes_a_log_and_says_where(
    qapp: QApplication, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shown: list[tuple[Any, ...]] = []
    monkeypatch.setattr(QMessageBox, "critical", lambda *args: shown.append(args))
    before = sys.excepthook
    restore = wapp.install_crash_dialog()
    try:
        try:
            raise RuntimeError("a slot failed")
        except RuntimeError as e:
            sys.excepthook(type(e), e, e.__traceback__)
    finally:
        restore()
    assert sys.excepthook is before
    logs = list(Path(os.environ["WORKBENCH_LOG_DIR"]).glob("crash-*.log"))
    assert len(logs) == 1 and "RuntimeError: a slot failed" in logs[0].read_text(encoding="utf-8")
    assert len(shown) == 1
    _parent, title, text = shown[0]
    assert title == "Model Workbench: unexpected error" and str(logs[0]) in text
    assert capsys.readouterr().err.strip() == (
        f"workbench: unexpected error: a slot failed; the details are in {logs[0]}"
    )
