"""Which training settings the Train form offers, without Qt.

The settings that only some choices read (the form hides them otherwise), the monitor and
metric choices of a task, and the metric curves a run with the settings draws. The form
itself is :mod:`workbench.ui.train.form`; keeping its rules here lets them be tested
without a window.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any

from workbench.core.text import capitalized
from workbench.engine.config import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    TABLE_SETTINGS,
    TrainConfig,
    TrainError,
)

if TYPE_CHECKING:
    from workbench.core.graph import Graph


def _used_by_choice(name: str) -> Callable[[TrainConfig, str], bool]:
    """Whether the config's optimizer, schedule or loss reads setting ``name`` (for task ``t``)."""
    return lambda c, t: c.uses(name, t)


#: Settings that only matter for some choices; hidden otherwise. Which optimizer, schedule
#: and loss read which setting comes from their table (``TrainConfig.uses``).
RELEVANT: dict[str, Callable[[TrainConfig, str], bool]] = {
    **{name: _used_by_choice(name) for name in sorted(TABLE_SETTINGS)},
    "patience": lambda c, t: c.early_stop,
    "top_k": lambda c, t: (
        t == "classification" and (c.metrics is None or "top_k_accuracy" in c.metrics)
    ),
}
#: The metrics that can pick the best epoch, by task (the monitor choices shown).
MONITORS: dict[str, tuple[str, ...]] = {
    "classification": ("val_loss", "val_accuracy", "val_f1", "train_loss"),
    "regression": ("val_loss", "val_mae", "val_rmse", "val_r2", "train_loss"),
}
#: The device picker's entry for "let the run choose".
AUTO_DEVICE = "auto (a GPU if any)"
#: Settings that only apply on a CUDA GPU: the form shows them once the device list has one.
CUDA_ONLY_SETTINGS = ("amp", "cuda_graphs")
#: Float settings that need more decimals than their default suggests (learning rates).
FINE_FLOATS = ("lr", "min_lr", "weight_decay", "l1", "min_delta")
#: The metric check boxes' labels.
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "top_k_accuracy": "Top-k accuracy",
    "precision": "Precision (macro)",
    "recall": "Recall (macro)",
    "f1": "F1 (macro)",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}


def model_task(graph: Graph | None) -> str:
    """The task of the model's Output layer; ``classification`` without a model or an Output."""
    if graph is None:
        return "classification"
    outputs = graph.of_type("Output")
    return str(outputs[0].params.get("task", "classification")) if outputs else "classification"


def settings_in_force(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a run would use: the defaults overlaid with the project's known keys."""
    values = TrainConfig().to_dict()
    values.update({k: v for k, v in stored.items() if k in values})
    return values


def valid_config(values: Mapping[str, Any]) -> TrainConfig | None:
    """``values`` as a validated config, or None while they are not valid."""
    try:
        return TrainConfig.from_dict(dict(values))
    except TrainError:
        return None


def settings_problem(values: Mapping[str, Any]) -> str | None:
    """Why a run would refuse ``values`` (a cross-field rule), as the form shows it; or None."""
    try:
        TrainConfig.from_dict(dict(values))
    except TrainError as e:
        return capitalized(str(e))
    return None


def relevant_settings(values: Mapping[str, Any], task: str) -> dict[str, bool]:
    """For each setting of :data:`RELEVANT`, whether it matters with ``values`` for ``task``.

    Settings that are not valid together are judged as the defaults would be.
    """
    config = valid_config(values) or TrainConfig()
    return {name: bool(rule(config, task)) for name, rule in RELEVANT.items()}


def monitor_choices(task: str) -> tuple[str, ...]:
    """The metrics that can pick the best epoch of a ``task`` run."""
    return MONITORS.get(task, MONITORS["classification"])


def metric_choices(task: str) -> tuple[str, ...]:
    """The metrics a ``task`` run can compute (the check boxes shown)."""
    return CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS


def checked_metrics(values: Mapping[str, Any], task: str) -> list[str]:
    """The metrics whose boxes are ticked: the ``metrics`` setting, or the task's defaults."""
    chosen = values.get("metrics")
    return list(chosen) if isinstance(chosen, list) else TrainConfig().metric_names(task)


def metrics_setting(checked: Collection[str], task: str) -> list[str] | None:
    """The ``metrics`` setting for the ticked boxes: None when they are the task's defaults."""
    chosen = [n for n in metric_choices(task) if n in checked]
    return None if chosen == TrainConfig().metric_names(task) else chosen


def is_stored(stored: Mapping[str, Any], name: str, value: Any) -> bool:
    """True when setting ``name`` already is ``value`` in the project's ``stored`` settings
    (or is left out and ``value`` is its default), so storing it would change nothing."""
    return settings_in_force(stored).get(name) == value and (
        name in stored or value == getattr(TrainConfig(), name)
    )


def curve_keys(config: TrainConfig, task: str) -> list[str]:
    """The ``val_*`` metric keys a ``task`` run with ``config`` reports, in the trainer's order
    (:meth:`workbench.engine.trainer.Trainer.metric_keys`): one metric curve each."""
    return [
        f"val_top{config.top_k}_accuracy" if n == "top_k_accuracy" else f"val_{n}"
        for n in config.metric_names(task)
    ]


__all__ = [
    "AUTO_DEVICE",
    "CUDA_ONLY_SETTINGS",
    "FINE_FLOATS",
    "METRIC_LABELS",
    "MONITORS",
    "RELEVANT",
    "checked_metrics",
    "curve_keys",
    "is_stored",
    "metric_choices",
    "metrics_setting",
    "model_task",
    "monitor_choices",
    "relevant_settings",
    "settings_in_force",
    "settings_problem",
    "valid_config",
]
