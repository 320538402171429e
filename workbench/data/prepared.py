"""Prepared data for training: tensors in memory, or a stream from disk, behind one API.

Both kinds of split data offer ``iter_batches(batch_size, shuffle, generator)``; the
trainer does not care which it gets. Tensor data is batched by index from tensors that
can live on the training device, so an epoch costs no Python per sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import torch

from workbench.data.base import SampleIds, Split, Task

Batch = tuple[torch.Tensor, torch.Tensor]


class SplitData(Protocol):
    """One split (train, val or test) of prepared data."""

    def __len__(self) -> int: ...

    def iter_batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> Iterator[Batch]:
        """Yield (x, y) batches."""
        ...


class TensorData:
    """A split held as two tensors; batches are index slices (no per-sample Python)."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor, augment: Any = None) -> None:
        if len(x) != len(y):  # pragma: no cover - a programming error
            raise ValueError("x and y differ in length")
        self.x = x
        self.y = y
        #: Optional ``fn(batch_x, generator) -> batch_x`` applied to training batches.
        self.augment = augment

    def __len__(self) -> int:
        return len(self.x)

    def to(self, device: torch.device | str) -> TensorData:
        """A copy on ``device`` (for example the GPU, so batches never cross the bus)."""
        return TensorData(self.x.to(device), self.y.to(device), self.augment)

    def iter_batches(
        self,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        drop_last: bool = False,
    ) -> Iterator[Batch]:
        n = len(self.x)
        if shuffle:
            order = torch.randperm(n, generator=generator).to(self.x.device)
        else:
            order = None
        stop = n - (n % batch_size) if drop_last else n
        for start in range(0, stop, batch_size):
            if order is None:
                xb, yb = self.x[start : start + batch_size], self.y[start : start + batch_size]
            else:
                idx = order[start : start + batch_size]
                xb, yb = self.x[idx], self.y[idx]
            if self.augment is not None:
                xb = self.augment(xb, generator)
            yield xb, yb


@dataclass
class Prepared:
    """A dataset ready for training, with what a model and an export need to know."""

    task: Task
    classes: list[str] | None
    input_shape: tuple[int, ...]  # per sample, batch axis left out
    input_dtype: Literal["float32", "int64"]
    num_targets: int  # regression outputs (1 for classification)
    split: Split
    train: SplitData
    val: SplitData
    test: SplitData
    in_memory: bool = True
    #: Human-readable notes about what preprocessing did (dropped columns, imputed cells…).
    notes: list[str] = field(default_factory=list)
    #: What inference needs to repeat the preprocessing (mean/std, columns, encodings).
    preprocessing: dict[str, Any] = field(default_factory=dict)
    #: Sample indices (of ``split``) -> ids: file paths, table rows… (None: the indices).
    sample_ids: SampleIds | None = None

    @property
    def num_classes(self) -> int | None:
        """Number of classes, or None for regression."""
        return len(self.classes) if self.classes is not None else None
