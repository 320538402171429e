"""Reading arrays (.npz/.npy) as Model Workbench does: layout, normalization, split."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

if __package__:  # imported from the workbench
    from .train_encode import encode_x
    from .train_split import make_split
else:  # run from an exported folder, beside its modules
    from train_encode import encode_x  # type: ignore[no-redef]
    from train_split import make_split  # type: ignore[no-redef]


# --- reading the arrays --------------------------------------------------------------------

X_KEYS = ("x", "inputs", "input", "features", "data", "images", "sequences")
Y_KEYS = ("y", "labels", "label", "targets", "target")
CLASS_KEYS = ("classes", "class_names", "label_names", "labels_names")
SPLIT_KEYS = {"train": 0, "val": 1, "valid": 1, "validation": 1, "test": 2}


def class_names(values: np.ndarray) -> list[str] | None:
    if values.ndim != 1 or values.dtype.kind not in "USiuf" or len(values) == 0:
        return None
    return [
        v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values.tolist()
    ]


def load_arrays(path: Path) -> tuple[np.ndarray, np.ndarray, list[str] | None, np.ndarray | None]:
    """x, y, the class names stored with them, and split codes (Keras-style x_train, x_val…).

    An .npz holds x and y (or inputs/features… and labels/targets…, or else its first two
    arrays); a .npy pair is foo_x.npy + foo_y.npy (and optionally foo_classes.npy).
    """
    if path.suffix.lower() == ".npy":
        m = re.match(r"^(.*?)([_\-.]?)([xy])$", path.stem, re.IGNORECASE)
        if m is None:
            raise SystemExit(f"{path.name}: name the pair foo_x.npy and foo_y.npy")
        base = m.group(1) + m.group(2)
        siblings = {p.name.lower(): p for p in path.parent.iterdir()}
        if (base + "x.npy").lower() not in siblings or (base + "y.npy").lower() not in siblings:
            raise SystemExit(f"{path.name}: its partner ({base}x.npy or {base}y.npy) is missing")
        x = np.load(siblings[(base + "x.npy").lower()], allow_pickle=False)
        y = np.load(siblings[(base + "y.npy").lower()], allow_pickle=False)
        names_file = siblings.get((base + "classes.npy").lower())
        listed = class_names(np.load(names_file, allow_pickle=False)) if names_file else None
        return x, y, listed, None
    with np.load(path, allow_pickle=False) as z:
        lower = {k.lower(): k for k in z.files}
        class_key = next((lower[k] for k in CLASS_KEYS if k in lower), None)
        names = class_names(z[class_key]) if class_key else None
        if "x_train" in lower and "y_train" in lower:
            xs, ys, codes = [], [], []
            for split_name, code in SPLIT_KEYS.items():
                xk, yk = lower.get(f"x_{split_name}"), lower.get(f"y_{split_name}")
                if xk is not None and yk is not None:
                    xs.append(z[xk])
                    ys.append(z[yk])
                    codes.append(np.full(len(xs[-1]), code, np.int8))
            return np.concatenate(xs), np.concatenate(ys), names, np.concatenate(codes)
        xk = next((lower[k] for k in X_KEYS if k in lower), None)
        yk = next((lower[k] for k in Y_KEYS if k in lower), None)
        rest = [k for k in z.files if k not in (class_key, xk, yk)]
        if xk is None and yk is None:
            xk, yk = rest[0], rest[1]
        elif yk is None:
            yk = rest[0]
        elif xk is None:
            xk = rest[0]
        return z[xk], z[yk], names, None


def finite_rows(a: np.ndarray) -> np.ndarray:
    """True for each sample whose values are all finite."""
    if a.dtype.kind not in "fc":
        return np.ones(len(a), bool)
    return np.isfinite(a.reshape(len(a), -1)).all(axis=1)


def class_indices(y: np.ndarray, classes: list[str], names: list[str] | None) -> np.ndarray:
    """Each sample's class index, -1 for a class the model does not know.

    One-hot rows are read as their index; integer labels index the class names stored with
    them when there are such names, and are otherwise matched to the classes by value.
    """
    if y.ndim == 2 and y.shape[1] >= 2:
        y = y.argmax(axis=1)
    y = y.reshape(len(y))
    index = {c: k for k, c in enumerate(classes)}
    if y.dtype.kind in "US":
        return np.array([index.get(v, -1) for v in y.astype(str).tolist()], np.int64)
    values = y.astype(np.int64)
    if names is not None and len(values) and values.min() >= 0 and values.max() < len(names):
        return values
    return np.array([index.get(str(v), -1) for v in values.tolist()], np.int64)


def load_datasets(config: dict[str, Any], path: Path) -> tuple[dict[str, Dataset], list[str]]:
    """The train, val and test datasets of an .npz (or a .npy pair), and notes.

    Samples whose x or y holds NaN or infinity are left out, as in the workbench.
    """
    pre, settings = config["preprocessing"], config["data"]
    x, y, names, given = load_arrays(path)
    notes = []
    ok = finite_rows(x) & finite_rows(y)
    if config["task"] == "classification":
        labels = class_indices(y, config["classes"], names)
        if (ok & (labels < 0)).any():
            notes.append(f"{int((ok & (labels < 0)).sum())} sample(s) of unknown classes left out")
        ok &= labels >= 0
        target = torch.from_numpy(labels[ok])
    else:
        labels = np.asarray(y, np.float32)
        target = torch.from_numpy(labels[ok].reshape(int(ok.sum()), -1))
    if not ok.all():
        notes.append(
            f"{int((~ok).sum())} sample(s) left out (NaN or infinite values, or unknown classes)"
        )
    features = torch.from_numpy(encode_x(x[ok], pre))
    split = make_split(
        labels[ok],
        config["task"],
        settings["val_ratio"],
        settings["test_ratio"],
        settings["seed"],
        given[ok] if given is not None else None,
    )
    datasets: dict[str, Dataset] = {
        name: TensorDataset(features[idx], target[idx]) for name, idx in split.items()
    }
    return datasets, notes


def make_input_transform(
    config: dict[str, Any], device: torch.device, seed: int
) -> Callable[[torch.Tensor, bool], torch.Tensor]:
    """The samples are encoded when the dataset is read: batches go to the model as they are."""
    return lambda x, training: x
