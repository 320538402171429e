"""The optimizer, the learning-rate schedule (with linear warm-up) and the losses.

One copy for the workbench and for an exported ``train.py``: both call these with plain
dicts (the training settings, as config.json's ``training`` holds them, and the optimizer's
entry of the workbench's optimizer table, which config.json's ``optimizers`` holds), so an
exported run trains with exactly the numbers the workbench's did.

The schedule is a small class rather than a chain of ``torch.optim.lr_scheduler`` objects:
warm-up composes with every schedule (plateau included), its state is a few numbers (so a
resumed run is exact), and "train N more epochs" can extend it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

#: One-cycle starts at lr / ONECYCLE_DIV and ends at lr / (ONECYCLE_DIV * ONECYCLE_FINAL_DIV),
#: torch's OneCycleLR defaults.
ONECYCLE_DIV = 25.0
ONECYCLE_FINAL_DIV = 1e4
#: The relative improvement the plateau schedule asks for (as torch's ReduceLROnPlateau).
PLATEAU_THRESHOLD = 1e-4


# --- the optimizer ---------------------------------------------------------------------------


def make_optimizer(
    params: Sequence[nn.Parameter],
    cfg: Mapping[str, Any],
    spec: Mapping[str, Any],
    fused: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> torch.optim.Optimizer:
    """The optimizer of ``spec`` over ``params``, with the rate and settings of ``cfg``.

    ``spec`` is one entry of the optimizer table: ``torch_class`` (a class of
    ``torch.optim``), ``settings`` (``{torch keyword: key of cfg}`` beyond ``lr`` and
    ``weight_decay``) and ``fused_devices`` (where torch has a single-kernel implementation,
    used when ``fused`` is true and every parameter is a float tensor on one such device).
    Weight decay is L2 added to the gradient, except where the class decouples it (AdamW).
    ``extra`` adds keywords of the class (``capturable``, ``foreach``…); ``cfg["lr"]`` may
    be a one-element tensor.

    Raises:
        ValueError: no parameters, or ``torch.optim`` has no such class.
    """
    if not params:
        raise ValueError("the model has no trainable parameters")
    cls: Any = getattr(torch.optim, str(spec["torch_class"]), None)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise ValueError(f"torch.optim has no optimizer {spec['torch_class']!r}")
    kwargs: dict[str, Any] = {key: cfg[field] for key, field in spec.get("settings", {}).items()}
    devices = {p.device.type for p in params}
    if (
        fused
        and len(devices) == 1
        and next(iter(devices)) in spec.get("fused_devices", ())
        and all(p.is_floating_point() for p in params)
    ):
        kwargs["fused"] = True
    if extra:
        kwargs.update(extra)
        if kwargs.get("foreach"):
            kwargs.pop("fused", None)
    factory: Any = cls  # its own keywords, which Optimizer's signature does not list
    optimizer: torch.optim.Optimizer = factory(
        params, lr=cfg["lr"], weight_decay=cfg["weight_decay"], **kwargs
    )
    return optimizer


# --- the learning-rate schedule -----------------------------------------------------------


class LRSchedule:
    """The learning rate as a function of the optimizer step, with optional linear warm-up.

    ``step`` counts optimizer steps taken so far. The first ``warmup_epochs`` epochs ramp
    linearly up to the base rate; the chosen schedule (``cfg["schedule"]``) then runs on the
    remaining steps as if they started at zero. ``step`` and ``exponential`` change the rate
    once per epoch, ``cosine`` and ``onecycle`` every step (over the whole run), ``plateau``
    when the monitored metric stops improving (``maximize``: larger is better); ``none``
    keeps it.

    Call :meth:`apply` with the step before it is taken and :meth:`epoch_end` after each
    validation.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        cfg: Mapping[str, Any],
        epochs: int,
        steps_per_epoch: int,
        maximize: bool,
    ) -> None:
        self.optimizer = optimizer
        self.kind = str(cfg["schedule"])
        self.base_lrs = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        for g, base in zip(optimizer.param_groups, self.base_lrs, strict=True):
            g["initial_lr"] = base
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.warmup_steps = int(cfg["warmup_epochs"]) * self.steps_per_epoch
        self.step_size = cfg["step_size"]
        self.step_gamma = cfg["step_gamma"]
        self.exp_gamma = cfg["exp_gamma"]
        self.onecycle_pct = cfg["onecycle_pct"]
        self.min_lr = cfg["min_lr"]
        self.plateau_factor = cfg["plateau_factor"]
        self.plateau_patience = cfg["plateau_patience"]
        self.maximize = maximize
        # state
        self.cycle_start = self.warmup_steps  # first step of the (cosine / one-cycle) cycle
        self.cycle_steps = max(1, epochs * self.steps_per_epoch - self.warmup_steps)
        self.scale = 1.0  # plateau reductions so far
        self.plateau_best: float | None = None
        self.plateau_bad = 0
        self.last_step = 0
        #: The first group's rate as last applied (a number, also when the rate is a tensor).
        self.current_lr = self.base_lrs[0]

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

    def _floor(self) -> float:
        return self.min_lr / self.base_lrs[0] if self.base_lrs[0] > 0 else 0.0

    def _cosine_factor(self, t: float) -> float:
        floor = self._floor()
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
            lr = g["lr"]
            if isinstance(lr, torch.Tensor):
                lr.fill_(base * f)  # in place: a captured CUDA graph reads this tensor
            else:
                g["lr"] = base * f
        self.current_lr = self.base_lrs[0] * f
        self.last_step = step

    def epoch_end(self, metric: float | None) -> None:
        """Feed the monitored metric after an epoch (only the plateau schedule uses it)."""
        if self.kind != "plateau" or metric is None or not math.isfinite(metric):
            return
        if self.last_step < self.warmup_steps:
            return
        best = self.plateau_best
        threshold = PLATEAU_THRESHOLD
        improved = best is None or (
            metric > best * (1 + threshold) if self.maximize else metric < best * (1 - threshold)
        )
        if improved:
            self.plateau_best, self.plateau_bad = metric, 0
            return
        self.plateau_bad += 1
        if self.plateau_bad > self.plateau_patience:
            self.scale = max(self._floor(), self.scale * self.plateau_factor)
            self.plateau_bad = 0


