"""The training configuration (the project's ``training`` dict) and the error every run raises.

Torch-free, so the UI can build its form and validate values without importing torch.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from workbench.core.catalog.base import Param

# --- the optimizer, schedule and loss table -------------------------------------------------
#
# One entry per kind. The config's validation, the Train form (which settings apply to
# which choice), the command line's help and the engine (:mod:`workbench.engine.optim`)
# all read these entries; adding an optimizer is one ``OptimizerSpec`` here. The factories
# themselves are :mod:`workbench.standalone.train_optim`, which an exported ``train.py``
# shares; the export writes this table into its ``config.json`` (``optimizers``).


@dataclass(frozen=True)
class OptimizerSpec:
    """One optimizer: its ``torch.optim`` class and which training settings it takes.

    Every optimizer gets ``lr`` and ``weight_decay`` (L2 added to the gradient, or
    decoupled where the class itself decouples it, as AdamW does).
    """

    name: str
    title: str
    #: The class in ``torch.optim`` (by name: this module does not import torch).
    torch_class: str
    #: ``{torch keyword: TrainConfig field}`` beyond lr and weight_decay.
    settings: dict[str, str] = dataclasses.field(default_factory=dict)
    #: Devices on which torch has a fused (single-kernel) implementation.
    fused_devices: tuple[str, ...] = ()
    #: The keywords that make its step safe to capture in a CUDA graph (with the learning
    #: rate a tensor on the device, updated in place); None: torch has no such variant.
    graph_settings: dict[str, bool] | None = None

    def table_entry(self) -> dict[str, Any]:
        """This optimizer as :func:`workbench.standalone.train_optim.make_optimizer` takes it
        (plain JSON: an exported ``config.json`` holds the table in this form)."""
        return {
            "torch_class": self.torch_class,
            "settings": dict(self.settings),
            "fused_devices": list(self.fused_devices),
        }


@dataclass(frozen=True)
class ScheduleSpec:
    """One learning-rate schedule and the settings it reads (its formula is in ``LRSchedule``)."""

    name: str
    title: str
    settings: tuple[str, ...] = ()
    #: True when the rate changes every step rather than once per epoch.
    per_batch: bool = False


@dataclass(frozen=True)
class LossSpec:
    """One loss (``auto`` picks one by task) and the settings it reads."""

    name: str
    title: str
    #: The tasks it suits ("classification", "regression").
    tasks: tuple[str, ...] = ("classification", "regression")
    settings: tuple[str, ...] = ()


OPTIMIZER_SPECS: dict[str, OptimizerSpec] = {
    s.name: s
    for s in (
        OptimizerSpec(
            "sgd",
            "SGD",
            "SGD",
            {"momentum": "momentum", "nesterov": "nesterov"},
            ("cpu", "cuda"),
            # the fused kernel takes the rate as a tensor; foreach would read it on the CPU
            graph_settings={"fused": True},
        ),
        OptimizerSpec(
            "adam",
            "Adam",
            "Adam",
            fused_devices=("cpu", "cuda", "mps"),
            graph_settings={"capturable": True, "fused": True},
        ),
        OptimizerSpec(
            "adamw",
            "AdamW",
            "AdamW",
            fused_devices=("cpu", "cuda", "mps"),
            graph_settings={"capturable": True, "fused": True},
        ),
        OptimizerSpec(
            "rmsprop",
            "RMSprop",
            "RMSprop",
            {"momentum": "momentum"},
            graph_settings={"capturable": True, "foreach": True},
        ),
        OptimizerSpec("adagrad", "Adagrad", "Adagrad", fused_devices=("cpu",)),
        OptimizerSpec(
            "nadam", "NAdam", "NAdam", graph_settings={"capturable": True, "foreach": True}
        ),
        OptimizerSpec(
            "radam", "RAdam", "RAdam", graph_settings={"capturable": True, "foreach": True}
        ),
    )
}
SCHEDULE_SPECS: dict[str, ScheduleSpec] = {
    s.name: s
    for s in (
        ScheduleSpec("none", "None"),
        ScheduleSpec("step", "Step", ("step_size", "step_gamma")),
        ScheduleSpec("exponential", "Exponential", ("exp_gamma",)),
        ScheduleSpec("cosine", "Cosine", ("min_lr",), per_batch=True),
        ScheduleSpec(
            "plateau", "Reduce on plateau", ("plateau_factor", "plateau_patience", "min_lr")
        ),
        ScheduleSpec("onecycle", "One-cycle", ("onecycle_pct",), per_batch=True),
    )
}
LOSS_SPECS: dict[str, LossSpec] = {
    s.name: s
    for s in (
        LossSpec("auto", "Auto (by task)"),
        LossSpec("cross_entropy", "Cross-entropy", ("classification",), ("label_smoothing",)),
        LossSpec("bce_with_logits", "BCE with logits", ("classification",)),
        LossSpec("mse", "MSE", ("regression",)),
        LossSpec("l1", "L1 (MAE)", ("regression",)),
        LossSpec("huber", "Huber", ("regression",), ("huber_delta",)),
    )
}
#: The loss ``auto`` means for each task (multi-label classification uses BCE instead).
AUTO_LOSS = {"classification": "cross_entropy", "regression": "mse"}

OPTIMIZERS = tuple(OPTIMIZER_SPECS)
SCHEDULES = tuple(SCHEDULE_SPECS)
LOSSES = tuple(LOSS_SPECS)
AMP_MODES = ("off", "bf16", "fp16")
#: ``auto``: capture each training step in a CUDA graph where the model and the settings
#: allow it (CUDA only), else train eagerly and say why; ``on``: the same, but a run that
#: cannot be captured fails with the reason; ``off``: always eager.
CUDA_GRAPH_MODES = ("auto", "on", "off")
MONITOR_MODES = ("auto", "min", "max")
CLASSIFICATION_METRICS = ("accuracy", "top_k_accuracy", "precision", "recall", "f1")
REGRESSION_METRICS = ("mae", "rmse", "r2")
#: Metrics where a larger value is better (everything else, losses included, is "min").
HIGHER_IS_BETTER = ("accuracy", "precision", "recall", "f1", "r2")


class TrainError(ValueError):
    """A run that cannot start or that failed; the one-line message is for the user."""


@dataclass
class TrainConfig:
    """Everything that decides how a model trains; stored as the project's ``training`` dict.

    Defaults are a reasonable first run: Adam at 1e-3, batches of 32, ten epochs.
    """

    epochs: int = 10
    batch_size: int = 32
    # optimizer
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9  # sgd and rmsprop
    nesterov: bool = False  # sgd
    weight_decay: float = 0.0  # L2; decoupled for adamw
    l1: float = 0.0  # L1 penalty on weights (not biases or norm scales)
    # learning-rate schedule
    schedule: str = "none"
    warmup_epochs: int = 0  # linear warm-up from ~0, composed with any schedule
    step_size: int = 10  # step: epochs between drops
    step_gamma: float = 0.1  # step: factor per drop
    exp_gamma: float = 0.95  # exponential: factor per epoch
    plateau_factor: float = 0.1  # plateau: factor per drop
    plateau_patience: int = 3  # plateau: epochs without improvement before a drop
    onecycle_pct: float = 0.3  # onecycle: fraction of the cycle spent rising to lr
    min_lr: float = 0.0  # floor for cosine and plateau
    # loss
    loss: str = "auto"
    label_smoothing: float = 0.0  # cross_entropy
    huber_delta: float = 1.0  # huber
    grad_clip: float = 0.0  # max gradient norm; 0 = off
    # early stopping and the best checkpoint
    early_stop: bool = False
    monitor: str = "val_loss"
    monitor_mode: str = "auto"  # auto: max for accuracy-like metrics, min otherwise
    patience: int = 5
    min_delta: float = 0.0
    restore_best: bool = True  # end the run holding the best epoch's weights
    # metrics
    metrics: list[str] | None = None  # None: the task's defaults
    top_k: int = 5
    # hardware and reproducibility
    device: str = "auto"
    amp: str = "off"  # bf16 or fp16 autocast on CUDA
    cuda_graphs: str = "auto"  # capture the training step in a CUDA graph (auto, on, off)
    cpu_threads: int = 0  # 0: all cores but one
    seed: int | None = 0  # None: a random seed, recorded with the run
    deterministic: bool = False

    # --- conversion ---------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the project file and the run's config.json."""
        d = dataclasses.asdict(self)
        if self.metrics is not None:
            d["metrics"] = list(self.metrics)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, **overrides: Any) -> TrainConfig:
        """Build and validate a config from :meth:`to_dict` output plus ``overrides``.

        Keys missing from ``d`` take their defaults; ``None`` overrides are ignored.

        Raises:
            TrainError: an unknown key or a bad value, one line naming it.
        """
        values = dict(d or {})
        values.update({k: v for k, v in overrides.items() if v is not None})
        names = {f.name: f for f in dataclasses.fields(cls)}
        for key in values:
            if key not in names:
                raise TrainError(f"unknown training setting '{key}'")
        config = cls()
        for key, value in values.items():
            setattr(config, key, _coerce(key, names[key].default, value))
        config.validate()
        return config

    def replace(self, **changes: Any) -> TrainConfig:
        """A validated copy with ``changes`` applied."""
        return TrainConfig.from_dict(self.to_dict(), **changes)

    # --- validation ---------------------------------------------------------------------

    def problems(self) -> list[tuple[str, str]]:
        """Every bad value as ``(field, message)``; empty when the config is valid."""
        out: list[tuple[str, str]] = []

        def need(ok: bool, name: str, message: str) -> None:
            if not ok:
                out.append((name, message))

        need(
            _is_int(self.epochs) and 1 <= self.epochs <= 1_000_000,
            "epochs",
            f"epochs must be a whole number from 1 to 1,000,000 (got {self.epochs!r})",
        )
        need(
            _is_int(self.batch_size) and 1 <= self.batch_size <= 1 << 20,
            "batch_size",
            f"batch size must be a whole number ≥ 1 (got {self.batch_size!r})",
        )
        need(
            self.optimizer in OPTIMIZERS,
            "optimizer",
            f"unknown optimizer '{self.optimizer}' (choose {', '.join(OPTIMIZERS)})",
        )
        need(
            _is_num(self.lr) and 0 < self.lr <= 100,
            "lr",
            f"learning rate must be a number above 0 (got {self.lr!r})",
        )
        need(
            _is_num(self.momentum) and 0 <= self.momentum < 1,
            "momentum",
            f"momentum must be at least 0 and below 1 (got {self.momentum!r})",
        )
        need(
            not (
                self.nesterov
                and self.uses("nesterov")
                and _is_num(self.momentum)
                and self.momentum <= 0
            ),
            "nesterov",
            "Nesterov momentum needs a momentum above 0",
        )
        need(
            _is_num(self.weight_decay) and 0 <= self.weight_decay < 10,
            "weight_decay",
            f"weight decay must be ≥ 0 (got {self.weight_decay!r})",
        )
        need(
            _is_num(self.l1) and 0 <= self.l1 < 10,
            "l1",
            f"the L1 penalty must be ≥ 0 (got {self.l1!r})",
        )
        need(
            self.schedule in SCHEDULES,
            "schedule",
            f"unknown schedule '{self.schedule}' (choose {', '.join(SCHEDULES)})",
        )
        need(
            _is_int(self.warmup_epochs) and self.warmup_epochs >= 0,
            "warmup_epochs",
            f"warm-up epochs must be a whole number ≥ 0 (got {self.warmup_epochs!r})",
        )
        need(
            _is_int(self.step_size) and self.step_size >= 1,
            "step_size",
            f"the step schedule's step size must be a whole number of epochs ≥ 1 (got {self.step_size!r})",
        )
        for name in ("step_gamma", "exp_gamma", "plateau_factor"):
            value = getattr(self, name)
            need(
                _is_num(value) and 0 < value < 1,
                name,
                f"{name.replace('_', ' ')} must be between 0 and 1 (got {value!r})",
            )
        need(
            _is_int(self.plateau_patience) and self.plateau_patience >= 0,
            "plateau_patience",
            f"plateau patience must be a whole number ≥ 0 (got {self.plateau_patience!r})",
        )
        need(
            _is_num(self.onecycle_pct) and 0 < self.onecycle_pct < 1,
            "onecycle_pct",
            f"the one-cycle rise must be a fraction between 0 and 1 (got {self.onecycle_pct!r})",
        )
        need(
            _is_num(self.min_lr) and 0 <= self.min_lr,
            "min_lr",
            f"the minimum learning rate must be ≥ 0 (got {self.min_lr!r})",
        )
        need(
            not (
                _is_num(self.min_lr)
                and _is_num(self.lr)
                and self.min_lr >= self.lr
                and self.uses("min_lr")
            ),
            "min_lr",
            f"the minimum learning rate ({self.min_lr:g}) must be below the learning rate"
            if _is_num(self.min_lr)
            else "",
        )
        need(
            self.loss in LOSSES, "loss", f"unknown loss '{self.loss}' (choose {', '.join(LOSSES)})"
        )
        need(
            _is_num(self.label_smoothing) and 0 <= self.label_smoothing < 1,
            "label_smoothing",
            f"label smoothing must be at least 0 and below 1 (got {self.label_smoothing!r})",
        )
        need(
            _is_num(self.huber_delta) and self.huber_delta > 0,
            "huber_delta",
            f"the Huber delta must be above 0 (got {self.huber_delta!r})",
        )
        need(
            _is_num(self.grad_clip) and self.grad_clip >= 0,
            "grad_clip",
            f"gradient clipping must be ≥ 0 (0 turns it off; got {self.grad_clip!r})",
        )
        need(
            isinstance(self.monitor, str) and bool(self.monitor),
            "monitor",
            "the monitored metric must be a name such as val_loss or val_accuracy",
        )
        need(
            self.monitor_mode in MONITOR_MODES,
            "monitor_mode",
            f"monitor mode must be one of {', '.join(MONITOR_MODES)} (got {self.monitor_mode!r})",
        )
        need(
            _is_int(self.patience) and self.patience >= 1,
            "patience",
            f"patience must be a whole number of epochs ≥ 1 (got {self.patience!r})",
        )
        need(
            _is_num(self.min_delta) and self.min_delta >= 0,
            "min_delta",
            f"the minimum change must be ≥ 0 (got {self.min_delta!r})",
        )
        if self.metrics is not None:
            known = CLASSIFICATION_METRICS + REGRESSION_METRICS
            bad = [m for m in self.metrics if m not in known]
            need(
                not bad,
                "metrics",
                f"unknown metric '{bad[0] if bad else ''}' (choose {', '.join(known)})",
            )
        need(
            _is_int(self.top_k) and self.top_k >= 1,
            "top_k",
            f"top-k must be a whole number ≥ 1 (got {self.top_k!r})",
        )
        need(
            isinstance(self.device, str) and bool(self.device),
            "device",
            "device must be auto, cpu, cuda, cuda:N or mps",
        )
        need(
            self.amp in AMP_MODES,
            "amp",
            f"mixed precision must be one of {', '.join(AMP_MODES)} (got {self.amp!r})",
        )
        need(
            self.cuda_graphs in CUDA_GRAPH_MODES,
            "cuda_graphs",
            f"CUDA graphs must be one of {', '.join(CUDA_GRAPH_MODES)} (got {self.cuda_graphs!r})",
        )
        need(
            _is_int(self.cpu_threads) and 0 <= self.cpu_threads <= 4096,
            "cpu_threads",
            f"CPU threads must be a whole number ≥ 0 (0 = all cores but one; got {self.cpu_threads!r})",
        )
        need(
            self.seed is None or (_is_int(self.seed) and 0 <= self.seed < 2**63),
            "seed",
            f"the seed must be a whole number ≥ 0 (got {self.seed!r})",
        )
        return out

    def validate(self) -> None:
        """Raise :class:`TrainError` for the first bad value."""
        problems = self.problems()
        if problems:
            raise TrainError(problems[0][1])

    # --- derived values -----------------------------------------------------------------

    def metric_names(self, task: str) -> list[str]:
        """The metrics to compute for ``task``: the configured ones that apply, or the defaults."""
        allowed = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
        if self.metrics is None:
            return (
                ["accuracy", "precision", "recall", "f1"]
                if task == "classification"
                else list(REGRESSION_METRICS)
            )
        return [m for m in self.metrics if m in allowed]

    def uses(self, setting: str, task: str | None = None) -> bool:
        """Whether ``setting`` matters for the chosen optimizer, schedule and loss (from the
        table above). Settings that no table entry claims always matter. ``task`` resolves
        the ``auto`` loss (without it, ``auto`` counts as every loss it may pick) and leaves
        out the settings of a loss that does not suit it."""
        if setting not in TABLE_SETTINGS:
            return True
        opt = OPTIMIZER_SPECS.get(self.optimizer)
        sched = SCHEDULE_SPECS.get(self.schedule)
        losses = [self.loss]
        if self.loss == "auto":
            losses = [AUTO_LOSS[task]] if task in AUTO_LOSS else list(AUTO_LOSS.values())
        return (
            (opt is not None and setting in opt.settings.values())
            or (sched is not None and setting in sched.settings)
            or any(
                setting in LOSS_SPECS[n].settings
                and (task not in AUTO_LOSS or task in LOSS_SPECS[n].tasks)
                for n in losses
                if n in LOSS_SPECS
            )
        )

    def monitor_is_max(self) -> bool:
        """True when a larger value of the monitored metric is better."""
        if self.monitor_mode != "auto":
            return self.monitor_mode == "max"
        return (
            any(self.monitor.endswith(name) for name in HIGHER_IS_BETTER)
            and "loss" not in self.monitor
        )


