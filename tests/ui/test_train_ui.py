"""Training in the window: the Train tab, the background run, Pause/Resume/Stop, failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from workbench.core.project import load_project
from workbench.data import open_dataset
from workbench.data.link import default_settings, fit_model_to_data, store_settings
from workbench.engine.config import TrainConfig, form_sections
from workbench.engine.job import EventFeed, FeedCallback
from workbench.engine.train_wording import split_results_text
from workbench.ui.window import MainWindow

WAIT_MS = 60_000


@pytest.fixture
def window(training_window):
    assert training_window.new_project("mlp")
    return training_window


def write_table(
    path: Path, rows: int = 120, regression: bool = False, scale: float = 1.0, seed: int = 0
) -> Path:
    """A small table: 4 numeric features and a 3-class label (or a numeric target)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    lines = ["a,b,c,d,label"]
    for i in range(rows):
        if regression:
            y = f"{(x[i, 0] * 2 + x[i, 1]) * scale:.6g}"
        else:
            y = ("red", "green", "blue")[int(np.argmax(x[i, :3]))]
        lines.append(",".join(f"{v:.4f}" for v in x[i]) + f",{y}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def attach(window: MainWindow, tmp_path: Path, csv: Path | None = None, **training) -> Path:
    """Give the window's project the table, these training settings and a file; return its path."""
    csv = csv or write_table(tmp_path / "table.csv")
    doc = window.document
    project_path = tmp_path / "net.wbproj"
    source = open_dataset(csv, "label")
    settings = default_settings(source, "label")
    doc.edit("Fit model to dataset", lambda g: fit_model_to_data(g, source, settings))
    store_settings(doc.project, settings, project_path)
    doc.project.training.update({"epochs": 3, "batch_size": 8, **training})
    assert window.save_project(project_path)
    return project_path


def start(window: MainWindow, qtbot) -> None:
    window.show_page("train")
    assert window.train_controller.start()
    assert window.train_controller.is_running()


def wait_done(window: MainWindow, qtbot, timeout: int = WAIT_MS) -> None:
    """Until the run's thread has ended and the plots have drawn everything."""
    qtbot.waitUntil(lambda: not window.train_controller.is_running(), timeout=timeout)
    plots = window.train_tab.plots
    qtbot.waitUntil(lambda: plots is None or not plots.pending(), timeout=timeout)


def wait_training(window: MainWindow, qtbot, epochs: int = 0) -> None:
    """Until the run reports batches (and ``epochs`` finished epochs)."""
    tab = window.train_tab
    qtbot.waitUntil(lambda: tab.global_step > 0 and len(tab.rows) >= epochs, timeout=WAIT_MS)


# --- before a run ------------------------------------------------------------------------------


def test_without_a_dataset_start_is_disabled_and_says_why(window, qtbot):
    tab = window.train_tab
    window.show_page("train")
    assert window.pages["train"] is tab
    assert not tab.start_button.isEnabled()
    assert "Import a dataset first (Data tab)" in tab.empty_title.text()
    assert "Import a dataset first" in tab.hint.text()
    assert tab.data_button.isVisibleTo(tab)
    assert not window.train_controller.start()
    for b in (tab.pause_button, tab.resume_button, tab.stop_button, tab.more_button):
        assert not b.isEnabled()


def test_with_a_dataset_the_tab_invites_to_start(window, qtbot, tmp_path):
    attach(window, tmp_path)
    tab = window.train_tab
    window.show()
    window.show_page("train")
    assert tab.start_button.isEnabled()
    assert tab.empty_title.text() == "Press Start to train net on table.csv"
    assert not tab.data_button.isVisibleTo(tab)
    assert not tab.pause_button.isEnabled() and not tab.stop_button.isEnabled()
    # the form is generated from form_sections(): one field per setting
    names = {p.name for _title, params in form_sections() for p in params}
    assert names == set(tab.form.fields)
    assert [tab.form.device_combo.itemData(i) for i in range(2)] == ["auto", "cpu"]
    qtbot.waitUntil(lambda: tab.plots is not None, timeout=WAIT_MS)  # built once the tab shows


def test_cuda_settings_show_once_a_cuda_gpu_is_listed_and_are_stored(window, qtbot, tmp_path):
    attach(window, tmp_path)
    form = window.train_tab.form
    window.show()
    window.show_page("train")
    qtbot.waitUntil(lambda: form._devices_listed, timeout=WAIT_MS)
    for name in ("amp", "cuda_graphs"):
        layout, row = form._rows[name]
        assert not layout.isRowVisible(row), name  # this machine has no CUDA GPU
    form._on_devices_listed([("cpu", "CPU"), ("cuda:0", "NVIDIA H200 (140 GB)")])
    for name in ("amp", "cuda_graphs"):
        layout, row = form._rows[name]
        assert layout.isRowVisible(row), name
    graphs = form.fields["cuda_graphs"]
    assert graphs.widget.currentText() == "auto"
    assert [graphs.widget.itemText(i) for i in range(graphs.widget.count())] == [
        "auto",
        "on",
        "off",
    ]
    graphs.widget.setCurrentText("off")
    graphs.commit()
    assert window.document.project.training["cuda_graphs"] == "off"
    assert form.config().cuda_graphs == "off"


def test_form_edits_are_stored_in_the_project(window, qtbot, tmp_path):
    attach(window, tmp_path)
    form = window.train_tab.form
    window.show_page("train")
    assert not window.document.modified
    epochs = form.fields["epochs"]
    epochs.widget.setValue(7)
    epochs.commit()
    assert window.document.project.training["epochs"] == 7
    assert window.document.modified
    optimizer = form.fields["optimizer"]
    form_layout, row = form._rows["momentum"]
    assert not form_layout.isRowVisible(row)  # Adam has no momentum setting
    optimizer.widget.setCurrentText("sgd")
    optimizer.commit()
    assert window.document.project.training["optimizer"] == "sgd"
    assert form_layout.isRowVisible(row)
    form.metric_boxes["precision"].setChecked(False)
    assert window.document.project.training["metrics"] == ["accuracy", "recall", "f1"]
    assert TrainConfig.from_dict(window.document.project.training).epochs == 7


def test_monitor_choices_follow_the_task(window, qtbot, tmp_path):
    attach(window, tmp_path)  # a classification table
    combo = window.train_tab.form.fields["monitor"].widget

    def offered() -> list[str]:
        return [combo.itemText(i) for i in range(combo.count()) if not combo.view().isRowHidden(i)]

    window.show_page("train")
    assert offered() == ["val_loss", "val_accuracy", "val_f1", "train_loss"]
    out = window.document.graph.of_type("Output")[0].id
    window.document.edit("Regression", lambda g: g.set_params(out, {"task": "regression"}))
    assert offered() == ["val_loss", "val_mae", "val_rmse", "val_r2", "train_loss"]


# --- a run ------------------------------------------------------------------------------------


def test_start_trains_and_the_curves_receive_points(window, qtbot, tmp_path):
    project = attach(window, tmp_path, epochs=3)
    tab = window.train_tab
    start(window, qtbot)
    assert not tab.start_button.isEnabled() and tab.stop_button.isEnabled()
    assert not tab.form.isEnabled()
    wait_done(window, qtbot)
    outcome = window.train_controller.last_outcome
    assert outcome.status == "finished", outcome.message
    assert outcome.epochs_done == 3
    counts = tab.plots.point_counts()
    assert counts["epoch_mean"] == 3 and counts["val_loss"] == 3 and counts["val_accuracy"] == 3
    assert counts["batch_loss"] >= 3 and counts["smoothed"] == counts["batch_loss"]
    assert counts["lr"] >= 1
    # the curves hold exactly what was reported (setData once per tick)
    x, y = tab.plots.raw_curve.getData()
    assert len(x) == counts["batch_loss"] and np.isfinite(y).all()
    assert x.dtype == np.float64
    assert tab.plots.val_curve.getData()[0].tolist() == [1.0, 2.0, 3.0]
    # the run is recorded beside the project and in the project's runs list
    run_dir = Path(outcome.run_dir)
    assert run_dir.parent == project.with_name("net.runs")
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    assert json.loads((run_dir / "status.json").read_text())["status"] == "finished"
    runs = window.document.project.runs
    assert len(runs) == 1 and runs[0]["id"] == outcome.run_id and runs[0]["status"] == "finished"
    assert runs[0]["path"] == f"net.runs/{outcome.run_id}"
    # Recording a run is not a user edit: it goes into the file, the title gets no "*".
    assert not window.document.modified and not window.isWindowModified()
    assert [r["id"] for r in load_project(project).runs] == [outcome.run_id]
    assert "Epoch 3/3" in tab.log.toPlainText()
    # the best weights were evaluated on the test split: in the log, the summary and the entry
    test = runs[0]["test"]
    assert test["split"] == "test" and test["num_samples"] > 0, test
    line = split_results_text(test)
    assert line is not None and line.startswith("Test (") and "accuracy" in line
    assert line in tab.log.toPlainText() and tab.stats_label.text() == line
    assert tab.progress.text().startswith("Finished")
    assert tab.start_button.isEnabled() and tab.more_button.isEnabled()
    assert not tab.stop_button.isEnabled()


def test_pause_stops_progress_and_resume_continues(window, qtbot, tmp_path):
    attach(window, tmp_path, epochs=100_000)
    controller, tab = window.train_controller, window.train_tab
    start(window, qtbot)
    wait_training(window, qtbot)
    controller.pause()
    assert controller.state == "paused"
    assert tab.resume_button.isEnabled() and not tab.pause_button.isEnabled()
    qtbot.waitUntil(controller.is_paused, timeout=WAIT_MS)
    trainer = controller.job.trainer
    step = trainer.global_step
    drains = [0]
    controller._drain_timer.timeout.connect(lambda: drains.__setitem__(0, drains[0] + 1))
    # What the worker put before it paused is drained by the next ticks (the feed may hold
    # back the last few losses until it runs again, so the tab can show a slightly older step).
    qtbot.waitUntil(lambda: drains[0] >= 2, timeout=WAIT_MS)
    seen, drains[0] = tab.global_step, 0
    qtbot.waitUntil(lambda: drains[0] >= 8, timeout=WAIT_MS)  # 8 more ticks, nothing new
    assert trainer.global_step == step and tab.global_step == seen
    assert "paused" in tab.stats_label.text()
    controller.resume()
    assert controller.state == "running"
    qtbot.waitUntil(lambda: tab.global_step > seen, timeout=WAIT_MS)


def test_stop_ends_at_the_next_batch_and_keeps_the_checkpoints(window, qtbot, tmp_path):
    attach(window, tmp_path, epochs=100_000)
    controller = window.train_controller
    start(window, qtbot)
    wait_training(window, qtbot, epochs=2)
    trainer = controller.job.trainer
    asked = trainer.global_step
    controller.stop()
    assert controller.state == "stopping"
    assert not window.train_tab.pause_button.isEnabled()
    wait_done(window, qtbot)
    # at the batch boundary (the batch in flight may end), not at the end of the epoch (~11 batches)
    assert trainer.global_step <= asked + 2, (asked, trainer.global_step)
    assert controller.last_stop_seconds is not None
    outcome = controller.last_outcome
    assert outcome.status == "stopped"
    run_dir = Path(outcome.run_dir)
    status = json.loads((run_dir / "status.json").read_text())
    assert status["status"] == "stopped"
    assert (run_dir / "checkpoints" / "last.pt").is_file()
    assert (run_dir / "checkpoints" / "best.pt").is_file()
    assert window.document.project.runs[-1]["status"] == "stopped"
    assert window.train_tab.more_button.isEnabled()  # a stopped run can continue


def test_a_loss_that_becomes_nan_is_reported_and_the_app_stays_usable(window, qtbot, tmp_path):
    # An absurd learning rate with SGD blows the weights up within a few batches (seeded).
    attach(window, tmp_path, epochs=30, optimizer="sgd", lr=100.0, momentum=0.9)
    tab = window.train_tab
    start(window, qtbot)
    wait_done(window, qtbot)
    outcome = window.train_controller.last_outcome
    assert outcome.status == "failed"
    assert "became NaN" in outcome.message or "became infinite" in outcome.message
    assert "lower the learning rate" in outcome.message
    banner = tab.banner_message()
    assert banner.startswith("Training failed: loss became") or banner.startswith(
        "Training failed: validation loss became"
    )
    assert "Failed" in tab.log.toPlainText()
    assert window.document.project.runs[-1]["status"] == "failed"
    assert tab.start_button.isEnabled() and not tab.more_button.isEnabled()
    # a second run with a sensible rate starts and finishes
    window.document.project.training.update(lr=0.01, epochs=2)
    start(window, qtbot)
    assert not tab.banner_message()
    wait_done(window, qtbot)
    assert window.train_controller.last_outcome.status == "finished"
    assert len(window.document.project.runs) == 2


def test_a_vanished_data_file_fails_with_a_message(window, qtbot, tmp_path):
    csv = write_table(tmp_path / "gone.csv")
    attach(window, tmp_path, csv=csv)
    csv.unlink()
    start(window, qtbot)
    wait_done(window, qtbot)
    outcome = window.train_controller.last_outcome
    assert outcome.status == "failed" and outcome.run_id is None
    assert "gone.csv" in window.train_tab.banner_message()
    # said once in the log, not once by the failure event and again when the run ends
    assert window.train_tab.log.toPlainText().count("Failed: ") == 1
    assert not (tmp_path / "net.runs").exists() or not any((tmp_path / "net.runs").iterdir())
    assert window.train_tab.start_button.isEnabled()


def test_train_more_continues_a_finished_run(window, qtbot, tmp_path):
    attach(window, tmp_path, epochs=2)
    controller, tab = window.train_controller, window.train_tab
    start(window, qtbot)
    wait_done(window, qtbot)
    first = controller.last_outcome
    assert first.status == "finished" and first.epochs_done == 2
    batches = tab.plots.point_counts()["batch_loss"]
    assert controller.can_train_more()
    assert controller.train_more(3)
    wait_done(window, qtbot)
    more = controller.last_outcome
    assert more.status == "finished", more.message
    assert more.run_id == first.run_id and more.epochs_done == 5
    assert tab.plots.point_counts()["epoch_mean"] == 5
    assert tab.plots.point_counts()["batch_loss"] == batches * 5 // 2
    runs = window.document.project.runs
    assert len(runs) == 1 and runs[0]["epochs"] == 5
    rows = [
        json.loads(line) for line in (Path(more.run_dir) / "metrics.jsonl").read_text().splitlines()
    ]
    # the epochs' lines, then the test split's (the run's end evaluates it)
    assert [r.get("epoch", r.get("split")) for r in rows] == [1, 2, 3, 4, 5, "test"]


def test_closing_during_training_asks_and_stops_cleanly(window, qtbot, tmp_path, monkeypatch):
    attach(window, tmp_path, epochs=100_000)
    window.show()
    start(window, qtbot)
    wait_training(window, qtbot)
    answers = [False, True]
    asked = []
    monkeypatch.setattr(
        MainWindow, "_ask_stop_training", lambda self: asked.append(1) or answers.pop(0)
    )
    window.close()  # "no": the run goes on and the window stays
    assert asked == [1] and window.isVisible() and window.train_controller.state == "running"
    window.close()  # "yes": the run stops; the window closes once the thread has ended
    assert asked == [1, 1]
    assert window.isVisible()  # closing never waits for the worker
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert not window.train_controller.is_running()
    assert window.train_controller.last_outcome.status == "stopped"


# --- the parts --------------------------------------------------------------------------------


def test_the_feed_callback_reports_a_run_in_order(tmp_path):
    from workbench.core.templates import make_project
    from workbench.engine.compiler import compile_graph
    from workbench.engine.trainer import Trainer

    csv = write_table(tmp_path / "t.csv")
    source = open_dataset(csv, "label")
    settings = default_settings(source, "label")
    project = make_project("mlp")
    fit_model_to_data(project.graph, source, settings)
    prepared = source.prepare(settings)
    feed = EventFeed()
    cb = FeedCallback(feed, interval=0.0)
    trainer = Trainer(
        compile_graph(project.graph), prepared, TrainConfig(epochs=2, batch_size=16), [cb]
    )
    trainer.fit()
    events = feed.take()
    kinds = [e[0] for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end"
    assert kinds.count("epoch") == 2 and kinds.count("epoch_start") == 2
    steps = np.concatenate([e[1] for e in events if e[0] == "batches"])
    assert steps.tolist() == list(range(1, trainer.global_step + 1))
    assert feed.take() == []


def test_stop_right_after_start_ends_before_training(window, qtbot, tmp_path):
    attach(window, tmp_path, epochs=100_000)
    controller = window.train_controller
    start(window, qtbot)
    controller.stop()
    wait_done(window, qtbot)
    outcome = controller.last_outcome
    assert outcome.status == "stopped"
    assert window.train_tab.global_step <= 1  # at the first batch boundary at the latest
    if outcome.run_id is None:  # stopped while the data was being prepared: no run folder
        assert window.document.project.runs == []
        assert window.train_tab.empty.isVisibleTo(window.train_tab)


def test_stop_while_paused(window, qtbot, tmp_path):
    attach(window, tmp_path, epochs=100_000)
    controller = window.train_controller
    start(window, qtbot)
    wait_training(window, qtbot)
    controller.pause()
    qtbot.waitUntil(controller.is_paused, timeout=WAIT_MS)
    trainer = controller.job.trainer
    step = trainer.global_step
    controller.stop()
    wait_done(window, qtbot)
    assert trainer.global_step == step  # the pause ends in the stop, with no batch more
    assert controller.last_outcome.status == "stopped"


def test_a_new_project_stops_the_run_of_the_old_one(window, qtbot, tmp_path):
    attach(window, tmp_path, epochs=100_000)
    old = window.document
    start(window, qtbot)
    wait_training(window, qtbot)
    assert window.new_project("lenet")
    wait_done(window, qtbot)
    assert window.train_controller.last_outcome.status == "stopped"
    assert old.project.runs[-1]["status"] == "stopped"  # recorded with the project it belongs to
    assert window.document.project.runs == []
    assert not window.train_tab.start_button.isEnabled()  # the new project has no dataset
    assert window.train_tab.empty.isVisibleTo(window.train_tab)
    assert (
        window.train_tab.plots is None or window.train_tab.plots.point_counts()["batch_loss"] == 0
    )


def test_train_more_on_changed_data_is_refused_and_offers_a_new_run_from_its_weights(
    window, qtbot, tmp_path, monkeypatch
):
    attach(window, tmp_path, epochs=2)
    controller = window.train_controller
    start(window, qtbot)
    wait_done(window, qtbot)
    first = controller.last_outcome
    assert first.status == "finished"
    write_table(tmp_path / "table.csv", seed=1)  # the same file, other rows
    asked: list[str] = []

    def answer(message: str) -> bool:
        asked.append(message)
        return True

    monkeypatch.setattr(controller, "ask_new_run_from_weights", answer)
    assert controller.train_more(1)
    qtbot.waitUntil(lambda: bool(asked), timeout=WAIT_MS)
    assert "the dataset changed since this run started" in asked[0]
    qtbot.waitUntil(
        lambda: (
            controller.last_outcome is not None
            and controller.last_outcome.from_run is not None
            and not controller.is_running()
        ),
        timeout=WAIT_MS,
    )
    new = controller.last_outcome
    assert new.status == "finished", new.message
    assert new.run_id != first.run_id and new.from_run["run"] == first.run_id
    runs = window.document.project.runs
    assert [r["id"] for r in runs] == [first.run_id, new.run_id]
    assert runs[1]["from_run"]["run"] == first.run_id and runs[0]["epochs"] == 2
