"""The run in progress as the window knows it, from its feed's events, without Qt
(:mod:`workbench.engine.run_progress`)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.engine.run_progress import RunProgress, Throughput


def start_info(**changes):
    info = {
        "run_id": "r1",
        "device": "cpu",
        "epochs": 4,
        "epoch": 0,
        "global_step": 0,
        "batches_per_epoch": 10,
        "batch_size": 8,
        "num_train": 80,
        "num_val": 20,
        "history": [],
        "notes": [],
        "total_memory": None,
    }
    info.update(changes)
    return info


def batches(step: int, epoch: int, batch: int, time: float, **extra):
    info = {"epoch": epoch, "batch": batch, "global_step": step, "lr": 1e-3, "time": time}
    info.update(extra)
    return ("batches", np.arange(step - 1, step + 1.0), np.ones(2), info)


def test_the_speed_is_measured_over_the_last_seconds():
    speed = Throughput(window=3.0)
    assert speed.rate() == 0.0
    speed.add(0.0, 0)
    assert speed.rate() == 0.0  # one point is no speed
    speed.add(1.0, 100)
    speed.add(2.0, 300)
    assert speed.rate() == pytest.approx(150.0)
    speed.add(5.0, 900)
    speed.trim(5.0)  # the points older than 3 s go
    assert len(speed) == 2 and speed.rate() == pytest.approx(200.0)
    speed.trim(100.0)
    assert len(speed) == 2  # two are always kept
    speed.clear()
    assert len(speed) == 0


def test_events_keep_the_counters_and_give_the_log_lines():
    run = RunProgress()
    run.begin(new=True)
    assert not run.started and run.batches_per_epoch == 1
    assert run.apply(("prepare", 50, 100)) == []
    assert run.preparing() == (50, 100, "Preparing the data… 50/100")
    lines = run.apply(("start", start_info(notes=["a note"])))
    assert lines[0].startswith("Training on cpu: 80 training and 20 validation samples")
    assert lines[1:] == ["Note: a note"]
    assert run.started and run.epochs_total == 4 and run.batches_per_epoch == 10
    assert run.total_steps() == 40
    assert run.apply(("epoch_start", 1, 0.0)) == []
    assert run.epoch == 1 and run.batch == 0
    run.apply(batches(5, 1, 5, time=10.0))
    assert (run.global_step, run.epoch, run.batch) == (5, 1, 5)
    assert run.progress_text() == "Epoch 1/4 · batch 5/10"
    assert run.apply(("checkpoint", "best", 0)) == []
    assert run.best_epoch == 1  # written before the epoch counts as done
    (line,) = run.apply(("epoch", {"epoch": 1, "train_loss": 0.5, "lr": 1e-3}))
    assert line.startswith("Epoch 1/4 · train_loss 0.5") and line.endswith("★ best so far")
    assert [r["epoch"] for r in run.rows] == [1]
    assert run.apply(("log", "Saved a checkpoint")) == ["Saved a checkpoint"]
    assert run.apply(("end", "finished", "finished after 4 epochs")) == ["Finished after 4 epochs"]
    assert not run.failure_logged
    assert run.apply(("error", "loss became NaN")) == ["Failed: loss became NaN"]
    assert run.failure_logged
    run.end()
    assert not run.started and run.rows  # the rows stay for the ended run's display


def test_a_continued_run_starts_from_its_history():
    run = RunProgress()
    run.begin(new=True)
    history = [{"epoch": 1, "train_loss": 1.0}, {"epoch": 2, "train_loss": 0.8}]
    run.apply(("start", start_info(epoch=2, global_step=20, epochs=5, history=history)))
    assert run.rows == history and run.rows is not history
    assert (run.epoch, run.global_step, run.epochs_total) == (2, 20, 5)
    run.begin(new=False)  # Train more on the same display keeps its rows
    assert run.rows == history
    run.begin(new=True)
    assert run.rows == []


def test_the_figures_beside_the_bar():
    run = RunProgress()
    run.apply(("start", start_info(total_memory=80 * 1024**3)))
    assert run.stats_text() == ""  # no speed yet
    assert run.stats_text(paused=True) == "paused"
    run.apply(batches(10, 1, 10, time=0.0))
    run.apply(batches(20, 2, 10, time=1.0, memory=1024**3, peak_memory=2 * 1024**3))
    # 10 steps/s: 20 steps left → 2 s, no epoch finished yet so no validation time to add
    assert run.stats_text() == "ETA 0:00:02 · 80 samples/s"
    assert run.memory_text() == "GPU 1.0 GB (peak 2.0 GB) of 80.0 GB"
    run.apply(("epoch", {"epoch": 1, "epoch_seconds": 3.0, "samples_per_s": 40.0}))
    assert run.validation_seconds() == pytest.approx(1.0)  # 3 s, of which 80 / 40 training
    assert run.eta_seconds(10.0) == pytest.approx(2.0 + 1.0 * 3)


def test_memory_is_shown_only_for_a_run_that_reports_it():
    run = RunProgress()
    run.apply(("start", start_info()))
    run.apply(batches(1, 1, 1, time=0.0))
    assert run.memory_text() is None
