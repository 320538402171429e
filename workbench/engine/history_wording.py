"""How the Runs panel shows a project's runs, without Qt: the table's columns, each cell's
text and sort order, the curves a comparison offers, and the panel's questions and notes.

The panel (:mod:`workbench.ui.runs`) shows these strings as they are; the runs come from
:mod:`workbench.engine.history`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.core.text import capitalized, clock, plural
from workbench.engine.history import STATUSES, Curves, RunSummary, differing_hyperparameters
from workbench.engine.train_wording import metric_title


@dataclass(frozen=True)
class Column:
    """A column of the runs table: its key, header and header tooltip."""

    key: str
    title: str
    tip: str


#: The columns every run has, in order; one column per hyperparameter follows them.
COLUMNS: tuple[Column, ...] = (
    Column("name", "Name", "The run's name: double-click (or F2) to rename it"),
    Column("started", "Started", "When the run started"),
    Column("duration", "Duration", "Time spent training (not counting pauses between sessions)"),
    Column("device", "Device", "Where it trained"),
    Column("status", "Status", "How the run stands or ended"),
    Column("epochs", "Epochs", "Epochs trained, of those it was set to train"),
    Column(
        "best", "Best validation", "The validation metric at the run's best epoch (the one kept)"
    ),
    Column("test", "Test", "The same metric on the test split, once the run was evaluated on it"),
)
#: A hyperparameter's column key is this prefix and the setting's (flattened) name.
SETTING = "setting:"
#: Curves a comparison never offers in its metric picker: the loss plot shows the losses;
#: an epoch's time says nothing about the model.
NOT_COMPARED = ("train_loss", "val_loss", "epoch_seconds")
#: What a missing value looks like in the table.
NONE = "–"

NO_PROJECT_FILE = (
    "No runs yet",
    "This project is not saved yet. Save it and train it on the Train tab: every run is "
    "kept beside the project file and listed here, to compare and continue from.",
)


def setting_column(name: str) -> str:
    """The column key of hyperparameter ``name``."""
    return SETTING + name


def column_title(key: str) -> str:
    """A column's header: the fixed ones by name, a hyperparameter by its setting name."""
    for column in COLUMNS:
        if column.key == key:
            return column.title
    return key.removeprefix(SETTING)


def started_text(started: str | None) -> str:
    """``2026-01-31T14:25:01`` → ``2026-01-31 14:25``."""
    return started.replace("T", " ")[:16] if started else NONE


def duration_text(seconds: float | None) -> str:
    """``4.2 s`` under a minute, then ``0:03:05``; a dash before the first epoch."""
    if seconds is None:
        return NONE
    if seconds < 60:
        return f"{seconds:.1f} s"
    return clock(seconds)


def epochs_text(run: RunSummary) -> str:
    """``3/10``: epochs done of those planned (``3`` when the plan is unknown)."""
    return f"{run.epochs}/{run.epochs_planned}" if run.epochs_planned else str(run.epochs)


def number_text(value: float) -> str:
    """A metric or setting as the table shows it: four significant digits."""
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def metric_text(pair: tuple[str, float] | None) -> str:
    """``("val_accuracy", 0.9612)`` → ``accuracy 0.9612``; a dash for None."""
    if pair is None:
        return NONE
    return f"{metric_title(pair[0].removeprefix('test_'))} {number_text(pair[1])}"


def setting_text(value: Any) -> str:
    """A hyperparameter's value as a cell shows it."""
    if value is None:
        return "default"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list | tuple):
        return ", ".join(setting_text(v) for v in value) or NONE
    return str(value)


def cell_text(run: RunSummary, key: str) -> str:
    """The text of ``run``'s cell in column ``key``."""
    if key.startswith(SETTING):
        name = key.removeprefix(SETTING)
        return setting_text(run.hyperparameters[name]) if name in run.hyperparameters else NONE
    if key == "name":
        return run.name
    if key == "started":
        return started_text(run.started)
    if key == "duration":
        return duration_text(run.duration)
    if key == "device":
        return run.device or NONE
    if key == "status":
        return run.label
    if key == "epochs":
        return epochs_text(run)
    if key == "best":
        return metric_text(run.best_metric)
    if key == "test":
        return metric_text(run.test_metric)
    raise KeyError(key)


