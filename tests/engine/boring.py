"""Tiny fixtures for trainer tests: prepared data from random tensors, a boring model, a recorder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from workbench.data.base import Split
from workbench.data.prepared import Prepared, TensorData
from workbench.engine.trainer import Callback, Trainer


def make_prepared(
    task: str = "classification",
    n_train: int = 12,
    n_val: int = 4,
    features: int = 4,
    classes: int = 2,
    targets: int = 1,
    seed: int = 0,
) -> Prepared:
    """A learnable random dataset held as tensors (labels come from a fixed linear rule)."""
    g = torch.Generator().manual_seed(seed)
    n = n_train + n_val
    x = torch.randn(n, features, generator=g)
    w = torch.randn(features, classes if task == "classification" else targets, generator=g)
    if task == "classification":
        y = (x @ w).argmax(1)
    else:
        y = x @ w + 0.1 * torch.randn(n, targets, generator=g)
    split = Split(np.arange(n_train), np.arange(n_train, n), np.arange(0))
    empty = TensorData(x[:0], y[:0])
    return Prepared(
        task=task,  # type: ignore[arg-type]
        classes=[f"c{i}" for i in range(classes)] if task == "classification" else None,
        input_shape=(features,),
        input_dtype="float32",
        num_targets=targets,
        split=split,
        train=TensorData(x[:n_train], y[:n_train]),
        val=TensorData(x[n_train:], y[n_train:]),
        test=empty,
    )


class BoringModel(nn.Module):
    """A linear layer: trains in microseconds."""

    def __init__(self, features: int = 4, outputs: int = 2) -> None:
        super().__init__()
        self.layer = nn.Linear(features, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class Recorder(Callback):
    """Records every hook call as a short string, in order."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.losses: list[torch.Tensor] = []
        self.rows: list[dict[str, Any]] = []

    def on_fit_start(self, trainer: Trainer) -> None:
        self.calls.append("fit_start")

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        self.calls.append(f"epoch_start {epoch}")

    def on_batch_end(self, trainer: Trainer, batch: int, loss: torch.Tensor) -> None:
        self.calls.append(f"batch_end {batch}")
        self.losses.append(loss)

    def on_validation_start(self, trainer: Trainer) -> None:
        self.calls.append("validation_start")

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        self.calls.append("validation_end")

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        self.calls.append(f"epoch_end {metrics['epoch']}")
        self.rows.append(metrics)

    def on_checkpoint(self, trainer: Trainer, path: Path, kind: str) -> None:
        self.calls.append(f"checkpoint {kind}")

    def on_fit_end(self, trainer: Trainer) -> None:
        self.calls.append(f"fit_end {trainer.status}")

    def on_exception(self, trainer: Trainer, error: BaseException) -> None:
        self.calls.append(f"exception {type(error).__name__}")


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of the model's state."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    """True when every tensor is exactly equal."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
