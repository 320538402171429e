"""The runs history: summaries of real runs, statuses, damaged folders, curves, renaming and deleting."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.killed_runs import killed
from workbench.core.project import load_project, save_project
from workbench.core.templates import make_project
from workbench.data.samples import sample_path
from workbench.engine.history import (
    HistoryError,
    RunSummary,
    delete_run,
    differing_hyperparameters,
    drop_entry,
    find_summary,
    flatten,
    load_history,
    read_curves,
    rename_run,
)
from workbench.engine.runs import RunDir, new_run, train_project
from workbench.engine.trainer import Callback, Trainer


def new_project(folder: Path, **training: Any) -> Path:
    path = folder / "m.wbproj"
    project = make_project("mlp")
    project.training = {"batch_size": 64, "cpu_threads": 1, "device": "cpu", **training}
    save_project(project, path)
    return path


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project trained three times with different settings (made once, copied per test)."""
    folder = tmp_path_factory.mktemp("three")
    path = new_project(folder)
    data = sample_path("tabular")
    train_project(path, data=data, epochs=2)
    train_project(path, epochs=2, lr=0.01)
    train_project(path, epochs=3, optimizer="sgd")
    return folder


@pytest.fixture
def project(three_runs: Path, tmp_path: Path) -> Path:
    shutil.copytree(three_runs, tmp_path / "p")
    return tmp_path / "p" / "m.wbproj"


def metrics_rows(run: Path) -> list[dict[str, Any]]:
    """The epoch lines of a run's metrics.jsonl (not the last {"split": "test"} line)."""
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    return [row for row in rows if "split" not in row]


def test_a_project_with_three_runs(project: Path) -> None:
    runs = load_history(project)
    assert [r.name for r in runs] == ["Run 1", "Run 2", "Run 3"]
    assert [r.id for r in runs] == [e["id"] for e in load_project(project).runs]
    assert [r.status for r in runs] == ["finished"] * 3
    assert [r.epochs for r in runs] == [2, 2, 3]
    assert [r.epochs_planned for r in runs] == [2, 2, 3]
    assert all(r.device == "cpu" and r.resumed == 0 and not r.problems for r in runs)
    assert [r.hyperparameters["lr"] for r in runs] == [0.001, 0.01, 0.001]
    assert [r.hyperparameters["optimizer"] for r in runs] == ["adam", "adam", "sgd"]
    assert differing_hyperparameters(runs) == ["epochs", "optimizer", "lr"]
    assert differing_hyperparameters(runs[:2]) == ["lr"]
    for r in runs:
        rows = metrics_rows(r.path)
        assert r.started is not None and r.started[:4].isdigit()
        assert r.duration == pytest.approx(sum(row["epoch_seconds"] for row in rows))
        # the best epoch is the monitored metric's, and the headline metric is read there
        assert r.monitor == "val_loss"
        best = min(rows, key=lambda row: row["val_loss"])
        assert (r.best_epoch, r.best_value) == (best["epoch"], best["val_loss"])
        assert r.best_metric == ("val_accuracy", best["val_accuracy"])
        # every run ended with its best weights evaluated on the test split
        assert r.test is not None and r.test["num_samples"] > 0
        assert r.test_metric == ("test_accuracy", r.test["accuracy"])
        assert r.curves is not None and r.curves.epochs == [row["epoch"] for row in rows]
        assert r.curves.series["val_loss"] == [row["val_loss"] for row in rows]
        doc = r.to_json()
        assert json.loads(json.dumps(doc)) == doc
        assert doc["best_metric"] == {"name": "val_accuracy", "value": best["val_accuracy"]}


def _forget_test_metrics(project: Path) -> None:
    """The project as if its runs had ended before runs were evaluated on the test split."""
    p = load_project(project)
    for entry in p.runs:
        entry.pop("test", None)
        run = project.with_suffix(".runs") / entry["id"]
        (run / "metrics.jsonl").write_text(
            "".join(json.dumps(row) + "\n" for row in metrics_rows(run))
        )
    save_project(p, project)


def test_the_test_split_metrics_from_the_log_or_the_runs_entry(project: Path) -> None:
    _forget_test_metrics(project)
    first, second, third = load_history(project)
    assert all(r.test is None and r.test_metric is None for r in (first, second, third))
    with open(first.path / "metrics.jsonl", "a") as f:
        f.write(json.dumps({"split": "test", "test_loss": 0.31, "test_accuracy": 0.9}) + "\n")
    p = load_project(project)
    p.runs[1]["test"] = {"loss": 0.5, "r2": 0.7, "num_samples": 40}
    save_project(p, project)
    first, second, third = load_history(project)
    assert first.test == {"loss": 0.31, "accuracy": 0.9}
    assert first.test_metric == ("test_accuracy", 0.9)
    assert first.curves is not None and first.curves.epochs == [1, 2]  # the test line is no epoch
    assert first.epochs == 2 and not first.problems
    assert second.test_metric == ("test_r2", 0.7)  # no accuracy: the next headline metric
    assert third.test is None and third.test_metric is None
    assert read_curves(first.path).epochs == [1, 2]


