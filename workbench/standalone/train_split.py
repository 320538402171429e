"""The train/val/test split of Model Workbench: the same ratios and seed give the same samples."""

from __future__ import annotations

import numpy as np

#: Folder names (lower case, and an image index's split values) that give the split, and
#: its code.
SPLIT_NAMES: dict[str, int] = {
    "train": 0,
    "training": 0,
    "val": 1,
    "valid": 1,
    "validation": 1,
    "test": 2,
    "testing": 2,
}


def make_split(
    labels: np.ndarray,
    task: str,
    val_ratio: float,
    test_ratio: float,
    seed: int,
    given: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Sample indices of the train, val and test splits, the same as Model Workbench makes them.

    Classification is stratified: each class's samples are shuffled with the seed and cut
    by the ratios (test first, then validation, at least one sample left to train on);
    regression shuffles all samples at once. Split codes given by the data (0 train, 1 val,
    2 test) are kept; only a missing validation split is then cut out of the training one.
    """
    rng = np.random.default_rng(seed)
    if given is not None:
        train, val, test = (np.flatnonzero(given == code) for code in (0, 1, 2))
        if len(val) == 0 and val_ratio > 0 and len(train) > 1:
            sub = make_split(labels[train], task, val_ratio, 0.0, seed)
            train, val = train[sub["train"]], train[sub["val"]]
        return {"train": np.sort(train), "val": np.sort(val), "test": np.sort(test)}
    if task == "classification":
        groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    else:
        groups = [np.arange(len(labels))]
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for idx in groups:
        idx = rng.permutation(idx)
        k = len(idx)
        n_test, n_val = int(round(k * test_ratio)), int(round(k * val_ratio))
        if k - n_test - n_val < 1:
            n_test = min(n_test, max(0, k - 1))
            n_val = min(n_val, max(0, k - 1 - n_test))
        parts["test"].append(idx[:n_test])
        parts["val"].append(idx[n_test : n_test + n_val])
        parts["train"].append(idx[n_test + n_val :])
    return {name: np.sort(np.concatenate(p)).astype(np.int64) for name, p in parts.items()}
