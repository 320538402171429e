"""The shared vocabulary of datasets: sources, problems, settings, splits.

A :class:`Source` is a scanned dataset (an image folder, a table, arrays): it knows how
many samples there are, their labels and what is wrong with them, and decodes samples
on demand. It is torch-free; :meth:`Source.prepare` (in the torch-using modules) turns
it into tensors or a streaming dataset for training. Everything here is Qt-free.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

if TYPE_CHECKING:
    from workbench.data.prepared import Prepared

Kind = Literal["images", "table", "arrays"]
Task = Literal["classification", "regression"]
Severity = Literal["error", "warning", "info"]

#: ``progress(done, total)``; ``total`` may be 0 while unknown.
Progress = Callable[[int, int], None]
#: Returns True when the caller wants the work abandoned.
Cancelled = Callable[[], bool]
#: Sample indices -> the samples' ids: file paths (images), 1-based data rows (tables),
#: indices into x (arrays).
SampleIds = Callable[[np.ndarray], list[Any]]


class DataError(ValueError):
    """A dataset that cannot be used; the one-line message names the file and the problem."""

    def __init__(self, message: str) -> None:
        # File contents (column names, cells) can carry line breaks; the message stays one line.
        super().__init__(" ".join(str(message).split()))


class DataCancelled(Exception):
    """The scan or preparation was cancelled by the caller."""


@dataclass(frozen=True)
class Problem:
    """Something wrong with the data, found by the check before training."""

    item: str
    reason: str
    severity: Severity = "warning"

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return {"item": self.item, "reason": self.reason, "severity": self.severity}


@dataclass
class Augment:
    """Training-only image augmentation."""

    hflip: bool = False
    rotation: float = 0.0  # degrees, uniformly in [-r, r]
    resized_crop: bool = False  # random crop of 80-100 % of the area, resized back
    brightness: float = 0.0  # factor jitter, uniformly in [1-b, 1+b]
    contrast: float = 0.0

    @property
    def active(self) -> bool:
        """True when any augmentation is switched on."""
        return bool(
            self.hflip or self.rotation or self.resized_crop or self.brightness or self.contrast
        )


@dataclass
class DataSettings:
    """How a dataset is split and preprocessed; stored in the project file.

    ``path`` is stored relative to the project file where possible.
    """

    path: str = ""
    target: str | None = None  # tables: the target column
    val_ratio: float = 0.15
    test_ratio: float = 0.15
    seed: int = 0
    # images
    image_size: tuple[int, int] = (32, 32)  # (height, width)
    color: Literal["grayscale", "rgb"] = "rgb"
    normalize: bool = True  # mean/std from the training split
    augment: Augment = field(default_factory=Augment)
    # tables
    missing: Literal["impute", "drop"] = "impute"
    # sequences
    seq_len: int | None = None  # pad or truncate to this length; None keeps the data's

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the project file."""
        d = asdict(self)
        d["image_size"] = list(self.image_size)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DataSettings:
        """Rebuild from :meth:`to_dict`; raises DataError for malformed values."""
        try:
            d = copy.deepcopy(dict(d))
            aug = Augment(**d.pop("augment", {}) or {})
            s = cls(augment=aug, **d)
            s.image_size = (int(s.image_size[0]), int(s.image_size[1]))
        except (TypeError, ValueError, IndexError, KeyError) as e:
            raise DataError(f"the project's dataset settings are malformed ({e})") from None
        if not isinstance(s.path, str):
            raise DataError("the project's dataset path must be a string")
        if not (0 <= s.val_ratio < 1 and 0 <= s.test_ratio < 1 and s.val_ratio + s.test_ratio < 1):
            raise DataError(
                "validation and test ratios must be between 0 and 1 and leave samples to train on"
            )
        if s.color not in ("grayscale", "rgb") or s.missing not in ("impute", "drop"):
            raise DataError("the project's dataset settings have an unknown option")
        if min(s.image_size) < 1 or max(s.image_size) > 4096:
            raise DataError("image size must be between 1 and 4096 pixels")
        return s


@dataclass
class DatasetInfo:
    """What a scan learned: shown in the Data tab and by ``workbench data inspect``."""

    path: str
    kind: Kind
    task: Task
    num_samples: int
    classes: list[str] | None  # None for regression
    class_counts: dict[str, int]
    problems: list[Problem]
    #: Per-sample shape and dtype a model sees with default settings, e.g. (3, 32, 32).
    sample_shape: tuple[int, ...]
    dtype: Literal["float32", "int64"] = "float32"
    num_targets: int = 1  # regression outputs
    splits_given: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def num_classes(self) -> int | None:
        """Number of classes, or None for regression."""
        return len(self.classes) if self.classes is not None else None

    def to_json(self) -> dict[str, Any]:
        """The ``workbench data inspect --json`` document."""
        return {
            "path": self.path,
            "kind": self.kind,
            "task": self.task,
            "num_samples": self.num_samples,
            "num_classes": self.num_classes,
            "classes": dict(self.class_counts),
            "sample_shape": list(self.sample_shape),
            "dtype": self.dtype,
            "splits_given": self.splits_given,
            "problems": [p.to_dict() for p in self.problems],
            "details": self.details,
        }


