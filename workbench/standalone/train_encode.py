"""Encoding a table's rows and arrays' samples as Model Workbench does; torch-free (numpy),
shared by the app.

Arrays (.npz/.npy): :func:`encode_x` converts the stored layout, normalizes with the
training split's mean and std, and pads or truncates sequences.

Tables: the preprocessing fitted on the training split (config.json's
``preprocessing["features"]``) says how. A numeric column is standardized with its mean and
std (a missing cell becomes 0, the mean), a categorical one is one-hot encoded over its
categories (an unseen category is all zeros, a missing one the most frequent, ``fill``).
How the cells are read differs (the workbench has typed columns, train_tables.py parses
cell texts); the encoding is :func:`encode_features`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

#: A numeric feature's values for the rows (float64, NaN where missing or not a number).
Numbers = Callable[[Mapping[str, Any]], np.ndarray]
#: A categorical feature's category index for each row (int64, -1: no category, the fill
#: already applied) given ``{category: index}``, and which rows' cells were missing.
Categories = Callable[[Mapping[str, Any], dict[str, int]], tuple[np.ndarray, np.ndarray]]


def encode_features(
    features: Sequence[Mapping[str, Any]],
    rows: int,
    width: int,
    numbers: Numbers,
    categories: Categories,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The features of ``rows`` rows, (rows, width) float32, and each feature's missing cells.

    ``numbers`` and ``categories`` read one feature's column (see :data:`Numbers` and
    :data:`Categories`).
    """
    x = np.zeros((rows, width), np.float32)
    missing: dict[str, np.ndarray] = {}
    at = 0
    for f in features:
        if f["type"] == "numeric":
            v = numbers(f)
            miss = np.isnan(v)
            z = (v - f["mean"]) / f["std"]
            z[miss] = 0.0  # the training mean
            x[:, at] = z
            at += 1
        else:
            index = {c: k for k, c in enumerate(f["categories"])}
            idx, miss = categories(f, index)
            ok = idx >= 0
            x[np.flatnonzero(ok), at + idx[ok]] = 1.0
            at += len(index)
        missing[f["name"]] = miss
    return x, missing


# --- arrays ---------------------------------------------------------------------------------


def normalize_x(x: np.ndarray, pre: Mapping[str, Any]) -> np.ndarray:
    """The training split's normalization: ``(x - mean) / std`` per feature or channel."""
    mean = np.asarray(pre["mean"], np.float32)
    std = np.asarray(pre["std"], np.float32)
    if pre["layout"] == "images":
        mean, std = mean[:, None, None], std[:, None, None]
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


def convert_x(x: np.ndarray, preprocessing: Mapping[str, Any]) -> np.ndarray:
    """The layout conversion of raw x rows (as stored in the file): dtype, axes, scale.

    Features are flattened to (N, F) float32; token ids become int64; channels-last
    images are transposed to (N, C, H, W) and uint8 images scaled to [0, 1].
    """
    layout = preprocessing["layout"]
    if layout == "tokens":
        ids = np.asarray(x, np.int64)
        return ids[None] if ids.ndim == 1 else ids
    out = np.asarray(x, np.float32)
    if layout == "features":
        # the width spelled out: -1 cannot be inferred for an empty split
        out = out.reshape(len(out), int(np.prod(out.shape[1:], dtype=np.int64)))
    elif layout == "images":
        if preprocessing.get("scale"):
            out = out * np.float32(preprocessing["scale"])
        if out.ndim == 3:
            out = out[:, None]
        elif preprocessing.get("channels_last"):
            out = out.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(out, dtype=np.float32)


def fit_length(x: np.ndarray, seq_len: int | None) -> np.ndarray:
    """Pad at the start with zeros, or keep the last ``seq_len`` steps (axis 1)."""
    if seq_len is None or x.shape[1] == seq_len:
        return x
    if x.shape[1] > seq_len:
        return np.ascontiguousarray(x[:, x.shape[1] - seq_len :])
    pad = [(0, 0)] * x.ndim
    pad[1] = (seq_len - x.shape[1], 0)
    return np.pad(x, pad)


def encode_x(x: np.ndarray, preprocessing: Mapping[str, Any]) -> np.ndarray:
    """New samples, stored like the training file's x, turned into model input.

    Repeats what the workbench's ``ArraySource.prepare`` did: the layout conversion, the
    training-split normalization, then padding or truncating sequences.
    """
    out = convert_x(x, preprocessing)
    if preprocessing.get("mean") is not None and preprocessing["layout"] != "tokens":
        out = normalize_x(out, preprocessing)
    if preprocessing["layout"] in ("tokens", "sequences"):
        out = fit_length(out, preprocessing.get("seq_len"))
    return out