def cell_tip(run: RunSummary, key: str) -> str:
    """The tooltip of ``run``'s cell in column ``key`` ('' for none)."""
    if key == "name":
        return f"{run.name} ({run.id})\n{run.path}"
    if key == "status":
        return run.message
    if key == "best" and run.best_epoch is not None:
        monitor = f"; best {run.monitor} {number_text(run.best_value)}" if run.best_value else ""
        return f"at epoch {run.best_epoch}{monitor}"
    if key == "test" and run.test:
        return ", ".join(f"{metric_title(k)} {number_text(v)}" for k, v in run.test.items())
    return ""


def _value_key(value: Any) -> tuple[int, Any]:
    """Numbers before words, missing values last (columns may mix them)."""
    if value is None:
        return (2, "")
    if isinstance(value, bool | int | float):
        return (0, float(value))
    return (1, str(value).casefold())


def sort_key(run: RunSummary, key: str) -> tuple[int, Any]:
    """What column ``key`` sorts ``run`` by: numbers as numbers, times in order, missing last."""
    if key.startswith(SETTING):
        name = key.removeprefix(SETTING)
        value = run.hyperparameters.get(name)
        return _value_key(setting_text(value) if isinstance(value, list | tuple) else value)
    if key == "name":
        return _value_key(run.name)
    if key == "started":
        return _value_key(run.started)
    if key == "duration":
        return _value_key(run.duration)
    if key == "device":
        return _value_key(run.device)
    if key == "status":
        return (0, STATUSES.index(run.status) if run.status in STATUSES else len(STATUSES))
    if key == "epochs":
        return _value_key(run.epochs)
    if key == "best":
        return _value_key(run.best_metric[1] if run.best_metric else None)
    if key == "test":
        test = run.test_metric
        return _value_key(test[1] if test else None)
    raise KeyError(key)


def setting_names(runs: Sequence[RunSummary]) -> list[str]:
    """Every hyperparameter any of the runs has, in first-seen order."""
    names: dict[str, None] = {}
    for run in runs:
        names.update(dict.fromkeys(run.hyperparameters))
    return list(names)


def shared_settings(runs: Sequence[RunSummary]) -> set[str]:
    """The hyperparameters every run has with the same value (none with fewer than two runs)."""
    if len(runs) < 2:
        return set()
    differ = set(differing_hyperparameters(runs))
    return {name for name in setting_names(runs) if name not in differ}


def differ_tip(name: str, runs: Sequence[RunSummary]) -> str:
    """``lr differs between the selected runs: Run 1 0.001, Run 2 0.01``."""
    values = ", ".join(
        f"{r.name} {setting_text(r.hyperparameters[name]) if name in r.hyperparameters else NONE}"
        for r in runs
    )
    return f"{name} differs between the selected runs: {values}"


# --- comparing curves ----------------------------------------------------------------------------


def curve_title(key: str) -> str:
    """A curve's key as the metric picker and axis name it: ``val_accuracy`` → ``validation accuracy``."""
    if key == "lr":
        return "learning rate"
    if key == "samples_per_s":
        return "samples per second"
    if key.startswith("val_"):
        return f"validation {metric_title(key)}"
    if key.startswith("train_"):
        return f"training {metric_title(key.removeprefix('train_'))}"
    return metric_title(key)


def curve_choices(curves: Sequence[Curves]) -> list[str]:
    """The curves the metric picker offers for these runs: validation metrics first, then
    the others, each once (the losses have a plot of their own)."""
    keys: dict[str, None] = {}
    for c in curves:
        keys.update(dict.fromkeys(k for k in c.keys() if k not in NOT_COMPARED))
    return sorted(keys, key=lambda k: (not k.startswith("val_"), k == "samples_per_s"))


def default_curve(choices: Sequence[str], runs: Sequence[RunSummary]) -> str | None:
    """The metric shown first: the runs' headline validation metric, else the first choice."""
    for run in runs:
        if run.best_metric is not None and run.best_metric[0] in choices:
            return run.best_metric[0]
    return choices[0] if choices else None


