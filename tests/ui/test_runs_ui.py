"""The Runs panel: a project's runs listed, compared, renamed, deleted and restored into the builder;
and the Train tab showing the newest run's curves when a project with runs is opened."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLineEdit

from tests.ui.conftest import WAIT_MS
from workbench.core.project import load_project, save_project
from workbench.core.templates import make_project
from workbench.data.samples import sample_path
from workbench.engine.history import load_history
from workbench.engine.history_wording import NO_PROJECT_FILE
from workbench.engine.runs import train_project
from workbench.ui import theme
from workbench.ui.runs.compare import RUN_COLORS
from workbench.ui.runs.model import DIFFERS_ROLE, differ_tint
from workbench.ui.runs.panel import RunsPanel
from workbench.ui.window import MainWindow


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small project trained three times (2, 2 and 3 epochs; the second with another
    learning rate, the third with SGD), made once and copied for each test."""
    folder = tmp_path_factory.mktemp("three-runs")
    path = folder / "m.wbproj"
    project = make_project("mlp")
    project.training = {"batch_size": 64, "cpu_threads": 1, "device": "cpu"}
    save_project(project, path)
    # The data beside the project (each test has a cache folder of its own).
    data = Path(shutil.copy(sample_path("tabular"), folder / "fruit.csv"))
    train_project(path, data=data, epochs=2)
    train_project(path, epochs=2, lr=0.01)
    train_project(path, epochs=3, optimizer="sgd")
    return folder


@pytest.fixture
def project(three_runs: Path, tmp_path: Path) -> Path:
    shutil.copytree(three_runs, tmp_path / "p")
    return tmp_path / "p" / "m.wbproj"


@pytest.fixture
def window(training_window: MainWindow, monkeypatch: pytest.MonkeyPatch) -> MainWindow:
    # No run is deleted unless a test says yes.
    monkeypatch.setattr(MainWindow, "_ask_delete_runs", lambda self, names: False)
    return training_window


def open_with_runs(window: MainWindow, path: Path, qtbot, count: int = 3) -> RunsPanel:
    """Open the project and wait until its runs are read; return the Train tab's Runs panel."""
    assert window.open_project(path)
    runs = window.runs_controller
    qtbot.waitUntil(lambda: runs.is_idle() and len(runs.runs) == count, timeout=WAIT_MS)
    return runs.panel


def wait_idle(window: MainWindow, qtbot) -> None:
    qtbot.waitUntil(window.runs_controller.is_idle, timeout=WAIT_MS)


def click_row(
    panel: RunsPanel, qtbot, run_id: str, modifier=Qt.KeyboardModifier.NoModifier
) -> None:
    """Click run ``run_id``'s row in the table (with Ctrl to add it to the selection)."""
    model = panel.controller.model
    index = panel.view_model.mapFromSource(model.index(model.row_of(run_id), 0))
    rect = panel.table.visualRect(index)
    qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, modifier, rect.center())


def test_selecting_two_runs_overlays_two_curves(window, project, qtbot):
    panel = open_with_runs(window, project, qtbot)
    window.show()
    assert window.menus.runs_action.text() == "R&uns"
    window.menus.runs_action.trigger()  # View ▸ Runs
    assert window.current_page() == "train" and window.train_tab.runs_view_shown()
    assert window.train_tab.settings_column.isHidden()  # the table gets the width
    runs = window.runs_controller.runs
    first, second, third = runs
    click_row(panel, qtbot, first.id)
    click_row(panel, qtbot, third.id, Qt.KeyboardModifier.ControlModifier)
    assert panel.selected_ids() == [first.id, third.id]
    compare = panel.compare
    qtbot.waitUntil(lambda: compare.curve_names() == ["Run 1", "Run 3"], timeout=WAIT_MS)
    # the metric plot: one curve per run, in its colour, named after it, legend above the plot
    items = compare.metric_cell.item.listDataItems()
    assert [c.opts["symbolBrush"].color().name() for c in items] == list(RUN_COLORS[:2])
    assert [len(c.getData()[0]) for c in items] == [2, 3]
    assert compare.chosen_metric() == "val_accuracy"
    assert compare.metric_cell.legend.names() == ["Run 1", "Run 3"]
    # the loss plot: validation and training loss of each run
    assert compare.curve_names("loss") == [
        "Run 1",
        "Run 1 (training)",
        "Run 3",
        "Run 3 (training)",
    ]
    # another metric: still one curve per selected run
    assert compare.set_metric("val_f1")
    qtbot.waitUntil(lambda: compare.metric_cell.title.text() == "Validation F1", timeout=WAIT_MS)
    assert compare.curve_names() == ["Run 1", "Run 3"]
    # a third run adds a third curve
    click_row(panel, qtbot, second.id, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: len(compare.curve_names()) == 3, timeout=WAIT_MS)
    assert compare.curve_names() == ["Run 1", "Run 2", "Run 3"]