def test_curves_of_several_runs_for_one_plot(project: Path) -> None:
    runs = load_history(project)
    curves = [read_curves(r.path, r.name) for r in runs]
    assert [c.name for c in curves] == ["Run 1", "Run 2", "Run 3"]
    assert [len(c.epochs) for c in curves] == [2, 2, 3]
    for c, r in zip(curves, runs, strict=True):
        rows = metrics_rows(r.path)
        assert {"train_loss", "val_loss", "val_accuracy", "lr"} <= set(c.keys())
        assert c.series["train_loss"] == [row["train_loss"] for row in rows]


class StopAfter(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        if metrics["epoch"] == self.epoch:
            trainer.request_stop()


def test_statuses_early_stopped_stopped_interrupted_and_resumed(tmp_path: Path) -> None:
    # min_delta so large that no epoch after the first counts as better: stops after epoch 2
    path = new_project(tmp_path, early_stop=True, patience=1, min_delta=1e9)
    data = sample_path("tabular")
    train_project(path, data=data, epochs=5)
    (early,) = load_history(path)
    assert early.status == "early-stopped" and early.label == "early-stopped"
    assert (early.epochs, early.epochs_planned, early.best_epoch) == (2, 5, 1)
    assert early.message.startswith("stopped early")
    assert json.loads((early.path / "status.json").read_text())["stopped_early"] is True

    p = load_project(path)
    p.training["early_stop"] = False
    save_project(p, path)
    train_project(path, epochs=3, callbacks=[StopAfter(1)])
    stopped = load_history(path)[-1]
    assert (stopped.status, stopped.epochs) == ("stopped", 1)
    killed(RunDir(stopped.path), path)
    interrupted = load_history(path)[-1]
    assert interrupted.status == "interrupted"
    assert interrupted.message == "interrupted after epoch 1: its process ended while it trained"

    train_project(path, resume=True)
    resumed = load_history(path)[-1]
    assert resumed.id == stopped.id
    assert (resumed.status, resumed.resumed, resumed.label) == ("finished", 1, "finished, resumed")
    assert resumed.epochs == 3 and resumed.curves is not None and resumed.curves.epochs == [1, 2, 3]
    (record,) = json.loads((resumed.path / "config.json").read_text())["resumed"]
    assert record["after_epoch"] == 1


def test_a_run_that_is_training_and_one_killed_before_a_checkpoint(project: Path) -> None:
    runs = load_history(project)
    status = json.loads((runs[0].path / "status.json").read_text())
    status.update(status="running", pid=os.getpid())
    (runs[0].path / "status.json").write_text(json.dumps(status))
    killed(RunDir(runs[2].path), project)
    shutil.rmtree(runs[2].path / "checkpoints")
    first, _, third = load_history(project)
    assert first.status == "running"
    assert third.status == "failed" and "before its first checkpoint" in third.message


def test_damaged_run_folders_show_as_failed_with_the_reason(project: Path) -> None:
    good, *_ = load_history(project)
    root = project.with_suffix(".runs")
    for i in range(5):
        shutil.copytree(good.path, root / f"29990101-00000{i}")
    folders = sorted(p for p in root.iterdir() if p.name.startswith("2999"))
    (folders[0] / "status.json").write_text("{not json")
    (folders[1] / "config.json").write_text("[1, 2]")
    rows = (folders[2] / "metrics.jsonl").read_text().splitlines()
    (folders[2] / "metrics.jsonl").write_text("\n".join([rows[0], "garbage", *rows[1:]]) + "\n")
    (folders[3] / "status.json").unlink()
    (folders[3] / "config.json").unlink()
    (folders[4] / "metrics.jsonl").write_text(
        (folders[4] / "metrics.jsonl").read_text() + '{"epoch": 3, "train_lo'
    )
    p = load_project(project)
    p.runs.append({"id": "29990202-000000", "path": "m.runs/29990202-000000", "status": "finished"})
    save_project(p, project)

    runs = {r.id: r for r in load_history(project)}
    assert len(runs) == 3 + 5 + 1
    by_folder = [runs[f.name] for f in folders]
    reasons = [r.message for r in by_folder]
    assert [r.status for r in by_folder[:4]] == ["failed"] * 4
    assert reasons[0] == "damaged run folder: status.json is damaged (not valid JSON)"
    assert reasons[1] == "damaged run folder: config.json is damaged (not a JSON object)"
    assert reasons[2] == "damaged run folder: metrics.jsonl is damaged (1 unreadable line)"
    assert reasons[3] == ("damaged run folder: status.json is missing; config.json is missing")
    # a torn last line is what a kill while writing leaves: not damage
    assert by_folder[4].status == "finished" and by_folder[4].epochs == 2
    assert by_folder[4].curves is not None and by_folder[4].curves.epochs == [1, 2]
    missing = runs["29990202-000000"]
    assert missing.status == "failed" and "is missing" in missing.message
    assert [runs[r.id].status for r in load_history(project)[:3]] == ["finished"] * 3


def test_an_unreadable_project_file_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "x.wbproj").write_text("{")
    with pytest.raises(HistoryError, match="x.wbproj: the file is not valid JSON"):
        load_history(tmp_path / "x.wbproj")


