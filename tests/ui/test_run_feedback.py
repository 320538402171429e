"""A run shows itself from every tab, and its end is described the same way everywhere."""

from __future__ import annotations

import re

import pytest
from PySide6.QtCore import Qt

from tests.ui.test_train_ui import WAIT_MS, attach, start, wait_done, wait_training


@pytest.fixture
def window(training_window):
    assert training_window.new_project("mlp")
    return training_window


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


def test_a_run_shows_in_the_status_bar_and_above_the_canvas_from_every_tab(window, qtbot, tmp_path):
    attach(window, tmp_path, epochs=100_000)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    indicator = window.run_indicator
    assert not indicator.isVisible()
    start(window, qtbot)
    wait_training(window, qtbot, epochs=1)
    window.show_page("model")
    qtbot.waitUntil(lambda: "epoch" in indicator.text.text(), timeout=WAIT_MS)
    assert indicator.isVisible()
    total = window.train_tab.epochs_total
    assert re.fullmatch(rf"Training · epoch \d+/{total}", indicator.text.text())
    assert indicator.bar.value() > 0
    banner = indicator.banner
    assert banner.isVisible()
    run_id = window.train_controller.tab.run_info["run_id"]
    assert f"Training run {run_id} is in progress" in indicator.banner_text.text()
    assert "edits apply to the next run" in indicator.banner_text.text()
    for page in ("start", "data", "export"):
        window.show_page(page)
        assert indicator.isVisible()
    qtbot.mouseClick(indicator, Qt.MouseButton.LeftButton)
    assert window.current_page() == "train"
    window.train_controller.stop()
    wait_done(window, qtbot)
    assert not indicator.isVisible() and not banner.isVisibleTo(window)