@dataclass
class Split:
    """Sample indices of the train, validation and test splits."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        """Samples per split."""
        return {"train": len(self.train), "val": len(self.val), "test": len(self.test)}


def make_split(
    labels: np.ndarray,
    task: Task,
    val_ratio: float,
    test_ratio: float,
    seed: int,
    given: np.ndarray | None = None,
) -> Split:
    """A reproducible split: stratified by class for classification, shuffled for regression.

    Args:
        labels: Class indices (classification) or targets (regression), one row per sample.
        task: The task; classification stratifies by class.
        val_ratio: Fraction of samples for validation.
        test_ratio: Fraction of samples for testing.
        seed: The same seed gives the same split every time.
        given: Per-sample split codes (0 train, 1 val, 2 test) from the folder layout;
            when present they are respected and the ratios only cut validation out of a
            training set that has none.
    """
    n = len(labels)
    rng = np.random.default_rng(seed)
    if given is not None:
        given = np.asarray(given)
        train = np.flatnonzero(given == 0)
        val = np.flatnonzero(given == 1)
        test = np.flatnonzero(given == 2)
        if len(val) == 0 and val_ratio > 0 and len(train) > 1:
            sub = make_split(labels[train], task, val_ratio, 0.0, seed)
            val, train = train[sub.val], train[sub.train]
        return Split(np.sort(train), np.sort(val), np.sort(test))
    if task == "classification":
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    else:
        groups = [np.arange(n)]
    train_parts, val_parts, test_parts = [], [], []
    for idx in groups:
        idx = rng.permutation(idx)
        k = len(idx)
        n_test = int(round(k * test_ratio))
        n_val = int(round(k * val_ratio))
        if k - n_test - n_val < 1:  # keep at least one training sample per class
            n_test = min(n_test, max(0, k - 1))
            n_val = min(n_val, max(0, k - 1 - n_test))
        test_parts.append(idx[:n_test])
        val_parts.append(idx[n_test : n_test + n_val])
        train_parts.append(idx[n_test + n_val :])

    def cat(parts: list[np.ndarray]) -> np.ndarray:
        return np.sort(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64)

    return Split(cat(train_parts), cat(val_parts), cat(test_parts))


def target_scale(y_train: np.ndarray) -> dict[str, list[float]]:
    """Per-target mean and std of regression targets over the training split.

    Training fits the model to ``(y - mean) / std`` (targets of any size train alike) and
    reports errors in the targets' own units; exported models undo the scaling inside,
    so they predict in those units. A constant target gets std 1.
    """
    y = np.asarray(y_train, np.float64).reshape(len(y_train), -1)
    if len(y) == 0:
        return {"mean": [0.0] * y.shape[1], "std": [1.0] * y.shape[1]}
    mean = np.nanmean(y, axis=0)
    std = np.nanstd(y, axis=0)
    std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
    mean = np.where(np.isfinite(mean), mean, 0.0)
    return {"mean": [float(v) for v in mean], "std": [float(v) for v in std]}


def target_note(scale: dict[str, list[float]]) -> str:
    """The prepared data's note about the target scaling."""
    pairs = ", ".join(
        f"mean {m:.4g}, std {s:.4g}" for m, s in zip(scale["mean"], scale["std"], strict=True)
    )
    return f"Regression target standardized for training ({pairs} of the training split); metrics and predictions are in its own units"


def _indices(indices: np.ndarray) -> list[Any]:
    return [int(i) for i in indices]


class Source(ABC):
    """A scanned dataset; subclasses exist per kind (images, table, arrays)."""

    kind: Kind
    path: Path

    @abstractmethod
    def info(self) -> DatasetInfo:
        """Counts, classes, problems and the per-sample shape with default settings."""

    @property
    @abstractmethod
    def labels(self) -> np.ndarray:
        """Per-sample class indices (int64) or regression targets (float32)."""

    @property
    def given_split(self) -> np.ndarray | None:
        """Split codes given by the data's layout (0 train, 1 val, 2 test), or None."""
        return None

    def sample_ids(self) -> SampleIds:
        """A function from sample indices to the ids that lead a user back to the samples.

        The function keeps no reference to the source itself (a prepared dataset holds it
        for as long as it trains). Here: the indices themselves; subclasses give paths or
        rows.
        """
        return _indices

    def split(self, settings: DataSettings) -> Split:
        """The split for these settings (same settings, same split)."""
        info = self.info()
        return make_split(
            self.labels,
            info.task,
            settings.val_ratio,
            settings.test_ratio,
            settings.seed,
            self.given_split,
        )

    def input_spec(
        self, settings: DataSettings
    ) -> tuple[tuple[int, ...], Literal["float32", "int64"]]:
        """Per-sample shape and dtype a model sees with ``settings`` (cheap: no decoding).

        Subclasses whose shape depends on settings beyond these rules override it.
        """
        info = self.info()
        shape = tuple(info.sample_shape)
        if info.kind == "images":
            channels = 1 if settings.color == "grayscale" else 3
            shape = (channels, *settings.image_size)
        elif settings.seq_len is not None and info.details.get("sequence"):
            shape = (settings.seq_len, *shape[1:])
        return shape, info.dtype

    @abstractmethod
    def preview(self, limit: int = 64) -> dict[str, Any]:
        """A small, cheap look at the data for the UI.

        Images: ``{"items": [(path, class_name), ...]}`` (a few per class);
        tables: ``{"columns": [...], "rows": [[...], ...]}``;
        arrays: ``{"x_shape": [...], "y_shape": [...], "rows": [...]}``.
        """

    @abstractmethod
    def prepare(
        self,
        settings: DataSettings,
        progress: Progress | None = None,
        cancelled: Cancelled | None = None,
    ) -> Prepared:
        """Split and preprocess for training (imports torch)."""