# --- L1 penalty ------------------------------------------------------------------------------


def l1_weights(params: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """The tensors the L1 penalty counts: weights of rank ≥ 2 (not biases or norm scales)."""
    return [p for p in params if p.dim() >= 2]


def l1_penalty(weights: Sequence[torch.Tensor]) -> torch.Tensor:
    """The sum of the absolute values of ``weights`` (see :func:`l1_weights`)."""
    return torch.stack([w.abs().sum() for w in weights]).sum()


# --- losses ----------------------------------------------------------------------------------


def match_target(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """A regression target reshaped to the output's shape, as float32 (or the output's float64)."""
    if y.shape != out.shape and y.numel() == out.numel():
        y = y.reshape(out.shape)
    dtype = torch.float64 if out.dtype == torch.float64 else torch.float32
    return y if y.dtype == dtype else y.to(dtype)


def make_loss(name: str, cfg: Mapping[str, Any]) -> LossFn:
    """A ``loss(output, target)`` function returning the batch mean.

    Regression targets of shape ``(N,)`` are matched to outputs of shape ``(N, 1)``;
    BCE with class-index targets one-hot encodes them to the output's width.

    Raises:
        ValueError: an unknown loss.
    """
    if name == "cross_entropy":
        smoothing = cfg["label_smoothing"]

        def cross_entropy(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.cross_entropy(out, y, label_smoothing=smoothing)

        return cross_entropy
    if name == "bce_with_logits":

        def bce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            out = out.float()
            if y.dtype in (torch.int64, torch.int32) and y.dim() == 1:  # class indices
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
        delta = cfg["huber_delta"]

        def huber(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return F.huber_loss(
                out if out.dtype == torch.float64 else out.float(),
                match_target(out, y),
                delta=delta,
            )

        return huber
    raise ValueError(f"unknown loss '{name}'")


def standardized_loss(loss: LossFn, mean: torch.Tensor, std: torch.Tensor) -> LossFn:
    """``loss`` on standardized regression targets: ``loss(out, (y - mean) / std)``.

    The model learns to output targets in standard units, so targets of any size (prices
    in the hundreds of thousands, fractions of a millimetre) train alike; metrics and
    predictions undo the scaling (``out * std + mean``).
    """
    inv = 1.0 / std

    def scaled(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        y = match_target(out, y)
        return loss(out, (y - mean) * inv)

    return scaled
