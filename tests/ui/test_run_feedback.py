"""A run shows itself from every tab, and its end is described the same way everywhere."""

from __future__ import annotations

import re

import pytest

from tests.ui.test_train_ui import WAIT_MS, attach, start, wait_done, wait_training
from workbench.ui import workers
from workbench.ui.main_window import MainWindow
from workbench.ui.workers import running_tasks


@pytest.fixture
def window(qtbot):
    def end_runs(w: MainWindow) -> None:
        w.train_controller.stop()
        qtbot.waitUntil(lambda: not w.train_controller.is_running(), timeout=WAIT_MS)
        workers.cancel_all()
        qtbot.waitUntil(lambda: not running_tasks(), timeout=WAIT_MS)

    w = MainWindow(restore_state=False)
    qtbot.addWidget(w, before_close_func=end_runs)
    assert w.new_project("mlp")
    return w


def test_a_stopped_run_names_the_same_epoch_in_the_bar_and_the_status_bar(window, qtbot, tmp_path):
    attach(window, tmp_path, epochs=100_000)
    start(window, qtbot)
    wait_training(window, qtbot, epochs=2)
    window.train_controller.stop()
    wait_done(window, qtbot)
    progress = window.train_tab.progress.format()
    status = window.statusBar().currentMessage()
    done = window.train_controller.last_outcome.epochs_done
    at = re.search(r"epoch (\d+)", status)
    assert at is not None, status
    assert status.startswith("Training stopped at epoch"), status
    assert f"Stopped at epoch {at.group(1)}" in progress, (progress, status)
    assert f"{done} epoch{'s' if done != 1 else ''} complete" in progress
