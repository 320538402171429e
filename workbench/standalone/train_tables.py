"""Reading a table (CSV and the like) as Model Workbench does: columns, encoding, split."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

if __package__:  # imported from the workbench
    from .train_encode import encode_features
    from .train_split import make_split
    from .train_text import MISSING, sniff_delimiter
else:  # run from an exported folder, beside its modules
    from train_encode import encode_features  # type: ignore[no-redef]
    from train_split import make_split  # type: ignore[no-redef]
    from train_text import MISSING, sniff_delimiter  # type: ignore[no-redef]


# --- reading the table ---------------------------------------------------------------------


def read_text(path: Path) -> str:
    """The file's text: UTF-8 (with or without a byte-order mark), UTF-16 with one, or Latin-1."""
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_table(path: Path) -> tuple[list[list[str]], str]:
    """Every row of a CSV/TSV/text table (or a Parquet file, with pyarrow) as cell texts,
    and the delimiter."""
    if path.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq  # pip install pyarrow

        columns = pq.read_table(path).to_pydict()
        cells = [
            ["" if v is None else str(v) for v in row]
            for row in zip(*columns.values(), strict=True)
        ]
        return [list(columns), *cells], ","
    text = read_text(path)
    sample = text[:65536]
    if len(text) > len(sample) and "\n" in sample:
        sample = sample[: sample.rfind("\n")]  # whole lines only, as the workbench sniffs
    delimiter = sniff_delimiter(sample, path.suffix.lower()) or ","
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=delimiter == " "
    )
    return [row for row in reader if row], delimiter


def find_columns(
    path: Path, rows: list[list[str]], wanted: list[str]
) -> tuple[dict[str, int], int]:
    """The index of each wanted column, and how many rows the header takes (0 or 1).

    Columns are found by name in the first row (exactly, then ignoring case); a table
    without a header has its columns named column_1, column_2, … as in the workbench.
    """
    names: list[str] = []
    for j, raw in enumerate(rows[0]):
        name = base = raw.strip() or f"column_{j + 1}"
        k = 2
        while name in names:  # repeated names are numbered
            name, k = f"{base}_{k}", k + 1
        names.append(name)
    lower = {n.lower(): j for j, n in reversed(list(enumerate(names)))}
    found = {w: names.index(w) if w in names else lower.get(w.lower(), -1) for w in wanted}
    if all(j >= 0 for j in found.values()):
        return found, 1
    numbered = {f"column_{j + 1}": j for j in range(len(rows[0]))}
    if all(w in numbered for w in wanted):
        return {w: numbered[w] for w in wanted}, 0
    missing = next(w for w, j in found.items() if j < 0)
    raise SystemExit(f"{path.name}: no column named {missing!r} (the model was trained with it)")


def parse_number(cell: str, decimal_comma: bool) -> float:
    """A cell's number; NaN when it is missing or not a number. "1,5" reads as 1.5 in files
    separated by semicolons or tabs."""
    s = cell.strip()
    if s.lower() in MISSING:
        return math.nan
    try:
        v = float(s)
    except ValueError:
        if not (decimal_comma and s.count(",") == 1 and "." not in s):
            return math.nan
        try:
            v = float(s.replace(",", "."))
        except ValueError:
            return math.nan
    return v if math.isfinite(v) else math.nan


def lookup(cell: str, index: dict[str, int], decimal_comma: bool) -> int | None:
    """The index of the category (or class) a cell names: by its text, or else by its number
    written as the workbench writes numbers ("3.0" is category "3")."""
    s = cell.strip()
    if s in index:
        return index[s]
    v = parse_number(s, decimal_comma)
    if math.isnan(v):
        return None
    return index.get(str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v))


def load_datasets(config: dict[str, Any], path: Path) -> tuple[dict[str, Dataset], list[str]]:
    """The train, val and test datasets of a table, encoded with the stored preprocessing.

    Numeric columns are standardized with the training split's mean and std (missing and
    non-numeric cells become 0, the mean); categorical columns are one-hot encoded over
    the training split's categories (unseen ones are all zeros, missing ones the most
    frequent). Rows without a usable target are left out.
    """
    pre, settings = config["preprocessing"], config["data"]
    features = pre["features"]
    rows, delimiter = read_table(path)
    if not rows:
        raise SystemExit(f"{path.name}: the table is empty")
    column, skip = find_columns(path, rows, [f["name"] for f in features] + [pre["target"]])
    width = len(rows[0])
    decimal_comma = delimiter != ","
    classification = config["task"] == "classification"
    class_index = {c: k for k, c in enumerate(config["classes"] or [])}
    kept: list[list[str]] = []
    targets: list[float] = []
    label: float | None
    for row in rows[skip:]:
        if len(row) == width + 1 and not row[-1].strip():
            row = row[:-1]  # a trailing delimiter
        if len(row) != width:
            raise SystemExit(f"{path.name}: a row has {len(row)} fields but the header has {width}")
        cell = row[column[pre["target"]]]
        if classification:
            label = (
                lookup(cell, class_index, decimal_comma)
                if cell.strip().lower() not in MISSING
                else None
            )
        else:
            value = parse_number(cell, decimal_comma)
            label = None if math.isnan(value) else value
        if label is not None:
            kept.append(row)
            targets.append(label)
    notes = []
    if len(kept) < len(rows) - skip:
        notes.append(
            f"{len(rows) - skip - len(kept)} row(s) without a usable target value left out"
        )

    def numbers(f: Mapping[str, Any]) -> np.ndarray:
        cells = (row[column[f["name"]]] for row in kept)
        return np.array([parse_number(c, decimal_comma) for c in cells], np.float64)

    def categories(f: Mapping[str, Any], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
        cells = [row[column[f["name"]]] for row in kept]
        fill = index.get(f["fill"]) if f.get("fill") is not None else None
        missing = np.array([c.strip().lower() in MISSING for c in cells], bool)
        found = [
            fill if m else lookup(c, index, decimal_comma)
            for c, m in zip(cells, missing, strict=True)
        ]
        return np.array([-1 if k is None else k for k in found], np.int64), missing

    x, missing = encode_features(features, len(kept), pre["num_features"], numbers, categories)
    incomplete = np.zeros(len(kept), bool)
    for miss in missing.values():
        incomplete |= miss

    y: np.ndarray
    if classification:
        y = np.array(targets, np.int64)
    else:
        y = np.array(targets, np.float32).reshape(-1, 1)
    labels = y if classification else y[:, 0]
    split = make_split(
        labels, config["task"], settings["val_ratio"], settings["test_ratio"], settings["seed"]
    )
    if pre.get("missing") == "drop":  # rows with a missing feature are not used
        split = {name: idx[~incomplete[idx]] for name, idx in split.items()}
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    datasets: dict[str, Dataset] = {
        name: TensorDataset(xt[idx], yt[idx]) for name, idx in split.items()
    }
    return datasets, notes


def make_input_transform(
    config: dict[str, Any], device: torch.device, seed: int
) -> Callable[[torch.Tensor, bool], torch.Tensor]:
    """The samples are encoded when the dataset is read: batches go to the model as they are."""
    return lambda x, training: x