def test_differing_hyperparameters() -> None:
    def run(**h: Any) -> RunSummary:
        return RunSummary("id", "n", Path("."), "finished", hyperparameters=h)

    a = run(lr=0.1, metrics=["accuracy"], seed=1)
    b = run(lr=0.1, metrics=["accuracy", "f1"], seed=1)
    c = run(lr=0.1, metrics=["accuracy"], seed=1, amp="bf16")
    assert differing_hyperparameters([a]) == []
    assert differing_hyperparameters([a, b]) == ["metrics"]
    assert differing_hyperparameters([a, c]) == ["amp"]
    assert differing_hyperparameters([a, b, c]) == ["metrics", "amp"]
    assert flatten({"a": 1, "b": {"c": 2, "d": {"e": 3}}}) == {"a": 1, "b.c": 2, "b.d.e": 3}


def test_rename_keeps_the_name_in_the_run_folder_only(project: Path) -> None:
    before = project.read_bytes()
    first, second, _ = load_history(project)
    assert rename_run(project, second.id, "  higher\nlr  ") == "higher lr"
    assert [r.name for r in load_history(project)] == ["Run 1", "higher lr", "Run 3"]
    assert json.loads((second.path / "run.json").read_text()) == {"number": 2, "name": "higher lr"}
    assert project.read_bytes() == before  # the project file is not touched
    assert rename_run(project, second.id, " ") == "Run 2"
    assert load_history(project)[1].name == "Run 2"
    # a run recorded before run.json existed keeps its place as its number
    (first.path / "run.json").unlink()
    assert load_history(project)[0].name == "Run 1"
    assert rename_run(project, first.id, "baseline") == "baseline"
    assert json.loads((first.path / "run.json").read_text()) == {"number": 1, "name": "baseline"}
    with pytest.raises(HistoryError, match="at most 200 characters"):
        rename_run(project, first.id, "x" * 201)
    with pytest.raises(HistoryError, match="has no run folder 'nope'"):
        rename_run(project, "nope", "x")
    with pytest.raises(HistoryError, match="is not a run id"):
        rename_run(project, "../m.runs", "x")


def test_delete_removes_the_folder_and_the_entry(project: Path) -> None:
    first, second, third = load_history(project)
    delete_run(project, second.id)
    assert not second.path.exists()
    assert [e["id"] for e in load_project(project).runs] == [first.id, third.id]
    assert [r.name for r in load_history(project)] == ["Run 1", "Run 3"]
    assert not list(project.with_suffix(".runs").glob(".*"))
    with pytest.raises(HistoryError, match=f"has no run '{second.id}'"):
        delete_run(project, second.id)
    # numbers are not reused: the next run is the fourth
    assert new_run(project).read_meta() == {"number": 4}
    with pytest.raises(HistoryError, match="is not a run id"):
        delete_run(project, "..")


def test_delete_refuses_a_run_that_is_training(project: Path) -> None:
    run = load_history(project)[-1]
    status = json.loads((run.path / "status.json").read_text())
    status.update(status="running", pid=os.getpid())
    (run.path / "status.json").write_text(json.dumps(status))
    with pytest.raises(
        HistoryError, match=r"^Run 3 \(.*\) is training: stop it before deleting it$"
    ):
        delete_run(project, run.id)
    assert run.path.is_dir() and len(load_project(project).runs) == 3
    # a starting run (its folder just made, nothing trained yet) is training too
    starting = new_run(project)
    assert load_history(project)[-1].status == "running"
    with pytest.raises(HistoryError, match="is training"):
        delete_run(project, starting.id)


def test_delete_with_the_callers_runs_list_and_an_entry_without_folder(project: Path) -> None:
    first, second, _ = load_history(project)
    doc = load_project(project)
    before = project.read_bytes()
    delete_run(project, first.id, entries=doc.runs)
    assert not first.path.exists() and project.read_bytes() == before  # the caller saves
    assert first.id not in [e["id"] for e in doc.runs]
    shutil.rmtree(second.path)
    assert find_summary(project, second.id).status == "failed"
    delete_run(project, second.id)
    assert second.id not in [e["id"] for e in load_project(project).runs]
    entries: list[dict[str, Any]] = [{"id": "a"}, {"id": "b"}]
    assert drop_entry(entries, "a") and entries == [{"id": "b"}]
    assert not drop_entry(entries, "a")


def test_a_failed_project_save_puts_the_folder_back(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.core.project as project_module

    def fail(*args: Any) -> None:
        raise project_module.ProjectError(f"{project}: cannot be saved (No space left on device)")

    monkeypatch.setattr(project_module, "save_project", fail)
    run = load_history(project)[0]
    with pytest.raises(HistoryError, match=r"^Run 1 \(.*\) was not deleted: .*No space left"):
        delete_run(project, run.id)
    assert run.path.is_dir() and not list(project.with_suffix(".runs").glob(".*"))
    assert load_history(project)[0].status == "finished"
