"""Optimizers, learning-rate schedules (with linear warm-up), losses chosen by task, L1 penalty.

The factories and the schedule's formulas are :mod:`workbench.standalone.train_optim`, the
module an exported ``train.py`` uses too (one copy, so an export trains with the same
numbers); this module feeds them the workbench's ``TrainConfig`` and its tables in
:mod:`workbench.engine.config`, and adds what only the workbench needs: its errors, fused
kernels, the schedule's resume state and "train N more epochs", the loss chosen by task.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
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
from workbench.standalone import train_optim
from workbench.standalone.train_optim import (
    ONECYCLE_DIV,
    ONECYCLE_FINAL_DIV,
    LossFn,
    match_target,
    standardized_loss,
)

# --- optimizers --------------------------------------------------------------------------


#: Devices on which torch has a fused (single-kernel) implementation of each optimizer.
FUSED_DEVICES = {o.name: o.fused_devices for o in OPTIMIZER_SPECS.values() if o.fused_devices}


def make_optimizer(
    params: Iterable[nn.Parameter], config: TrainConfig, fused: bool = True, graph: bool = False
) -> torch.optim.Optimizer:
    """The optimizer named by ``config.optimizer`` over ``params`` (its entry in
    :data:`~workbench.engine.config.OPTIMIZER_SPECS`).

    Weight decay is L2 added to the gradient, except for AdamW where it is decoupled.
    Where torch has a fused implementation for the parameters' device it is used (unless
    ``fused`` is False): one kernel per step instead of a dozen per parameter tensor.

    With ``graph`` the optimizer is the variant a CUDA graph can capture (its
    ``graph_settings``) and its learning rate is a tensor on the parameters' device, which
    :class:`LRSchedule` updates in place. On a device without capturable optimizers
    (the CPU, where tests stand in for a GPU) only the tensor rate is kept.
    """
    params = [p for p in params if p.requires_grad]
    if not params:
        raise TrainError("the model has no trainable parameters")
    spec = OPTIMIZER_SPECS.get(config.optimizer)
    if spec is None:
        raise TrainError(f"unknown optimizer '{config.optimizer}'")
    cfg = config.to_dict()
    extra: dict[str, Any] | None = None
    if graph:
        if spec.graph_settings is None:
            raise TrainError(f"torch's {spec.title} cannot be captured in a CUDA graph")
        device = params[0].device
        cfg["lr"] = torch.tensor(float(config.lr), dtype=torch.float32, device=device)
        extra = dict(spec.graph_settings)
        if device.type != "cuda":
            extra = {"foreach": False} | ({"fused": True} if extra.get("fused") else {})
    try:
        optimizer = train_optim.make_optimizer(params, cfg, spec.table_entry(), fused, extra)
    except ValueError as e:
        raise TrainError(str(e)) from None
    if graph:
        for group in optimizer.param_groups:
            group["initial_lr"] = float(config.lr)  # the schedule's base: the number, not float32
    return optimizer


def l1_penalty(params: Iterable[torch.Tensor]) -> torch.Tensor:
    """Sum of absolute values of the weights (tensors of rank ≥ 2; biases and norm scales are left out)."""
    weights = train_optim.l1_weights(list(params))
    if not weights:
        raise TrainError("the L1 penalty needs weights, and the model has none")
    return train_optim.l1_penalty(weights)


# --- learning-rate schedule ------------------------------------------------------------


class LRSchedule(train_optim.LRSchedule):
    """The schedule of ``config`` (see :class:`workbench.standalone.train_optim.LRSchedule`),
    with what a workbench run adds: :attr:`per_batch` for the trainer, :meth:`extend` for
    "train N more epochs", and :meth:`state_dict` / :meth:`load_state_dict` for an exact
    resume.

    Call :meth:`apply` with the step before it is taken (the trainer does so once per epoch,
    or every step when :attr:`per_batch`) and :meth:`epoch_end` after each validation.
    """

    def __init__(
        self, optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
    ) -> None:
        super().__init__(
            optimizer, config.to_dict(), config.epochs, steps_per_epoch, config.monitor_is_max()
        )

    @property
    def per_batch(self) -> bool:
        """True when the rate changes within an epoch (warm-up, cosine, one-cycle)."""
        spec = SCHEDULE_SPECS.get(self.kind)
        return self.warmup_steps > 0 or (spec is not None and spec.per_batch)

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


def make_loss(name: str, config: TrainConfig, num_classes: int | None = None) -> LossFn:
    """A ``loss(output, target)`` function returning the batch mean (see
    :func:`workbench.standalone.train_optim.make_loss`).
    """
    try:
        return train_optim.make_loss(name, config.to_dict())
    except ValueError as e:
        raise TrainError(str(e)) from None


__all__ = [
    "FUSED_DEVICES",
    "ONECYCLE_DIV",
    "ONECYCLE_FINAL_DIV",
    "LRSchedule",
    "LossFn",
    "l1_penalty",
    "make_loss",
    "make_optimizer",
    "match_target",
    "resolve_loss",
    "standardized_loss",
]
