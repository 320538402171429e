"""How the Train tab words things, without Qt: why Start cannot be pressed, what the empty
chart says, the run's log lines, its progress and how it ended.

The Train tab (:mod:`workbench.ui.train`) shows these strings as they are; keeping them
here lets them be tested without a window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.text import human_bytes, plural

if TYPE_CHECKING:
    from workbench.core.document import Document

#: The status beside the progress bar while a run is on, by the controller's state.
STATE_TEXT = {
    "starting": "Starting…",
    "running": "Training",
    "paused": "Paused",
    "stopping": "Stopping…",
}
#: How a run ended, as the status beside the progress bar says it.
ENDED_TEXT = {"finished": "Finished", "stopped": "Stopped", "failed": "Failed"}
START_TIP = "Train a new run with these settings"


def metric_title(key: str) -> str:
    """A metric key as a legend names it: ``val_top3_accuracy`` → ``top-3 accuracy``."""
    name = key.removeprefix("val_")
    if name.startswith("top") and name.endswith("_accuracy"):
        return f"top-{name[3:-9]} accuracy"
    return {"mae": "MAE", "rmse": "RMSE", "r2": "R²", "f1": "F1"}.get(name, name.replace("_", " "))


# --- before a run -----------------------------------------------------------------------------


def dataset_name(document: Document | None) -> str | None:
    """The file or folder name of the document's dataset, or None without one."""
    if document is None or not document.project.dataset:
        return None
    path = str(document.project.dataset.get("path") or "")
    return Path(path).name or path or None


def start_problem(document: Document | None) -> str | None:
    """Why Start cannot be pressed for ``document``, or None when it can."""
    if document is None:
        return "Open a project first."
    if not document.project.dataset:
        return "Import a dataset first (Data tab)."
    if not document.graph.of_type("Input") or not document.graph.of_type("Output"):
        return "The model needs an Input and an Output layer (Model tab)."
    if document.analysis.errors:
        n = len(document.analysis.errors)
        return f"Fix the model's {n} error{'s' if n != 1 else ''} first (Model tab)."
    return None


@dataclass(frozen=True)
class CardText:
    """What the card over the empty chart says, and whether it offers the Data tab."""

    title: str
    text: str
    data_button: bool = False


def empty_card(
    document: Document, problem: str | None, can_resume: bool, dataset: str | None
) -> CardText:
    """The card over the empty chart: what to do next.

    Args:
        document: The project shown.
        problem: Why Start cannot be pressed (:func:`start_problem`), or None.
        can_resume: Whether the project's newest run was interrupted and can be resumed.
        dataset: The dataset's name (:func:`dataset_name`).
    """
    if problem is not None and not document.project.dataset:
        return CardText(
            "Import a dataset first (Data tab)",
            "Training needs data: import a folder of images or a CSV, Parquet or NPZ file, "
            "or try a sample dataset. The model's input and output adapt to it.",
            data_button=True,
        )
    if problem is not None:
        return CardText("The model is not ready to train", problem)
    if can_resume:
        return CardText(
            "Resume the interrupted run, or Start a new one",
            "Resume interrupted run continues it from its last checkpoint with the settings "
            "it started with; its curves so far come back. Start trains a new run with the "
            "settings on the left.",
        )
    return CardText(
        f"Press Start to train {document.name} on {dataset}",
        "The curves of the training loss, validation loss, metrics and learning rate "
        "appear here while the model trains. Runs are saved beside the project.",
    )


def start_hint(
    running: bool, problem: str | None, last_status: str | None, can_train_more: bool
) -> str:
    """The note beside the buttons: why Start is disabled, or that the last run failed."""
    if running:
        return ""
    if problem is not None:
        return problem
    if last_status == "failed" and not can_train_more:
        return "The last run failed; Start begins a new one."
    return ""


def form_note(running: bool) -> str:
    """The note under the settings' heading."""
    return (
        "The run in progress keeps the settings it started with."
        if running
        else "Changes apply to the next run."
    )


def last_run_text(run_id: str, status: str | None) -> str:
    """``Last run 20260101-120000: finished``: the project's newest run, before a new one."""
    return f"Last run {run_id}: {status or 'unknown'}"


def interrupted_text(description: str) -> str:
    """The banner for an interrupted run (``description``: ``Interrupted.describe()``)."""
    return (
        f"{description} Its process ended while it trained. "
        "Resume interrupted run continues it from its last checkpoint; Start begins a new run."
    )


# --- during a run -----------------------------------------------------------------------------


def run_action(new: bool, dataset: str, action: str | None = None) -> str:
    """The log's first line for a run: ``Starting a new run on digits.csv``."""
    if action is None:
        action = "Starting a new run" if new else "Continuing the last run"
    return action + (f" on {dataset}" if dataset else "")


