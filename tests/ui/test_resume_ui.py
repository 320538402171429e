"""A run whose process was killed, resumed from the window as ``workbench train --resume`` does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.killed_runs import killed
from workbench.core.project import load_project, save_project
from workbench.core.templates import make_project
from workbench.engine.checkpoint import load_checkpoint
from workbench.engine.runs import RunDir, list_runs, train_project
from workbench.engine.trainer import Callback, Trainer
from workbench.ui.window import MainWindow

WAIT_MS = 60_000


@pytest.fixture
def window(training_window):
    return training_window


def write_data(path: Path, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(120, 6)).astype(np.float32)
    np.savez(path, x=x, y=(x[:, 0] - x[:, 2] > 0).astype(np.int64))
    return path


class KillAfter(Callback):
    """Ends the process's training right after epoch ``epoch``'s last checkpoint, as a kill would."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_checkpoint(self, trainer: Trainer, path: Path, kind: str) -> None:
        if kind == "last" and trainer.epoch == self.epoch:
            raise KeyboardInterrupt


def interrupted_project(tmp_path: Path) -> tuple[Path, RunDir]:
    """A project whose run of 5 epochs was killed after epoch 2 (status "running", a dead pid)."""
    project = make_project("mlp")
    project.training = {"epochs": 5, "batch_size": 16, "cpu_threads": 1, "seed": 3}
    project.training["device"] = "cpu"
    path = tmp_path / "a.wbproj"
    save_project(project, path)
    with pytest.raises(KeyboardInterrupt):
        train_project(path, data=write_data(tmp_path / "d.npz"), callbacks=[KillAfter(2)])
    (run,) = list_runs(path)
    killed(run, path)
    return path, run


def open_train_tab(window: MainWindow, path: Path) -> None:
    assert window.open_project(path)
    window.show_page("train")


def test_an_interrupted_run_is_shown_and_resume_finishes_it(window, qtbot, tmp_path):
    path, run = interrupted_project(tmp_path)
    open_train_tab(window, path)
    controller, tab = window.train_controller, window.train_tab
    message = tab.banner_message()
    assert f"Run {run.id} was interrupted after epoch 2 of 5." in message
    assert "Resume interrupted run" in message
    assert not tab.resume_run_button.isHidden() and tab.resume_run_button.isEnabled()
    assert not tab.more_button.isEnabled()  # Train more is for runs that ended
    assert tab.stats_label.text() == f"Last run {run.id}: interrupted"
    assert tab.empty_title.text() == "Resume the interrupted run, or Start a new one"

    tab.resume_run_button.click()
    assert controller.is_running() and tab.resume_run_button.isHidden()
    qtbot.waitUntil(lambda: not controller.is_running(), timeout=WAIT_MS)
    outcome = controller.last_outcome
    assert outcome.status == "finished", outcome.message
    assert outcome.run_id == run.id and outcome.epochs_done == 5 and outcome.continued
    assert load_checkpoint(run.last)["epoch"] == 5
    assert run.read_status()["status"] == "finished"
    assert [r["epoch"] for r in run.read_metrics()] == [1, 2, 3, 4, 5]
    assert tab.rows and [r["epoch"] for r in tab.rows] == [1, 2, 3, 4, 5]
    runs = load_project(path).runs
    assert len(runs) == 1 and runs[0]["status"] == "finished" and runs[0]["epochs"] == 5
    assert runs[0]["id"] == run.id and "started" in runs[0]  # the first start is kept
    assert controller.interrupted is None and tab.resume_run_button.isHidden()
    assert tab.more_button.isEnabled()


def test_a_project_without_an_interrupted_run_offers_no_resume(window, qtbot, tmp_path):
    path, run = interrupted_project(tmp_path)
    status = run.read_status()
    status.update(status="stopped")
    run.status_path.write_text(json.dumps(status))
    open_train_tab(window, path)
    assert window.train_controller.interrupted is None
    assert window.train_tab.resume_run_button.isHidden()
    assert "interrupted" not in window.train_tab.banner_message()
    assert not window.train_controller.resume_interrupted()


@pytest.mark.parametrize("damage", ["data", "checkpoint"])
def test_a_refused_resume_offers_a_new_run_from_its_weights(
    window, qtbot, tmp_path, monkeypatch, damage
):
    path, run = interrupted_project(tmp_path)
    if damage == "data":
        write_data(tmp_path / "d.npz", seed=1)  # the same file, other rows
        expected = "the dataset changed since this run started"
    else:
        blob = bytearray(run.last.read_bytes())
        blob[len(blob) // 2] ^= 0xFF
        run.last.write_bytes(bytes(blob))
        expected = "checkpoint last.pt is damaged"
    open_train_tab(window, path)
    controller, tab = window.train_controller, window.train_tab
    asked: list[str] = []

    def answer(message: str) -> bool:
        asked.append(message)
        return True

    monkeypatch.setattr(controller, "ask_new_run_from_weights", answer)
    assert controller.resume_interrupted()
    qtbot.waitUntil(lambda: bool(asked), timeout=WAIT_MS)
    assert expected in asked[0] and run.id in asked[0]
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
    assert new.run_id != run.id and new.from_run["run"] == run.id
    assert new.from_run["checkpoint"] == ("last.pt" if damage == "data" else "best.pt")
    assert [r["id"] for r in window.document.project.runs] == [run.id, new.run_id]
    assert controller.interrupted is None and tab.resume_run_button.isHidden()


def test_declining_the_new_run_leaves_the_tab_ready_for_start(window, qtbot, tmp_path, monkeypatch):
    path, run = interrupted_project(tmp_path)
    write_data(tmp_path / "d.npz", seed=1)
    open_train_tab(window, path)
    controller, tab = window.train_controller, window.train_tab
    asked: list[str] = []
    monkeypatch.setattr(controller, "ask_new_run_from_weights", lambda m: asked.append(m) or False)
    tab.resume_run_button.click()
    qtbot.waitUntil(lambda: bool(asked) and not controller.is_running(), timeout=WAIT_MS)
    assert controller.last_outcome.status == "failed"
    assert "the dataset changed" in tab.banner_message()
    assert tab.resume_run_button.isHidden() and tab.start_button.isEnabled()
    assert tab.empty_title.text().startswith("Press Start")
    assert [r["id"] for r in load_project(path).runs] == [run.id]  # no new run was made
