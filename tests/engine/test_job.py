"""A training run on a worker thread as the window runs it, without Qt
(:mod:`workbench.engine.job`)."""

from __future__ import annotations

import threading
from pathlib import Path

from tests.engine.test_session import make
from workbench.core.document import Document
from workbench.core.project import load_project
from workbench.data.link import settings_from_project
from workbench.engine.config import TrainConfig
from workbench.engine.job import EventFeed, RunOutcome, TrainJob, last_run


def never(*_args: object) -> bool:
    return False


def test_the_feed_hands_over_every_event_once_in_order():
    feed = EventFeed()
    feed.put("start", {"run_id": "r1"})
    feed.log("Reading d.npz…")
    assert len(feed) == 2
    assert feed.take() == [("start", {"run_id": "r1"}), ("log", "Reading d.npz…")]
    assert feed.take() == [] and len(feed) == 0


def test_a_job_trains_reports_and_leaves_its_outcome(tmp_path: Path):
    path = make(tmp_path)
    project = load_project(path)
    settings = settings_from_project(project, path)
    config = TrainConfig(epochs=2, batch_size=16, cpu_threads=1, device="cpu")
    job = TrainJob(path, config, graph=project.graph.copy(), settings=settings)
    outcome = job.run(lambda done, total: None, never)
    assert outcome is job.outcome and outcome.status == "finished", outcome.message
    assert outcome.epochs_done == 2 and outcome.run_id is not None and not outcome.continued
    assert Path(outcome.run_dir or "").is_dir() and outcome.final["epoch"] == 2
    assert job.trainer is None  # nothing of the run stays referenced
    kinds = [event[0] for event in job.feed.take()]
    assert kinds[0] == "log" and "start" in kinds and kinds[-1] == "end"
    assert kinds.count("epoch") == 2
    entry = outcome.record()
    assert entry["status"] == "finished" and entry["epochs"] == 2 and "started" in entry
    # the window's runs entry has the test split's figures, as the command line's has
    assert outcome.test is not None and entry["test"] == outcome.test
    assert outcome.test["split"] == "test"

    more = TrainJob(path, config, continue_run=Path(outcome.run_dir or ""), more_epochs=1)
    again = more.run(lambda done, total: None, never)
    assert again.status == "finished" and again.epochs_done == 3 and again.continued
    assert again.run_id == outcome.run_id and "started" not in again.record()


def test_a_job_stopped_before_it_began_never_trains(tmp_path: Path):
    path = make(tmp_path)
    project = load_project(path)
    settings = settings_from_project(project, path)
    job = TrainJob(path, TrainConfig(epochs=2), graph=project.graph, settings=settings)
    job.request_pause()
    assert job.pause_requested and not job.is_paused  # no loop to pause yet
    job.resume()
    assert not job.pause_requested
    job.request_stop()
    assert job.stop_requested
    outcome = job.run(lambda done, total: None, never)
    assert outcome.status == "stopped" and outcome.message == "stopped before training started"
    assert outcome.run_id is None


def test_a_failure_becomes_a_failed_outcome_reported_once(tmp_path: Path):
    path = make(tmp_path)
    (tmp_path / "d.npz").unlink()
    project = load_project(path)
    settings = settings_from_project(project, path)
    job = TrainJob(path, TrainConfig(epochs=1), graph=project.graph, settings=settings)
    cancelled = threading.Event()
    outcome = job.run(lambda done, total: None, cancelled.is_set)
    assert outcome.status == "failed" and "d.npz" in outcome.message
    errors = [e for e in job.feed.take() if e[0] == "error"]
    assert errors == [("error", outcome.message)]


def test_the_last_run_is_the_newest_whose_folder_exists(tmp_path: Path):
    doc = Document(path=tmp_path / "a.wbproj")
    assert last_run(Document()) is None  # never saved: no runs folder
    (tmp_path / "a.runs" / "r1").mkdir(parents=True)
    doc.project.runs = [
        {"id": "r1", "path": "a.runs/r1", "status": "finished", "epochs": 3},
        {"id": "r2", "path": "a.runs/r2", "status": "stopped", "epochs": 1},  # deleted since
        "not an entry",
    ]
    assert last_run(doc) == {
        "id": "r1",
        "dir": str(tmp_path.resolve() / "a.runs" / "r1"),
        "status": "finished",
        "epochs": 3,
    }


def test_an_outcome_records_the_runs_entry():
    outcome = RunOutcome(
        "stopped",
        "stopped at epoch 2, batch 3",
        epochs_done=2,
        monitor="val_loss",
        best_epoch=1,
        best_value=0.5,
        final={"epoch": 2, "val_loss": float("nan")},
        started="2026-01-01T10:00:00",
        ended="2026-01-01T10:05:00",
        from_run={"run": "r0", "checkpoint": "best.pt", "epoch": 4},
    )
    entry = outcome.record()
    assert entry["status"] == "stopped" and entry["epochs"] == 2
    assert entry["ended"] == "2026-01-01T10:05:00" and entry["started"] == "2026-01-01T10:00:00"
    assert entry["best_epoch"] == 1 and entry["from_run"]["run"] == "r0"
    assert entry["final"]["val_loss"] is None  # not a number: stored as JSON's null