def start_lines(info: Mapping[str, Any]) -> list[str]:
    """The log's lines for a run's ``start`` event: device, sizes, epochs, then its notes."""
    bpe = max(1, int(info["batches_per_epoch"]))
    samples = f"{info['num_train']:,} training and {info['num_val']:,} validation samples"
    lines = [
        f"Training on {info['device']}: {samples}, {bpe:,} batches of {info['batch_size']} per "
        f"epoch, epochs {int(info['epoch']) + 1}–{int(info['epochs'])} (run {info['run_id']})"
    ]
    lines += [f"Note: {note}" for note in info.get("notes") or []]
    return lines


def epoch_line(row: Mapping[str, Any], epochs_total: int, best_epoch: int | None = None) -> str:
    """An epoch's log line: ``Epoch 3/10 · train_loss 0.41 · val_loss 0.45 · lr 0.001 · 1.2 s``."""
    parts = [f"Epoch {row['epoch']}/{epochs_total}"]
    for key, value in row.items():
        if key in ("epoch", "epoch_seconds", "samples_per_s", "lr") or value is None:
            continue
        parts.append(f"{key} {value:.4g}")
    parts.append(f"lr {row.get('lr', 0):.3g}")
    parts.append(f"{row.get('epoch_seconds', 0):.1f} s")
    line = " · ".join(parts)
    if best_epoch == row["epoch"]:
        line += "  ★ best so far"
    return line


def prepare_text(done: int, total: int) -> str:
    """The progress bar's text while the data is prepared."""
    return f"Preparing the data… {done:,}/{total:,}"


def batch_text(epoch: int, epochs_total: int, batch: int, batches_per_epoch: int) -> str:
    """The progress bar's text while training: ``Epoch 3/10 · batch 120/400``."""
    shown = max(1, min(epoch, epochs_total))
    return f"Epoch {shown}/{epochs_total} · batch {batch:,}/{batches_per_epoch:,}"


def memory_text(used: int, peak: int, total: int) -> str:
    """The GPU memory beside the progress bar."""
    return f"GPU {human_bytes(used)} (peak {human_bytes(peak)}) of {human_bytes(total)}"


# --- after a run ------------------------------------------------------------------------------


def ended_text(status: str) -> str:
    """``Finished``, ``Stopped`` or ``Failed`` (another status as it is)."""
    return ENDED_TEXT.get(status, status)


def ended_progress_text(status: str, epochs_done: int, epoch: int, trained: bool) -> str:
    """The progress bar's text once a run ended.

    Args:
        status: How it ended.
        epochs_done: The epochs complete.
        epoch: The epoch that was in progress (1-based).
        trained: Whether training had begun (the run reported its start).
    """
    if status == "failed":
        return "Failed"
    done = plural(epochs_done, "epoch", sep="")
    if status == "stopped" and trained:
        # Named as the status bar names it (the trainer's "stopped at epoch 5, batch 12"):
        # the epoch in progress, and how many epochs were complete.
        at = max(epoch, epochs_done, 1)
        return f"Stopped at epoch {at} · {done} complete"
    return f"{ended_text(status)} · {done}"


def status_message(status: str, message: str) -> str:
    """The status bar's line once a run ended: ``Training finished: 10 epochs …``."""
    if status == "failed":
        return f"Training failed: {message}"
    if not message.startswith(status):  # "stopped at epoch 5, batch 12; …"
        message = f"{status}: {message}"
    return f"Training {message}"


def split_results_text(test: Mapping[str, Any] | None) -> str | None:
    """The test split's figures when a run ended (the runs entry's ``test``), in one line.

    ``Test (150 samples, best epoch's weights): accuracy 0.9533, macro F1 0.9531``; for
    regression MAE, RMSE and R²; when the split could not be evaluated, why (for example
    ``No test results: the dataset has no test split``); None when there is no record.
    """
    if not test:
        return None
    note = test.get("note")
    if note:
        return f"No test results: {note}"
    n = int(test.get("num_samples") or 0)
    epoch = test.get("weights_epoch")
    weights = f", weights of epoch {epoch}" if epoch else ""
    head = f"Test ({n:,} sample{'s' if n != 1 else ''}{weights})"

    def fmt(key: str, title: str, spec: str = ".4f") -> str | None:
        v = test.get(key)
        return f"{title} {v:{spec}}" if isinstance(v, int | float) else None

    if "accuracy" in test:
        parts = [
            fmt("accuracy", "accuracy"),
            fmt("macro_f1", "macro F1"),
            fmt("log_loss", "log loss"),
        ]
    else:
        parts = [fmt("mae", "MAE", ".4g"), fmt("rmse", "RMSE", ".4g"), fmt("r2", "R²")]
    figures = ", ".join(p for p in parts if p)
    return f"{head}: {figures}" if figures else head


__all__ = [
    "split_results_text",
    "ENDED_TEXT",
    "START_TIP",
    "STATE_TEXT",
    "CardText",
    "batch_text",
    "dataset_name",
    "empty_card",
    "ended_progress_text",
    "ended_text",
    "epoch_line",
    "form_note",
    "interrupted_text",
    "last_run_text",
    "memory_text",
    "metric_title",
    "prepare_text",
    "run_action",
    "start_hint",
    "start_lines",
    "start_problem",
    "status_message",
]
