"""Optimizers, learning-rate schedules (with linear warm-up), losses chosen by task, L1 penalty.

The schedule is our own small class rather than a chain of ``torch.optim.lr_scheduler``
objects: warm-up composes with every schedule (plateau included), its state is a few
numbers (so a resumed run is exact), and "train N more epochs" can extend it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from workbench.engine.config import (
    AUTO_LOSS,
    LOSS_SPECS,
    OPTIMIZER_SPECS,
    SCHEDULE_SPECS,
    TrainConfig,
    TrainError,
    choice_list,
)

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: One-cycle starts at lr / ONECYCLE_DIV and ends at lr / (ONECYCLE_DIV * ONECYCLE_FINAL_DIV),
#: torch's OneCycleLR defaults.
ONECYCLE_DIV = 25.0
ONECYCLE_FINAL_DIV = 1e4


# --- optimizers --------------------------------------------------------------------------


#: Devices on which torch has a fused (single-kernel) implementation of each optimizer.
FUSED_DEVICES = {o.name: o.fused_devices for o in OPTIMIZER_SPECS.values() if o.fused_devices}


def make_optimizer(
    params: Iterable[nn.Parameter], config: TrainConfig, fused: bool = True
) -> torch.optim.Optimizer:
    """The optimizer named by ``config.optimizer`` over ``params`` (its entry in
    :data:`~workbench.engine.config.OPTIMIZER_SPECS`).

    Weight decay is L2 added to the gradient, except for AdamW where it is decoupled.
    Where torch has a fused implementation for the parameters' device it is used (unless
    ``fused`` is False): one kernel per step instead of a dozen per parameter tensor.
    """
    params = [p for p in params if p.requires_grad]
    if not params:
        raise TrainError("the model has no trainable parameters")
    spec = OPTIMIZER_SPECS.get(config.optimizer)
    if spec is None:
        raise TrainError(f"unknown optimizer '{config.optimizer}'")
    devices = {p.device.type for p in params}
    use_fused = (
        fused
        and len(devices) == 1
        and next(iter(devices)) in spec.fused_devices
        and all(p.is_floating_point() for p in params)
    )
    kwargs: dict[str, Any] = {key: getattr(config, field) for key, field in spec.settings.items()}
    if use_fused:
        kwargs["fused"] = True
    cls = getattr(torch.optim, spec.torch_class)
    return cls(params, lr=config.lr, weight_decay=config.weight_decay, **kwargs)


def l1_penalty(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """Sum of absolute values of the weights (tensors of rank ≥ 2; biases and norm scales are left out)."""
    weights = [p for p in params if p.dim() >= 2]
    if not weights:
        raise TrainError("the L1 penalty needs weights, and the model has none")
    return torch.stack([w.abs().sum() for w in weights]).sum()


# --- learning-rate schedule ------------------------------------------------------------


class LRSchedule:
    """The learning rate as a function of the optimizer step, with optional linear warm-up.

    ``step`` counts optimizer steps taken so far. The first ``warmup_epochs`` epochs ramp
    linearly up to the base rate; the chosen schedule then runs on the remaining steps as
    if they started at zero. ``step`` and ``exponential`` change the rate once per epoch,
    ``cosine`` and ``onecycle`` every step (over the whole run), ``plateau`` when the
    monitored metric stops improving.

    Call :meth:`apply` with the step before it is taken (the trainer does so once per epoch,
    or every step when :attr:`per_batch`) and :meth:`epoch_end` after each validation.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
    ) -> None:
        self.optimizer = optimizer
        self.kind = config.schedule
        self.base_lrs = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        for g, base in zip(optimizer.param_groups, self.base_lrs, strict=True):
            g["initial_lr"] = base
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.warmup_steps = config.warmup_epochs * self.steps_per_epoch
        self.step_size = config.step_size
        self.step_gamma = config.step_gamma
        self.exp_gamma = config.exp_gamma
        self.onecycle_pct = config.onecycle_pct
        self.min_lr = config.min_lr
        self.plateau_factor = config.plateau_factor
        self.plateau_patience = config.plateau_patience
        self.maximize = config.monitor_is_max()
        # state
        self.cycle_start = self.warmup_steps  # first step of the (cosine / one-cycle) cycle
        self.cycle_steps = max(1, config.epochs * self.steps_per_epoch - self.warmup_steps)
        self.scale = 1.0  # plateau reductions so far
        self.plateau_best: float | None = None
        self.plateau_bad = 0
        self.last_step = 0

    @property
    def per_batch(self) -> bool:
        """True when the rate changes within an epoch (warm-up, cosine, one-cycle)."""
        spec = SCHEDULE_SPECS.get(self.kind)
        return self.warmup_steps > 0 or (spec is not None and spec.per_batch)

    def factor(self, step: int) -> float:
        """The multiplier of the base rate for optimizer step ``step`` (0-based)."""
        warm = 1.0
        if step < self.warmup_steps:
            warm = (step + 1) / self.warmup_steps
        main = max(0, step - self.warmup_steps)
        kind = self.kind
        if kind == "step":
            f = self.step_gamma ** ((main // self.steps_per_epoch) // self.step_size)
        elif kind == "exponential":
            f = self.exp_gamma ** (main // self.steps_per_epoch)
        elif kind == "plateau":
            f = self.scale
        elif kind in ("cosine", "onecycle"):
            t = (
                min(1.0, max(0, step - self.cycle_start) / self.cycle_steps)
                if step >= self.warmup_steps
                else 0.0
            )
            f = self._cosine_factor(t) if kind == "cosine" else self._onecycle_factor(t)
        else:
            f = 1.0
        return warm * f

    def _cosine_factor(self, t: float) -> float:
        floor = self.min_lr / self.base_lrs[0] if self.base_lrs[0] > 0 else 0.0
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t))

    def _onecycle_factor(self, t: float) -> float:
        start, end = 1.0 / ONECYCLE_DIV, 1.0 / (ONECYCLE_DIV * ONECYCLE_FINAL_DIV)
        peak = self.onecycle_pct
        if t <= peak:
            u = t / peak
            return start + (1.0 - start) * 0.5 * (1.0 - math.cos(math.pi * u))
        u = (t - peak) / (1.0 - peak)
        return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * u))

    def lr_at(self, step: int) -> float:
        """The learning rate of the first parameter group at ``step``."""
        return self.base_lrs[0] * self.factor(step)

    def apply(self, step: int) -> None:
        """Set every parameter group's rate for optimizer step ``step``."""
        f = self.factor(step)
        for g, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            g["lr"] = base * f
        self.last_step = step

    def epoch_end(self, metric: float | None) -> None:
        """Feed the monitored metric after an epoch (only the plateau schedule uses it)."""
        if self.kind != "plateau" or metric is None or not math.isfinite(metric):
            return
        if self.last_step < self.warmup_steps:
            return
        best = self.plateau_best
        threshold = 1e-4  # relative, as torch's ReduceLROnPlateau
        improved = best is None or (
            metric > best * (1 + threshold) if self.maximize else metric < best * (1 - threshold)
        )
        if improved:
            self.plateau_best, self.plateau_bad = metric, 0
            return
        self.plateau_bad += 1
        if self.plateau_bad > self.plateau_patience:
            floor = self.min_lr / self.base_lrs[0] if self.base_lrs[0] > 0 else 0.0
            self.scale = max(floor, self.scale * self.plateau_factor)
            self.plateau_bad = 0

    def extend(self, total_epochs: int, done_steps: int) -> None:
        """Continue a finished run for more epochs ("train N more").

        Epoch-based schedules simply carry on. Cosine and one-cycle, which end near zero,
        start a fresh cycle (a warm restart) over the new epochs; warm-up is not repeated.
        """
        remaining = total_epochs * self.steps_per_epoch - done_steps
        if remaining <= 0:
            return
        if (
            self.kind in ("cosine", "onecycle")
            and done_steps >= self.cycle_start + self.cycle_steps
        ):
            self.cycle_start = done_steps
            self.cycle_steps = remaining
        elif self.kind in ("cosine", "onecycle"):
            self.cycle_steps = max(1, total_epochs * self.steps_per_epoch - self.cycle_start)

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly (plain numbers, safe for ``weights_only``)."""
        return {
            "kind": self.kind,
            "base_lrs": list(self.base_lrs),
            "steps_per_epoch": self.steps_per_epoch,
            "warmup_steps": self.warmup_steps,
            "cycle_start": self.cycle_start,
            "cycle_steps": self.cycle_steps,
            "scale": self.scale,
            "plateau_best": self.plateau_best,
            "plateau_bad": self.plateau_bad,
            "last_step": self.last_step,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict` output."""
        if state.get("kind") != self.kind:
            raise TrainError(
                f"the checkpoint's schedule is '{state.get('kind')}', not '{self.kind}'"
            )
        self.base_lrs = [float(v) for v in state["base_lrs"]]
        self.steps_per_epoch = int(state["steps_per_epoch"])
        self.warmup_steps = int(state["warmup_steps"])
        self.cycle_start = int(state["cycle_start"])
        self.cycle_steps = int(state["cycle_steps"])
        self.scale = float(state["scale"])
        self.plateau_best = None if state["plateau_best"] is None else float(state["plateau_best"])
        self.plateau_bad = int(state["plateau_bad"])
        self.last_step = int(state["last_step"])