def test_the_differing_settings_of_the_selected_runs_are_highlighted(window, project, qtbot):
    panel = open_with_runs(window, project, qtbot)
    first, second, third = window.runs_controller.runs
    view = panel.view_model
    lr = view.column_of("setting:lr")
    optimizer = view.column_of("setting:optimizer")
    assert lr >= 0 and optimizer >= 0
    # settings every run shares are hidden; unticking the box shows them
    assert view.column_of("setting:batch_size") == -1
    panel.hide_shared.setChecked(False)
    batch = view.column_of("setting:batch_size")
    assert batch >= 0 and view.headerData(batch, Qt.Orientation.Horizontal) == "batch_size"
    panel.hide_shared.setChecked(True)

    panel.select_runs([first.id, second.id])  # they differ in lr only
    lr, optimizer = view.column_of("setting:lr"), view.column_of("setting:optimizer")

    def row(run_id: str) -> int:
        model = panel.controller.model
        return view.mapFromSource(model.index(model.row_of(run_id), 0)).row()

    assert view.headerData(lr, Qt.Orientation.Horizontal) == "≠ lr"
    assert view.headerData(optimizer, Qt.Orientation.Horizontal) == "optimizer"
    for run in (first, second):
        cell = view.index(row(run.id), lr)
        assert cell.data(DIFFERS_ROLE) is True
        assert cell.data(Qt.ItemDataRole.BackgroundRole).color() == differ_tint()
        assert cell.data(Qt.ItemDataRole.FontRole).bold()
        assert "Run 1 0.001" in cell.data(Qt.ItemDataRole.ToolTipRole)
        assert view.index(row(run.id), optimizer).data(DIFFERS_ROLE) is False
    assert view.index(row(third.id), lr).data(DIFFERS_ROLE) is False  # not selected

    panel.select_runs([second.id, third.id])  # lr, optimizer and epochs differ
    lr, optimizer = view.column_of("setting:lr"), view.column_of("setting:optimizer")
    assert view.headerData(optimizer, Qt.Orientation.Horizontal) == "≠ optimizer"
    assert view.index(row(third.id), optimizer).data(DIFFERS_ROLE) is True
    assert view.index(row(first.id), optimizer).data(DIFFERS_ROLE) is False


def test_the_tint_of_a_differing_setting_reads_on_the_light_and_the_dark_look():
    was_dark = theme.is_dark()
    try:
        for dark in (False, True):
            theme.use_colors(dark)
            tint, panel, text = differ_tint(), QColor(theme.PANEL), QColor(theme.TEXT)
            assert tint != panel
            # the text keeps most of its contrast with the panel's colour
            assert abs(tint.lightness() - text.lightness()) > 0.6 * abs(
                panel.lightness() - text.lightness()
            )
    finally:
        theme.use_colors(was_dark)