#: Every setting that only some optimizers, schedules or losses read.
TABLE_SETTINGS = frozenset(
    [f for o in OPTIMIZER_SPECS.values() for f in o.settings.values()]
    + [f for sc in SCHEDULE_SPECS.values() for f in sc.settings]
    + [f for lo in LOSS_SPECS.values() for f in lo.settings]
)


def choice_list(names: tuple[str, ...] | list[str], last: str = "or") -> str:
    """``"a, b or c"``: names as the command line's help lists them."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"


def optimizers_using(setting: str) -> list[str]:
    """The optimizers that read ``setting`` (for the form's notes)."""
    return [o.title for o in OPTIMIZER_SPECS.values() if setting in o.settings.values()]


def form_sections() -> list[tuple[str, list[Param]]]:
    """The training settings as catalog parameter specs, grouped for a generated form.

    ``device`` (a picker of this machine's devices) and ``metrics`` (a list) are left to
    the form to present; everything else maps onto a :class:`~workbench.core.catalog.base.Param`.
    """
    d = TrainConfig()

    def p(name: str, kind: Any, doc: str, label: str = "", **limits: Any) -> Param:
        return Param(name, kind, getattr(d, name), doc, label=label, **limits)

    return [
        (
            "Training",
            [
                p("epochs", "int", "Passes over the training data.", minimum=1, maximum=1_000_000),
                p(
                    "batch_size",
                    "int",
                    "Samples per optimizer step.",
                    "Batch size",
                    minimum=1,
                    maximum=1 << 20,
                ),
                p("optimizer", "choice", "How the weights are updated.", choices=OPTIMIZERS),
                p(
                    "lr",
                    "float",
                    "Learning rate: the size of each update.",
                    "Learning rate",
                    minimum=1e-8,
                    maximum=100,
                ),
                p(
                    "momentum",
                    "float",
                    f"Momentum ({choice_list(optimizers_using('momentum'), 'and')}).",
                    minimum=0,
                    maximum=0.999,
                ),
                p(
                    "nesterov",
                    "bool",
                    f"Nesterov momentum ({choice_list(optimizers_using('nesterov'), 'and')}).",
                ),
            ],
        ),
        (
            "Schedule",
            [
                p(
                    "schedule",
                    "choice",
                    "How the learning rate changes over the run.",
                    choices=SCHEDULES,
                ),
                p(
                    "warmup_epochs",
                    "int",
                    "Epochs of linear warm-up before the schedule.",
                    "Warm-up epochs",
                    minimum=0,
                    maximum=1000,
                ),
                p(
                    "step_size",
                    "int",
                    "Step schedule: epochs between drops.",
                    minimum=1,
                    maximum=100_000,
                ),
                p(
                    "step_gamma",
                    "float",
                    "Step schedule: factor at each drop.",
                    minimum=1e-6,
                    maximum=0.999999,
                ),
                p(
                    "exp_gamma",
                    "float",
                    "Exponential schedule: factor per epoch.",
                    minimum=1e-6,
                    maximum=0.999999,
                ),
                p(
                    "plateau_factor",
                    "float",
                    "Plateau schedule: factor at each drop.",
                    minimum=1e-6,
                    maximum=0.999999,
                ),
                p(
                    "plateau_patience",
                    "int",
                    "Plateau schedule: epochs without improvement before a drop.",
                    minimum=0,
                    maximum=10_000,
                ),
                p(
                    "onecycle_pct",
                    "float",
                    "One-cycle: fraction of the run spent rising.",
                    "One-cycle rise",
                    minimum=0.01,
                    maximum=0.99,
                ),
                p(
                    "min_lr",
                    "float",
                    "Lowest learning rate of cosine and plateau.",
                    "Minimum lr",
                    minimum=0,
                    maximum=100,
                ),
            ],
        ),
        (
            "Loss and regularization",
            [
                p(
                    "loss",
                    "choice",
                    "auto: cross-entropy for classes, BCE for multi-label, MSE for regression.",
                    choices=LOSSES,
                ),
                p(
                    "label_smoothing",
                    "float",
                    "Cross-entropy label smoothing.",
                    minimum=0,
                    maximum=0.99,
                ),
                p(
                    "huber_delta",
                    "float",
                    "Huber loss: where it turns from squared to linear.",
                    minimum=1e-9,
                    maximum=1e9,
                ),
                p(
                    "weight_decay",
                    "float",
                    "L2 penalty (decoupled for AdamW).",
                    minimum=0,
                    maximum=9.99,
                ),
                p(
                    "l1",
                    "float",
                    "L1 penalty on the weights.",
                    "L1 penalty",
                    minimum=0,
                    maximum=9.99,
                ),
                p(
                    "grad_clip",
                    "float",
                    "Clip the gradient norm to this; 0 is off.",
                    "Gradient clipping",
                    minimum=0,
                    maximum=1e9,
                ),
            ],
        ),
        (
            "Early stopping and the best model",
            [
                p("early_stop", "bool", "Stop when the monitored metric stops improving."),
                p(
                    "monitor",
                    "choice",
                    "The metric that picks the best epoch.",
                    choices=(
                        "val_loss",
                        "val_accuracy",
                        "val_f1",
                        "val_mae",
                        "val_rmse",
                        "val_r2",
                        "train_loss",
                    ),
                ),
                p(
                    "monitor_mode",
                    "choice",
                    "auto: max for accuracy-like metrics, min for losses and errors.",
                    choices=MONITOR_MODES,
                ),
                p(
                    "patience",
                    "int",
                    "Epochs without improvement before stopping.",
                    minimum=1,
                    maximum=100_000,
                ),
                p(
                    "min_delta",
                    "float",
                    "The smallest change that counts as an improvement.",
                    minimum=0,
                    maximum=1e9,
                ),
                p("restore_best", "bool", "End the run holding the best epoch's weights."),
                p(
                    "top_k",
                    "int",
                    "k of the top-k accuracy metric.",
                    "Top-k",
                    minimum=1,
                    maximum=1000,
                ),
            ],
        ),
        (
            "Hardware and reproducibility",
            [
                p(
                    "amp",
                    "choice",
                    "Mixed precision on CUDA GPUs.",
                    "Mixed precision",
                    choices=AMP_MODES,
                ),
                p(
                    "cuda_graphs",
                    "choice",
                    "On CUDA GPUs, replay each training step as one captured CUDA graph instead "
                    "of launching its kernels one by one from Python (much faster for small "
                    "models). auto: where the model and settings allow it, else eager, saying "
                    "why in the log; on: fail with the reason instead; off: always eager.",
                    "CUDA graphs",
                    choices=CUDA_GRAPH_MODES,
                ),
                p(
                    "cpu_threads",
                    "int",
                    "CPU threads; 0 leaves one core to the window.",
                    "CPU threads",
                    minimum=0,
                    maximum=4096,
                ),
                p("seed", "int", "The seed of everything random.", minimum=0, maximum=2**31 - 1),
                p("deterministic", "bool", "Use deterministic algorithms (slower on GPUs)."),
            ],
        ),
    ]


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _coerce(key: str, default: Any, value: Any) -> Any:
    """JSON-friendly coercion: 10.0 -> 10 for whole-number fields, 1 -> 1.0 for float fields."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise TrainError(f"training setting '{key}' must be true or false (got {value!r})")
        return value
    if isinstance(default, int) or key == "seed":
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if value is None and key == "seed":
            return None
        if not _is_int(value):
            raise TrainError(f"training setting '{key}' must be a whole number (got {value!r})")
        return value
    if isinstance(default, float):
        if not _is_num(value):
            raise TrainError(f"training setting '{key}' must be a number (got {value!r})")
        return float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            raise TrainError(f"training setting '{key}' must be text (got {value!r})")
        return value.strip().lower() if key not in ("monitor",) else value.strip()
    if key == "metrics":
        if value is None:
            return None
        if not isinstance(value, list | tuple) or not all(isinstance(m, str) for m in value):
            raise TrainError("training setting 'metrics' must be a list of metric names")
        return [m.strip().lower() for m in value]
    return value  # pragma: no cover - every field is handled above


__all__ = [
    "AMP_MODES",
    "CUDA_GRAPH_MODES",
    "AUTO_LOSS",
    "LOSSES",
    "LOSS_SPECS",
    "OPTIMIZERS",
    "OPTIMIZER_SPECS",
    "SCHEDULES",
    "SCHEDULE_SPECS",
    "TABLE_SETTINGS",
    "LossSpec",
    "OptimizerSpec",
    "ScheduleSpec",
    "choice_list",
    "TrainConfig",
    "TrainError",
    "form_sections",
]
