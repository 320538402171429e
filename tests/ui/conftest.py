"""What every UI test shares: no modal dialog may block a test."""

from __future__ import annotations

import pytest

from workbench.ui import workers
from workbench.ui.export_tab import ExportTab
from workbench.ui.window import MainWindow

#: How long a UI test waits for something that must happen (generous: machines are shared).
WAIT_MS = 60_000


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


@pytest.fixture
def training_window(qtbot) -> MainWindow:
    """A window whose runs and background tasks have all ended before it closes."""

    def end_runs(w: MainWindow) -> None:
        # Every run has ended (through the thread's finished signal) before the window closes.
        w.train_controller.stop()
        qtbot.waitUntil(lambda: not w.train_controller.is_running(), timeout=WAIT_MS)
        workers.cancel_all()
        qtbot.waitUntil(lambda: not workers.running_tasks(), timeout=WAIT_MS)

    w = MainWindow(restore_state=False)
    qtbot.addWidget(w, before_close_func=end_runs)
    return w