def test_deleting_a_run_asks_first_then_removes_its_folder(window, project, qtbot, monkeypatch):
    panel = open_with_runs(window, project, qtbot)
    first, second, third = window.runs_controller.runs
    asked: list[list[str]] = []
    answer = {"delete": False}

    def ask(self: MainWindow, names: list[str]) -> bool:
        asked.append(names)
        return answer["delete"]

    monkeypatch.setattr(MainWindow, "_ask_delete_runs", ask)
    panel.select_runs([second.id])
    assert panel.delete_button.isEnabled()
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)  # No
    assert asked == [["Run 2"]]
    assert second.path.is_dir() and panel.controller.model.rowCount() == 3

    answer["delete"] = True
    panel.delete_button.click()  # Yes
    assert asked[-1] == ["Run 2"]
    qtbot.waitUntil(
        lambda: window.runs_controller.is_idle() and len(window.runs_controller.runs) == 2,
        timeout=WAIT_MS,
    )
    assert not second.path.exists() and first.path.is_dir() and third.path.is_dir()
    assert [r.id for r in window.runs_controller.runs] == [first.id, third.id]
    assert panel.controller.model.rowCount() == 2
    assert [e["id"] for e in load_project(project).runs] == [first.id, third.id]
    assert not window.document.modified
    assert [r.id for r in load_history(project)] == [first.id, third.id]


def test_a_run_that_trains_cannot_be_deleted(window, project, qtbot, monkeypatch):
    runs = load_history(project)
    status = runs[2].path / "status.json"
    doc = json.loads(status.read_text())
    doc.update(status="running", pid=os.getpid())  # this process trains it
    status.write_text(json.dumps(doc))
    panel = open_with_runs(window, project, qtbot)
    assert window.runs_controller.runs[2].status == "running"
    errors: list[str] = []
    monkeypatch.setattr(
        MainWindow, "show_error", lambda self, title, message: errors.append(message)
    )
    monkeypatch.setattr(MainWindow, "_ask_delete_runs", lambda self, names: True)
    panel.select_runs([runs[2].id])
    assert not panel.delete_button.isEnabled()
    assert not window.runs_controller.delete([runs[2].id])
    assert errors == ["“Run 3” is training: stop it before deleting it."]
    assert runs[2].path.is_dir()


def test_renaming_in_place_is_kept_in_the_run_folder(window, project, qtbot):
    panel = open_with_runs(window, project, qtbot)
    window.show()
    window.show_runs()
    first = window.runs_controller.runs[0]
    panel.select_runs([first.id])
    assert panel.rename_button.isEnabled()
    panel.rename_button.click()
    (editor,) = panel.table.viewport().findChildren(QLineEdit)
    assert editor.text() == "Run 1"
    editor.selectAll()
    qtbot.keyClicks(editor, "  Baseline   lr ")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the view commits on its next turn
    qtbot.waitUntil(lambda: load_history(project)[0].name == "Baseline lr", timeout=WAIT_MS)
    assert [r.name for r in load_history(project)] == ["Baseline lr", "Run 2", "Run 3"]
    wait_idle(window, qtbot)
    model = panel.controller.model
    assert model.index(model.row_of(first.id), 0).data() == "Baseline lr"
    qtbot.waitUntil(lambda: panel.compare.curve_names() == ["Baseline lr"], timeout=WAIT_MS)
    # a blank name gives back the run's number
    assert window.runs_controller.rename(first.id, "   ") == "Run 1"
    assert load_history(project)[0].name == "Run 1"