# --- losses --------------------------------------------------------------------------------


def resolve_loss(task: str, config: TrainConfig, multi_label: bool = False) -> str:
    """The loss to use: the override, or cross-entropy / BCE-with-logits / MSE by task.

    Two classes train with cross-entropy over two logits, which is the same model as
    BCE over one logit; multi-label targets (a 0/1 column per class) need BCE.

    Raises:
        TrainError: the override does not suit the task.
    """
    name = config.loss
    if name == "auto":
        if task == "classification":
            return "bce_with_logits" if multi_label else AUTO_LOSS["classification"]
        return AUTO_LOSS["regression"]
    spec = LOSS_SPECS.get(name)
    if spec is not None and task in AUTO_LOSS and task not in spec.tasks:
        other = spec.tasks[0] if spec.tasks else "another task"
        fitting = ["auto", *(n for n, s in LOSS_SPECS.items() if task in s.tasks and n != "auto")]
        raise TrainError(
            f"the loss '{name}' is for {other}, but this dataset is {task} (use {choice_list(fitting)})"
        )
    if multi_label and name == "cross_entropy":
        raise TrainError("multi-label targets need the bce_with_logits loss, not cross_entropy")
    return name


def standardized_loss(loss: LossFn, mean: torch.Tensor, std: torch.Tensor) -> LossFn:
    """``loss`` on standardized regression targets: ``loss(out, (y - mean) / std)``.

    The model learns to output targets in standard units, so targets of any size (prices
    in the hundreds of thousands, fractions of a millimetre) train alike; metrics and
    exported models undo the scaling (see :func:`workbench.data.base.target_scale`).
    """
    inv = 1.0 / std

    def scaled(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = match_target(out, y)
        return loss(out, (y - mean) * inv)

    return scaled


def make_loss(name: str, config: TrainConfig, num_classes: int | None = None) -> LossFn:
    """A ``loss(output, target)`` function returning the batch mean.

    Regression targets of shape ``(N,)`` are matched to outputs of shape ``(N, 1)``;
    BCE with class-index targets one-hot encodes them to the output's width.
    """
    if name == "cross_entropy":
        smoothing = config.label_smoothing

        def cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(out, y, label_smoothing=smoothing)

        return cross_entropy
    if name == "bce_with_logits":

        def bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            out = out.float()
            if y.dtype in (torch.int64, torch.int32) and y.dim() == 1:
                y = F.one_hot(y, out.shape[-1])
            return F.binary_cross_entropy_with_logits(out, y.to(out.dtype))

        return bce
    regression = {"mse": F.mse_loss, "l1": F.l1_loss}
    if name in regression:
        fn = regression[name]

        def reg(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            # Half-precision outputs (autocast) are compared in float32.
            return fn(out if out.dtype == torch.float64 else out.float(), match_target(out, y))

        return reg
    if name == "huber":
        delta = config.huber_delta

        def huber(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.huber_loss(
                out if out.dtype == torch.float64 else out.float(),
                match_target(out, y),
                delta=delta,
            )

        return huber
    raise TrainError(f"unknown loss '{name}'")


def match_target(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A regression target reshaped to the output's shape, as float32 (or the output's float64)."""
    if y.shape != out.shape and y.numel() == out.numel():
        y = y.reshape(out.shape)
    dtype = torch.float64 if out.dtype == torch.float64 else torch.float32
    return y if y.dtype == dtype else y.to(dtype)
