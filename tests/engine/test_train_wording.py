"""What the Train tab says, worded without Qt (:mod:`workbench.engine.train_wording`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.document import Document
from workbench.core.templates import make_project
from workbench.engine.train_wording import (
    CardText,
    batch_text,
    dataset_name,
    empty_card,
    ended_progress_text,
    ended_text,
    epoch_line,
    form_note,
    interrupted_text,
    last_run_text,
    memory_text,
    metric_title,
    prepare_text,
    run_action,
    start_hint,
    start_lines,
    start_problem,
    status_message,
)


def with_data(path: str = "data/table.csv") -> Document:
    doc = Document(make_project("mlp"), Path("/projects/net.wbproj"))
    doc.project.dataset = {"path": path}
    return doc


@pytest.mark.parametrize(
    ("key", "title"),
    [
        ("val_accuracy", "accuracy"),
        ("val_top3_accuracy", "top-3 accuracy"),
        ("val_r2", "R²"),
        ("val_rmse", "RMSE"),
        ("val_f1", "F1"),
        ("val_some_metric", "some metric"),
    ],
)
def test_metric_titles(key, title):
    assert metric_title(key) == title


def test_start_problems_name_what_to_do_first():
    assert start_problem(None) == "Open a project first."
    doc = Document(make_project("mlp"))
    assert start_problem(doc) == "Import a dataset first (Data tab)."
    doc = with_data()
    assert start_problem(doc) is None
    doc.graph.remove_node(doc.graph.of_type("Output")[0].id)
    assert start_problem(doc) == "The model needs an Input and an Output layer (Model tab)."


def test_a_model_with_errors_cannot_start():
    doc = with_data()
    doc.edit("Delete", lambda g: g.remove_node("relu_1"))  # dropout_1's input is left open
    n = len(doc.analysis.errors)
    assert n >= 1
    errors = f"{n} error{'s' if n != 1 else ''}"
    assert start_problem(doc) == f"Fix the model's {errors} first (Model tab)."


def test_the_dataset_is_named_by_its_file():
    assert dataset_name(None) is None
    assert dataset_name(Document(make_project("mlp"))) is None
    assert dataset_name(with_data("data/table.csv")) == "table.csv"
    assert dataset_name(with_data("/images/fruit/")) == "fruit"


def test_the_empty_card_says_what_to_do_next():
    no_data = Document(make_project("mlp"))
    card = empty_card(no_data, start_problem(no_data), False, None)
    assert card.title == "Import a dataset first (Data tab)" and card.data_button
    doc = with_data()
    card = empty_card(doc, "The model needs an Input and an Output layer (Model tab).", False, "t")
    assert card == CardText(
        "The model is not ready to train",
        "The model needs an Input and an Output layer (Model tab).",
    )
    card = empty_card(doc, None, True, "table.csv")
    assert card.title == "Resume the interrupted run, or Start a new one"
    card = empty_card(doc, None, False, "table.csv")
    assert card.title == "Press Start to train net on table.csv" and not card.data_button


def test_the_hint_beside_start():
    assert start_hint(True, "Import a dataset first (Data tab).", None, False) == ""
    assert start_hint(False, "Import a dataset first.", None, False) == "Import a dataset first."
    assert (
        start_hint(False, None, "failed", False) == "The last run failed; Start begins a new one."
    )
    assert start_hint(False, None, "failed", True) == ""
    assert start_hint(False, None, "finished", False) == ""
    assert form_note(True).startswith("The run in progress keeps")
    assert form_note(False) == "Changes apply to the next run."


def test_lines_about_runs_before_they_start():
    assert last_run_text("r1", "stopped") == "Last run r1: stopped"
    assert last_run_text("r1", None) == "Last run r1: unknown"
    text = interrupted_text("Run r1 was interrupted after epoch 2 of 5.")
    assert text.startswith("Run r1 was interrupted after epoch 2 of 5. Its process ended")
    assert run_action(True, "table.csv") == "Starting a new run on table.csv"
    assert run_action(False, "") == "Continuing the last run"
    assert run_action(False, "d.npz", "Resuming run r1") == "Resuming run r1 on d.npz"


def test_a_run_start_is_logged_with_its_sizes_and_notes():
    info = {
        "device": "cpu",
        "num_train": 1200,
        "num_val": 300,
        "batches_per_epoch": 150,
        "batch_size": 8,
        "epoch": 2,
        "epochs": 10,
        "run_id": "r1",
        "notes": ["3 rows without a label were left out"],
    }
    assert start_lines(info) == [
        "Training on cpu: 1,200 training and 300 validation samples, 150 batches of 8 per "
        "epoch, epochs 3–10 (run r1)",
        "Note: 3 rows without a label were left out",
    ]


def test_an_epoch_line_lists_its_metrics_then_rate_and_time():
    row = {
        "epoch": 3,
        "train_loss": 0.41234,
        "val_loss": 0.45,
        "val_accuracy": None,
        "lr": 0.001,
        "epoch_seconds": 1.234,
        "samples_per_s": 5000.0,
    }
    line = "Epoch 3/10 · train_loss 0.4123 · val_loss 0.45 · lr 0.001 · 1.2 s"
    assert epoch_line(row, 10) == line
    assert epoch_line(row, 10, best_epoch=3) == line + "  ★ best so far"
    assert epoch_line(row, 10, best_epoch=2) == line


def test_progress_texts():
    assert prepare_text(1500, 3000) == "Preparing the data… 1,500/3,000"
    assert batch_text(3, 10, 1200, 4000) == "Epoch 3/10 · batch 1,200/4,000"
    assert batch_text(0, 10, 0, 5) == "Epoch 1/10 · batch 0/5"  # before the first epoch
    assert batch_text(11, 10, 5, 5) == "Epoch 10/10 · batch 5/5"
    assert memory_text(1536 * 1024**2, 2 * 1024**3, 80 * 1024**3) == (
        "GPU 1.5 GB (peak 2.0 GB) of 80.0 GB"
    )


def test_how_a_run_ended():
    assert ended_text("finished") == "Finished" and ended_text("odd") == "odd"
    assert ended_progress_text("failed", 3, 4, True) == "Failed"
    assert ended_progress_text("finished", 1, 1, True) == "Finished · 1 epoch"
    assert ended_progress_text("finished", 1000, 1000, True) == "Finished · 1000 epochs"
    assert ended_progress_text("stopped", 4, 5, True) == "Stopped at epoch 5 · 4 epochs complete"
    assert ended_progress_text("stopped", 0, 0, True) == "Stopped at epoch 1 · 0 epochs complete"
    assert ended_progress_text("stopped", 0, 0, False) == "Stopped · 0 epochs"


def test_the_status_bar_says_how_a_run_ended():
    assert status_message("failed", "loss became NaN") == "Training failed: loss became NaN"
    assert status_message("stopped", "stopped at epoch 5, batch 12") == (
        "Training stopped at epoch 5, batch 12"
    )
    assert status_message("finished", "10 epochs") == "Training finished: 10 epochs"


def test_the_test_split_in_one_line() -> None:
    from workbench.engine.train_wording import split_results_text

    assert split_results_text(None) is None and split_results_text({}) is None
    classification = {"split": "test", "num_samples": 150, "accuracy": 0.95333, "macro_f1": 0.9531}
    assert split_results_text({**classification, "weights_epoch": 3}) == (
        "Test (150 samples, weights of epoch 3): accuracy 0.9533, macro F1 0.9531"
    )
    regression = {"split": "test", "num_samples": 1, "mae": 1234.5, "rmse": 2000.1, "r2": 0.85}
    assert split_results_text(regression) == "Test (1 sample): MAE 1234, RMSE 2000, R² 0.8500"
    none = {"split": "test", "num_samples": 0, "note": "the dataset has no test split"}
    assert split_results_text(none) == "No test results: the dataset has no test split"
