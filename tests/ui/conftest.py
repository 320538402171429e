"""What every UI test shares: no modal dialog may block a test."""

from __future__ import annotations

import pytest

from workbench.ui.export_tab import ExportTab
from workbench.ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _no_dialogs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every question has a scripted answer (a test may script another), and an error
    dialog nobody expected fails the test."""
    monkeypatch.setattr(MainWindow, "_ask_save_changes", lambda self: "discard")
    monkeypatch.setattr(MainWindow, "_ask_recover", lambda self, entry: "later")
    monkeypatch.setattr(MainWindow, "_ask_open_path", lambda self: None)
    monkeypatch.setattr(MainWindow, "_ask_save_path", lambda self: None)
    monkeypatch.setattr(MainWindow, "_ask_dataset_path", lambda self, folder: None)
    monkeypatch.setattr(MainWindow, "_ask_stop_training", lambda self: True)
    monkeypatch.setattr(ExportTab, "_ask_output_path", lambda self, fmt, current: None)

    def fail(self: MainWindow, title: str, message: str) -> None:
        raise AssertionError(f"unexpected error dialog: {title}: {message}")

    monkeypatch.setattr(MainWindow, "show_error", fail)
