"""The Runs panel's words and order without Qt: cells, sorting, the metric picker, questions, notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from workbench.engine.history import Curves, RunSummary
from workbench.engine.history_wording import (
    COLUMNS,
    NONE,
    cell_text,
    cell_tip,
    column_title,
    compare_hint,
    count_text,
    curve_choices,
    curve_title,
    default_curve,
    delete_question,
    differ_tip,
    duration_text,
    past_progress_text,
    past_status,
    restored_status,
    setting_column,
    setting_names,
    setting_text,
    shared_settings,
    shown_run_text,
    sort_key,
    start_weights_text,
)


def run(number: int, **fields: Any) -> RunSummary:
    defaults: dict[str, Any] = {
        "id": f"20260101-12000{number}",
        "name": f"Run {number}",
        "path": Path(f"/p/m.runs/20260101-12000{number}"),
        "status": "finished",
        "started": f"2026-01-01T12:00:0{number}",
        "duration": 4.25,
        "device": "cpu",
        "epochs": 3,
        "epochs_planned": 3,
        "best_metric": ("val_accuracy", 0.91234),
        "best_epoch": 2,
        "monitor": "val_loss",
        "best_value": 0.31,
        "hyperparameters": {"lr": 0.001, "optimizer": "adam", "batch_size": 64},
    }
    defaults.update(fields)
    return RunSummary(**defaults)


def test_each_cell_of_a_run():
    r = run(1, test={"accuracy": 0.9, "loss": 0.3}, resumed=1)
    texts = {c.key: cell_text(r, c.key) for c in COLUMNS}
    assert texts == {
        "name": "Run 1",
        "started": "2026-01-01 12:00",
        "duration": "4.2 s",
        "device": "cpu",
        "status": "finished, resumed",
        "epochs": "3/3",
        "best": "accuracy 0.9123",
        "test": "accuracy 0.9",
    }
    assert cell_text(r, setting_column("lr")) == "0.001"
    assert cell_text(r, setting_column("missing")) == NONE
    assert cell_tip(r, "best") == "at epoch 2; best val_loss 0.31"
    assert cell_tip(r, "test") == "accuracy 0.9, loss 0.3"
    assert cell_tip(r, "name").startswith("Run 1 (20260101-120001)")
    bare = run(2, started=None, duration=None, device=None, best_metric=None, epochs_planned=None)
    assert [cell_text(bare, k) for k in ("started", "duration", "device", "best", "test")] == [
        NONE
    ] * 5
    assert cell_text(bare, "epochs") == "3"
    with pytest.raises(KeyError):
        cell_text(r, "nope")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "default"),
        (True, "yes"),
        (False, "no"),
        (64, "64"),
        (0.0001, "0.0001"),
        (1e-06, "1e-06"),
        ("adam", "adam"),
        (["accuracy", "f1"], "accuracy, f1"),
        ([], NONE),
    ],
)
def test_setting_values(value, text):
    assert setting_text(value) == text


def test_durations():
    assert duration_text(None) == NONE
    assert duration_text(0.04) == "0.0 s"
    assert duration_text(59.94) == "59.9 s"
    assert duration_text(3725) == "1:02:05"


def test_sorting_puts_numbers_in_order_and_missing_values_last():
    a = run(1, duration=100.0, best_metric=("val_accuracy", 0.5), status="failed")
    b = run(2, duration=9.0, best_metric=None, status="finished")
    c = run(3, duration=None, best_metric=("val_accuracy", 0.9), status="running")
    runs = [a, b, c]

    def order(key: str) -> list[str]:
        return [r.name for r in sorted(runs, key=lambda r: sort_key(r, key))]

    assert order("duration") == ["Run 2", "Run 1", "Run 3"]  # 9 before 100, none last
    assert order("best") == ["Run 1", "Run 3", "Run 2"]
    assert order("status") == ["Run 3", "Run 2", "Run 1"]  # running, finished, failed
    assert order("started") == ["Run 1", "Run 2", "Run 3"]
    # a setting that is a number in some runs and a word in others still sorts
    b.hyperparameters["lr"] = "auto"
    assert order(setting_column("lr")) == ["Run 1", "Run 3", "Run 2"]
    assert sort_key(a, "name") < sort_key(b, "name")


def test_settings_shared_and_differing():
    a, b = run(1), run(2, hyperparameters={"lr": 0.01, "optimizer": "adam", "batch_size": 64})
    c = run(3, hyperparameters={"lr": 0.001, "optimizer": "adam", "batch_size": 64, "seed": 1})
    assert setting_names([a, b, c]) == ["lr", "optimizer", "batch_size", "seed"]
    assert shared_settings([a, b, c]) == {"optimizer", "batch_size"}
    assert shared_settings([a]) == set()  # one run shares nothing worth hiding
    assert (
        differ_tip("lr", [a, b]) == "lr differs between the selected runs: Run 1 0.001, Run 2 0.01"
    )
    assert differ_tip("seed", [a, c]).endswith(f"Run 1 {NONE}, Run 3 1")
    assert column_title(setting_column("lr")) == "lr" and column_title("best") == "Best validation"


def test_the_metric_picker_offers_validation_metrics_first():
    first = Curves("a", "A", [1], {"train_loss": [1.0], "val_loss": [1.0], "lr": [0.1]})
    first.series.update({"val_accuracy": [0.5], "epoch_seconds": [0.1], "samples_per_s": [9.0]})
    second = Curves("b", "B", [1], {"val_f1": [0.4], "train_accuracy": [0.6]})
    choices = curve_choices([first, second])
    assert choices == ["val_accuracy", "val_f1", "lr", "train_accuracy", "samples_per_s"]
    assert [curve_title(k) for k in choices] == [
        "validation accuracy",
        "validation F1",
        "learning rate",
        "training accuracy",
        "samples per second",
    ]
    assert default_curve(choices, [run(1, best_metric=("val_f1", 0.4))]) == "val_f1"
    assert default_curve(choices, [run(1, best_metric=("val_r2", 0.4))]) == "val_accuracy"
    assert default_curve([], []) is None


def test_the_panel_s_lines():
    assert count_text(0, loading=True) == "Reading runs…"
    assert count_text(1, loading=False) == "1 run" and count_text(3, loading=True) == "3 runs"
    assert compare_hint(0, 0) == ""
    assert compare_hint(0, 3).startswith("Select runs")
    assert compare_hint(2, 3) == "2 runs overlaid: one colour per run."
    assert delete_question(["Run 2"])[0] == "Delete “Run 2”?"
    question, detail = delete_question(["Run 1", "Run 2"])
    assert question == "Delete 2 runs (Run 1, Run 2)?" and "cannot be undone" in detail
    assert "Edit ▸ Undo" in restored_status("Run 1", True, 3)
    assert "trains a new run from its trained weights" in restored_status("Run 1", True, 3)
    assert "already holds" in restored_status("Run 1", False, 3)
    assert "from scratch" in restored_status("Run 1", True, None)
    assert start_weights_text("Run 1", "r1", "last.pt", 3) == (
        "The next Start trains a new run from the weights of “Run 1” (r1, last.pt, epoch 3), "
        "restored into the builder."
    )


def test_what_the_train_tab_says_about_a_past_run():
    r = run(3, status="early-stopped", epochs=7, epochs_planned=20)
    assert past_status(r) == "Early-stopped"
    assert past_progress_text(r) == "Early-stopped · 7/20 epochs"
    assert past_progress_text(run(1, epochs=1, epochs_planned=1)) == "Finished · 1/1 epoch"
    assert shown_run_text(r) == (
        "Showing Run 3 (20260101-120003): early-stopped · 7 epochs · best accuracy 0.9123 · "
        "started 2026-01-01 12:00"
    )