def test_a_reopened_project_shows_its_runs_and_the_newest_run_s_curves(
    window, project, qtbot, monkeypatch
):
    panel = open_with_runs(window, project, qtbot)
    runs = window.runs_controller.runs
    assert [panel.controller.model.index(i, 0).data() for i in range(3)] == [
        "Run 1",
        "Run 2",
        "Run 3",
    ]
    assert panel.count.text() == "3 runs" and panel.stack.currentIndex() == 1
    assert panel.selected_ids() == [runs[2].id]  # the newest run's curves show from the start
    tab = window.train_tab
    window.show()
    window.show_page("train")
    qtbot.waitUntil(lambda: tab.plots is not None and not tab.plots.pending(), timeout=WAIT_MS)
    assert tab.shown_run == runs[2].id and tab.shown_past
    counts = tab.plots.point_counts()
    assert counts["val_loss"] == counts["epoch_mean"] == counts["val_accuracy"] == 3
    assert tab.empty.isHidden()
    assert tab.progress.format() == "Finished · 3/3 epochs"
    assert tab.shown_label.text().startswith(f"Showing Run 3 ({runs[2].id})")
    assert tab.runs_button.text() == "All runs (3)"
    # the newest run deleted: the one before it shows
    monkeypatch.setattr(MainWindow, "_ask_delete_runs", lambda self, names: True)
    assert window.runs_controller.delete([runs[2].id])
    qtbot.waitUntil(lambda: tab.shown_run == runs[1].id, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not tab.plots.pending(), timeout=WAIT_MS)
    assert tab.plots.point_counts()["val_loss"] == 2
    assert "Run 2" in tab.shown_label.text() and tab.runs_button.text() == "All runs (2)"


def test_a_project_without_runs_says_how_to_get_some(window, tmp_path, qtbot):
    panel = window.runs_controller.panel
    assert window.new_project("mlp")  # not saved: no runs folder yet
    wait_idle(window, qtbot)
    assert panel.stack.currentIndex() == 0
    assert (panel.empty_title.text(), panel.empty_text.text()) == NO_PROJECT_FILE
    path = tmp_path / "fresh.wbproj"
    assert window.save_project(path)
    qtbot.waitUntil(lambda: "train “fresh”" in panel.empty_text.text(), timeout=WAIT_MS)
    assert panel.empty_title.text() == "No runs yet" and panel.count.text() == "0 runs"
    tab = window.train_tab
    assert tab.progress.format() == "Not started" and tab.shown_run is None


def test_restore_into_builder_is_one_undoable_edit_and_the_next_start_uses_its_weights(
    window, project, qtbot
):
    panel = open_with_runs(window, project, qtbot)
    first = window.runs_controller.runs[0]
    doc = window.document
    recorded = json.loads((first.path / "config.json").read_text())["graph"]
    linear = doc.graph.of_type("Linear")[0]
    doc.edit("Set units", lambda g: g.set_params(linear.id, {**linear.params, "units": 5}))
    edited = doc.graph.to_dict()
    assert edited != recorded
    panel.select_runs([first.id])
    assert panel.restore()
    qtbot.waitUntil(lambda: doc.undo_label() == "Restore model of Run 1", timeout=WAIT_MS)
    wait_idle(window, qtbot)
    assert doc.graph.to_dict() == recorded and window.current_page() == "model"
    train = window.train_controller
    weights = train.pending_weights()
    assert weights is not None and weights.run_id == first.id
    assert weights.checkpoint.parent.parent == first.path and weights.checkpoint.is_file()
    assert not window.train_tab.weights_note.isHidden()
    assert "Run 1" in window.train_tab.weights_note.text.text()
    # undo takes the model back, and with it the weights
    assert window.undo()
    assert doc.graph.to_dict() == edited and train.pending_weights() is None
    assert window.train_tab.weights_note.isHidden()
    assert window.redo()
    assert doc.graph.to_dict() == recorded and train.pending_weights() is weights
    assert not window.train_tab.weights_note.isHidden()
    window.train_tab.weights_note.clear_button.click()  # "Start from scratch instead"
    assert train.pending_weights() is None and window.train_tab.weights_note.isHidden()
    train.use_weights(weights)

    # the next Start trains a new run from those weights; the panel lists it once it ended
    window.show()
    window.show_page("train")
    assert train.start()
    assert train.job is not None and train.job.init_from == weights.checkpoint
    assert train.start_weights is None and window.train_tab.weights_note.isHidden()
    qtbot.waitUntil(lambda: not train.is_running(), timeout=WAIT_MS)
    runs = window.runs_controller
    qtbot.waitUntil(lambda: runs.is_idle() and len(runs.runs) == 4, timeout=WAIT_MS)
    newest: dict[str, Any] = doc.project.runs[-1]
    assert newest["from_run"]["run"] == first.id and newest["status"] == "finished"
    assert "from the weights of “Run 1”" in window.train_tab.log.toPlainText()
    qtbot.waitUntil(lambda: "Run 4" in window.train_tab.shown_label.text(), timeout=WAIT_MS)