def compare_hint(selected: int, total: int) -> str:
    """The line over the comparison plots: what they show and how to change it."""
    if total == 0:
        return ""
    if selected == 0:
        return "Select runs in the table to draw their curves here (Ctrl or Shift for several)."
    if selected == 1:
        return "One run: select more (Ctrl or Shift) to overlay their curves."
    return f"{plural(selected, 'run', sep='')} overlaid: one colour per run."


# --- the panel's words ---------------------------------------------------------------------------


def count_text(total: int, loading: bool) -> str:
    """``3 runs`` beside the panel's heading (``Reading runs…`` while they load)."""
    if loading and total == 0:
        return "Reading runs…"
    return plural(total, "run", sep="")


def empty_text(project_name: str) -> tuple[str, str]:
    """The card a saved project without runs shows: (title, text)."""
    return (
        "No runs yet",
        f"Press Start on the Train tab to train “{project_name}”. Every run is listed here with its "
        "settings and results: select several to compare their curves, rename them, continue "
        "from one, or delete those you no longer need.",
    )


def delete_question(names: Sequence[str]) -> tuple[str, str]:
    """The delete question: (question, detail)."""
    if len(names) == 1:
        question = f"Delete “{names[0]}”?"
    else:
        question = f"Delete {len(names)} runs ({', '.join(names)})?"
    detail = (
        "Its folder (checkpoints, curves and logs) is removed from disk; this cannot be undone."
        if len(names) == 1
        else "Their folders (checkpoints, curves and logs) are removed from disk; this cannot be undone."
    )
    return question, detail


def running_refusal(name: str) -> str:
    """Why a run that trains cannot be deleted."""
    return f"“{name}” is training: stop it before deleting it."


def deleted_status(names: Sequence[str]) -> str:
    """The status line after a delete."""
    if len(names) == 1:
        return f"Deleted “{names[0]}”"
    return f"Deleted {len(names)} runs"


def restored_status(name: str, changed: bool, epoch: int | None) -> str:
    """The status line after "Restore into builder"."""
    what = (
        f"Restored the model of “{name}” into the builder (Edit ▸ Undo takes it back)"
        if changed
        else f"The builder already holds the model of “{name}”"
    )
    if epoch is None:
        return f"{what}; the run has no intact weights, so the next run starts from scratch"
    return f"{what}; the next Start on the Train tab trains a new run from its trained weights"


def start_weights_text(name: str, run_id: str, checkpoint: str, epoch: int | None) -> str:
    """The Train tab's note while the next Start begins from a restored run's weights."""
    at = f", epoch {epoch}" if epoch is not None else ""
    return (
        f"The next Start trains a new run from the weights of “{name}” ({run_id}, "
        f"{checkpoint}{at}), restored into the builder."
    )


def past_status(run: RunSummary) -> str:
    """How a past run ended, beside the Train tab's progress bar: ``Early-stopped``."""
    return capitalized(run.status)


def past_progress_text(run: RunSummary) -> str:
    """The Train tab's progress bar text for a past run: ``Finished · 3/3 epochs``."""
    noun = "epoch" if (run.epochs_planned or run.epochs) == 1 else "epochs"
    return f"{capitalized(run.label)} · {epochs_text(run)} {noun}"


def shown_run_text(run: RunSummary) -> str:
    """The Train tab's line over a past run's curves: which run they are."""
    parts = [run.label, plural(run.epochs, "epoch", sep="")]
    best = run.best_metric
    if best is not None:
        parts.append(f"best {metric_text(best)}")
    if run.started:
        parts.append(f"started {started_text(run.started)}")
    return f"Showing {run.name} ({run.id}): " + " · ".join(parts)


__all__ = [
    "COLUMNS",
    "NONE",
    "NOT_COMPARED",
    "NO_PROJECT_FILE",
    "SETTING",
    "Column",
    "cell_text",
    "cell_tip",
    "column_title",
    "compare_hint",
    "count_text",
    "curve_choices",
    "curve_title",
    "default_curve",
    "delete_question",
    "deleted_status",
    "differ_tip",
    "duration_text",
    "empty_text",
    "epochs_text",
    "metric_text",
    "number_text",
    "past_progress_text",
    "past_status",
    "restored_status",
    "running_refusal",
    "setting_column",
    "setting_names",
    "setting_text",
    "shared_settings",
    "shown_run_text",
    "sort_key",
    "start_weights_text",
    "started_text",
]
