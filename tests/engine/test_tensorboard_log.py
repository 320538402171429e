"""TensorBoard curves: read back with TensorBoard's own reader, per epoch, across an exact resume, and never failing a run."""

from __future__ import annotations

import errno
import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.engine.boring import BoringModel, make_prepared
from tests.engine.test_resume import build, config, run_child, save_dataset
from workbench.engine.tensorboard_log import EventWriter, event_files, tag_for
from workbench.engine.trainer import (
    Callback,
    ModelCheckpoint,
    TrainConfig,
    Trainer,
    seed_everything,
)

SPEED = ("speed/epoch_seconds", "speed/samples_per_s")


def scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in the folder's event files as TensorBoard reads them, duplicates kept."""
    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0}, purge_orphaned_data=False)
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def rows(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def boring(run_dir: Path, epochs: int = 3, callbacks: list[Callback] | None = None) -> Trainer:
    seed_everything(0)
    cfg = TrainConfig(epochs=epochs, batch_size=4, device="cpu", cpu_threads=1)
    return Trainer(BoringModel(), make_prepared(), cfg, callbacks or [], run_dir)


def test_tags() -> None:
    assert tag_for("train_loss") == "loss/train" and tag_for("val_loss") == "loss/val"
    assert (
        tag_for("val_accuracy") == "val/accuracy"
        and tag_for("val_top5_accuracy") == "val/top5_accuracy"
    )
    assert tag_for("lr") == "optim/lr" and tag_for("epoch_seconds") == "speed/epoch_seconds"
    assert tag_for("test_accuracy") == "test/accuracy" and tag_for("epoch") is None


def test_every_epoch_is_an_event_tensorboard_reads(tmp_path: Path) -> None:
    run = tmp_path / "run"
    boring(run).fit()
    (event_file,) = event_files(run)
    assert "tfevents" in event_file.name
    read = scalars(run)
    logged = rows(run)
    assert set(read) == {
        "loss/train", "loss/val", "val/accuracy", "val/precision", "val/recall", "val/f1",
        "optim/lr", *SPEED,
    }  # fmt: skip
    for key in ("train_loss", "val_loss", "val_accuracy", "lr", "epoch_seconds"):
        tag = tag_for(key)
        assert tag is not None
        assert [step for step, _ in read[tag]] == [1, 2, 3]
        assert [value for _, value in read[tag]] == pytest.approx(
            [row[key] for row in logged], rel=1e-6
        )


class KillAtEpochEnd(Callback):
    """Ends the process at once at the end of an epoch, before its checkpoints are written."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        if metrics["epoch"] == self.epoch:
            os._exit(1)


def killed_job(data_path: str, run_dir: str, epochs: int, kill_at: int) -> None:
    """What the child runs: killed after epoch ``kill_at`` was logged but before its checkpoint."""
    model, prepared = build(data_path)
    trainer = Trainer(model, prepared, config(epochs), [], run_dir)
    at = next(i for i, cb in enumerate(trainer.callbacks) if isinstance(cb, ModelCheckpoint))
    trainer.callbacks.insert(at, KillAtEpochEnd(kill_at))
    trainer.fit()


def test_an_exact_resume_continues_the_same_curves_without_duplicate_steps(tmp_path: Path) -> None:
    data = save_dataset(tmp_path / "data.pt")
    run = tmp_path / "killed"
    child = run_child(
        "from tests.engine.test_tensorboard_log import killed_job; "
        f"killed_job({str(data)!r}, {str(run)!r}, 5, 3)"
    )
    assert child.returncode == 1, child.stderr
    # epoch 3 reached the curves (and metrics.jsonl), but the last checkpoint is epoch 2's
    assert [step for step, _ in scalars(run)["loss/train"]] == [1, 2, 3]

    model, prepared = build(data)
    Trainer.from_checkpoint(model, prepared, run / "checkpoints" / "last.pt", run_dir=run).fit()
    model, prepared = build(data)
    Trainer(model, prepared, config(5), run_dir=tmp_path / "reference").fit()

    assert len(event_files(run)) == 1
    resumed, reference = scalars(run), scalars(tmp_path / "reference")
    assert set(resumed) == set(reference)
    for tag in resumed:
        assert [step for step, _ in resumed[tag]] == [1, 2, 3, 4, 5], tag
        if tag not in SPEED:
            assert resumed[tag] == reference[tag], tag
    assert [v for _, v in resumed["loss/train"]] == pytest.approx(
        [row["train_loss"] for row in rows(run)], rel=1e-6
    )


def test_training_more_epochs_extends_the_curves(tmp_path: Path) -> None:
    run = tmp_path / "run"
    trainer = boring(run, epochs=2)
    trainer.fit()
    trainer.extend(2)
    trainer.fit()
    assert len(event_files(run)) == 1
    assert [step for step, _ in scalars(run)["loss/val"]] == [1, 2, 3, 4]


def test_a_curve_that_cannot_be_written_does_not_fail_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    write = EventWriter.write

    def full_disk(self: EventWriter, step: int, values: dict[str, Any]) -> None:
        if step == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        write(self, step, values)

    monkeypatch.setattr(EventWriter, "write", full_disk)
    run = tmp_path / "run"
    with caplog.at_level(logging.WARNING):
        result = boring(run).fit()
    assert result.status == "finished" and result.epochs_done == 3
    assert [r["epoch"] for r in rows(run)] == [1, 2, 3]
    assert [r.getMessage() for r in caplog.records] == [
        "run run: the TensorBoard curves are not written from here on (No space left on device)"
    ]
    assert [step for step, _ in scalars(run)["loss/train"]] == [1]


def test_an_event_file_that_cannot_be_created_does_not_fail_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(self: EventWriter, folder: Path, purge: bool = False) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(folder))

    monkeypatch.setattr(EventWriter, "__init__", refuse)
    with caplog.at_level(logging.WARNING):
        result = boring(tmp_path / "run").fit()
    assert result.status == "finished"
    assert [r.getMessage() for r in caplog.records] == [
        "run run: the TensorBoard curves are not written from here on (permission denied)"
    ]


def test_event_files_that_cannot_be_removed_are_hidden_by_a_restart_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = tmp_path / "run"
    trainer = boring(run, epochs=2)
    trainer.fit()
    unlink = Path.unlink

    def locked(self: Path, missing_ok: bool = False) -> None:
        if self.name.startswith("events.out.tfevents."):
            raise PermissionError(errno.EACCES, "in use by another program", str(self))
        unlink(self, missing_ok)

    monkeypatch.setattr(Path, "unlink", locked)
    trainer.extend(2)
    trainer.fit()
    assert len(event_files(run)) == 2
    # TensorBoard drops the older file's events at the marker: no step twice
    acc = EventAccumulator(str(run), size_guidance={"scalars": 0})
    acc.Reload()
    assert [e.step for e in acc.Scalars("loss/train")] == [1, 2, 3, 4]
    assert [step for step, _ in scalars(run)["loss/train"]] == [1, 2, 1, 2, 3, 4]