def test_restoring_a_run_without_a_record_of_its_model_says_so(window, project, qtbot, monkeypatch):
    panel = open_with_runs(window, project, qtbot)
    first = window.runs_controller.runs[0]
    (first.path / "config.json").write_text("{}")
    errors: list[str] = []
    monkeypatch.setattr(
        MainWindow, "show_error", lambda self, title, message: errors.append(message)
    )
    before = window.document.graph.to_dict()
    panel.select_runs([first.id])
    assert panel.restore()
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    assert errors == [f"Run 1 ({first.id}) has no record of its model (config.json)"]
    assert window.document.graph.to_dict() == before and not window.document.can_undo()
    assert window.train_controller.pending_weights() is None


def test_open_in_evaluate_waits_for_the_evaluate_tab_to_list_the_run(window, project, qtbot):
    """The Evaluate tab lists runs on its own thread: a run it has not listed yet (its list
    was read before the run existed, or is still being read) is shown once it is listed."""
    panel = open_with_runs(window, project, qtbot)
    evaluate = window.evaluate_controller
    qtbot.waitUntil(lambda: evaluate.runs_loaded and evaluate._runs_task is None, timeout=WAIT_MS)
    evaluate.runs = []
    evaluate.tab.set_runs([])  # as listed before the runs were recorded
    second = window.runs_controller.runs[1]
    panel.select_runs([second.id])
    panel.evaluate_button.click()
    assert window.current_page() == "evaluate"
    qtbot.waitUntil(
        lambda: evaluate.current_evaluation() is not None and evaluate.is_settled(),
        timeout=WAIT_MS,
    )
    shown = evaluate.current_evaluation()
    assert shown is not None and shown.run == second.id and shown.split == "test"
    # a run that is not there at all: one status line, nothing evaluated
    evaluate.runs = []
    evaluate.tab.set_runs([])
    assert evaluate.show_run("20990101-000000-gone")
    qtbot.waitUntil(evaluate.is_settled, timeout=WAIT_MS)
    assert "20990101-000000-gone has no weights to evaluate" in window.statusBar().currentMessage()
    assert evaluate.task is None and window.current_page() == "evaluate"


def test_open_in_evaluate_emits_the_run_and_the_context_menu_offers_the_actions(
    window, project, qtbot
):
    panel = open_with_runs(window, project, qtbot)
    second = window.runs_controller.runs[1]
    panel.select_runs([second.id])
    # the window connects it to the Evaluate tab: that run, evaluated on its test split
    assert not panel.evaluate_button.isHidden() and panel.evaluate_button.isEnabled()
    panel.evaluate_button.click()
    evaluate = window.evaluate_controller
    assert window.current_page() == "evaluate"
    qtbot.waitUntil(
        lambda: evaluate.current_evaluation() is not None and evaluate.is_settled(),
        timeout=WAIT_MS,
    )
    shown = evaluate.current_evaluation()
    assert shown is not None and shown.run == second.id and shown.split == "test"
    asked: list[str] = []
    window.runs_controller.evaluate_requested.connect(asked.append)
    menu = panel.context_menu()
    texts = [a.text() for a in menu.actions()]
    assert texts == ["Rename", "Delete…", "Restore into builder", "Open in Evaluate"]
    next(a for a in menu.actions() if a.text() == "Open in Evaluate").trigger()
    assert asked == [second.id]
    # another panel over the same runs (for the Evaluate tab) has a selection of its own
    other = window.runs_controller.make_panel()
    qtbot.addWidget(other)
    assert other.controller.model is panel.controller.model
    other.select_runs([window.runs_controller.runs[0].id])
    assert panel.selected_ids() == [second.id]
