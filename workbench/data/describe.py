"""What a scanned dataset looks like to a person: the preview, split sizes and the lines shown.

The import dialog and the Data tab (``workbench/ui/data/``) scan a dataset off the GUI
thread with :func:`scan_dataset` (or :func:`describe_source` for a source already open)
and show the :class:`ScanResult` with the text functions here; what they decide (why
Import is disabled, the line for a failed scan, the status after an import) is here too.
Nothing here imports Qt, so all of it is tested without a window.
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.text import plural
from workbench.data import DataCancelled, DataError, open_dataset
from workbench.data.base import DatasetInfo, DataSettings, Problem, Source

#: Images previewed in the import dialog (a few per class).
DIALOG_PREVIEW_LIMIT = 48
#: Classes shown as thumbnail rows before "… and N more classes".
MAX_CLASS_ROWS = 40
#: Each dataset kind's name as a summary line starts with it.
KIND_TITLE = {"images": "Images", "table": "Table", "arrays": "Arrays"}
#: Column types a table's model does not use.
UNUSED_COLUMN_TYPES = frozenset({"id", "constant", "empty", "too many values"})


@dataclass
class ScanResult:
    """What a background scan hands back to the GUI."""

    source: Source
    info: DatasetInfo
    preview: dict[str, Any]
    split_sizes: dict[str, int]
    #: Folder-given splits include a validation split (so the ratio is not used).
    given_has_val: bool
    #: Regression: (counts, bin edges) of the target; None for classification.
    target_histogram: tuple[list[float], list[float]] | None


def default_settings(
    source: Source, info: DatasetInfo, path: str | os.PathLike[str]
) -> DataSettings:
    """Settings for a fresh import: the defaults plus what the scan suggests."""
    s = DataSettings(path=str(Path(path).resolve()))
    target = info.details.get("target")
    if info.kind == "table" and isinstance(target, str):
        s.target = target
    suggested = info.details.get("suggested_size")
    if info.kind == "images" and suggested and len(suggested) == 2:
        s.image_size = (int(suggested[0]), int(suggested[1]))
    color = info.details.get("suggested_color")
    if info.kind == "images" and color in ("grayscale", "rgb"):
        s.color = color
    elif info.kind == "images" and info.sample_shape and info.sample_shape[0] == 1:
        s.color = "grayscale"
    return s


def describe_source(
    source: Source,
    path: str,
    settings: DataSettings | None,
    cancelled: Callable[[], bool],
    preview_limit: int = DIALOG_PREVIEW_LIMIT,
    images_per_class: int | None = None,
) -> ScanResult:
    """Gather the preview, split sizes and target histogram of a scanned source (run off-thread)."""
    info = source.info()
    if cancelled():
        raise DataCancelled()
    limit = preview_limit
    if info.kind == "images" and images_per_class and info.num_classes:
        limit = min(MAX_CLASS_ROWS, info.num_classes) * images_per_class
    preview = source.preview(limit)
    s = settings or default_settings(source, info, path)
    sizes = source.split(s).sizes()
    given = source.given_split
    given_has_val = bool(given is not None and (given == 1).any())
    hist = None
    if info.task == "regression":
        import numpy as np

        y = np.asarray(source.labels, dtype=np.float64).reshape(len(source.labels), -1)[:, 0]
        y = y[np.isfinite(y)]
        if len(y):
            counts, edges = np.histogram(y, bins=min(30, max(5, int(math.sqrt(len(y))))))
            hist = (counts.astype(float).tolist(), edges.astype(float).tolist())
    return ScanResult(source, info, preview, sizes, given_has_val, hist)


def scan_dataset(
    path: str,
    target: str | None,
    settings: DataSettings | None,
    progress: Callable[[int, int], None],
    cancelled: Callable[[], bool],
    preview_limit: int = DIALOG_PREVIEW_LIMIT,
    images_per_class: int | None = None,
) -> ScanResult:
    """Scan ``path`` and gather everything the dialog and the Data tab show (slow: run off-thread).

    Raises:
        DataError: the dataset cannot be used (one line naming the file).
        DataCancelled: ``cancelled()`` returned True.
    """
    source = open_dataset(path, target, progress, cancelled)
    return describe_source(source, path, settings, cancelled, preview_limit, images_per_class)


def retarget(
    source: Source,
    target: str,
    settings: DataSettings | None,
    progress: Callable[[int, int], None],
    cancelled: Callable[[], bool],
) -> ScanResult:
    """The same table with another target column, without reading the file again when possible."""
    with_target = getattr(source, "with_target", None)
    if with_target is None:
        return scan_dataset(str(source.path), target, settings, progress, cancelled)
    return describe_source(with_target(target), str(source.path), settings, cancelled)


def load_thumbnails(
    paths: Sequence[str],
    size: int,
    progress: Callable[[int, int], None],
    cancelled: Callable[[], bool],
    publish: Callable[[Any], None],
) -> None:
    """Decode ``paths`` into RGBA thumbnails, publishing ``(index, w, h, bytes)`` per image.

    Small images are enlarged with nearest-neighbour so their pixels stay visible;
    unreadable ones are published with ``w == 0``.
    """
    from PIL import Image

    n = len(paths)
    for i, p in enumerate(paths):
        if cancelled():
            return
        try:
            with Image.open(p) as im:
                im.draft("RGB", (size, size))  # JPEG: decode at a reduced scale
                if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
                    frame = wide_to_rgba(im)
                else:
                    frame = im.convert("RGBA")
            w, h = frame.size
            scale = min(size / w, size / h)
            if scale >= 2:
                k = int(scale)
                frame = frame.resize((w * k, h * k), Image.Resampling.NEAREST)
            elif scale < 1:
                frame.thumbnail((size, size), Image.Resampling.BILINEAR)
            publish((i, frame.width, frame.height, frame.tobytes()))
        except Exception:  # noqa: BLE001 - an unreadable file gets a placeholder, never a crash
            publish((i, 0, 0, b""))
        progress(i + 1, n)


def summary_text(info: DatasetInfo, sizes: dict[str, int] | None = None) -> str:
    """One line: kind, samples, classes or regression, and the split sizes."""
    unit = {"images": "images", "table": "rows", "arrays": "samples"}[info.kind]
    parts = [KIND_TITLE[info.kind], f"{info.num_samples:,} {unit}"]
    if info.task == "classification":
        parts.append(plural(info.num_classes or 0, "class"))
    else:
        parts.append(
            "regression" + (f" ({info.num_targets} targets)" if info.num_targets > 1 else "")
        )
    target = info.details.get("target")
    if info.kind == "table" and target:
        parts.append(f"target “{target}”")
    if sizes is not None:
        parts.append(
            f"train {sizes['train']:,} / validation {sizes['val']:,} / test {sizes['test']:,}"
        )
    return " · ".join(parts)


def details_text(info: DatasetInfo) -> str:
    """A muted line on what the scan found inside the data (columns, layout, formats)."""
    d = info.details
    parts: list[str] = []
    if info.kind == "table":
        cols = [c for c in d.get("columns", []) if isinstance(c, dict)]
        numeric = sum(1 for c in cols if c.get("type") == "numeric")
        categorical = sum(1 for c in cols if c.get("type") == "categorical")
        parts.append(f"Features: {numeric} numeric, {categorical} categorical")
        dropped = [str(c.get("name")) for c in cols if c.get("type") in UNUSED_COLUMN_TYPES]
        if dropped:
            shown = ", ".join(f"“{n}”" for n in dropped[:4]) + (" …" if len(dropped) > 4 else "")
            parts.append(f"not used: {shown}")
    elif info.kind == "arrays":
        layout, shape = d.get("layout"), list(info.sample_shape)
        if layout == "tokens":
            vocab = d.get("vocab_size")
            parts.append(
                f"Token ids, {shape[0]} per sequence" + (f", vocabulary {vocab}" if vocab else "")
            )
        elif layout == "sequences" and len(shape) == 2:
            parts.append(f"Sequences of {shape[0]} steps × {shape[1]} features")
        elif layout == "images":
            parts.append("Images " + " × ".join(str(v) for v in shape))
        elif layout == "features":
            parts.append(f"{shape[0] if shape else 0} features per sample")
        parts.extend(str(n) for n in d.get("notes", [])[:2])
    elif info.kind == "images":
        formats, modes = d.get("formats"), d.get("modes")
        if isinstance(formats, dict) and formats:
            parts.append(
                "Formats: " + ", ".join(f"{k} ({v:,})" for k, v in list(formats.items())[:4])
            )
        if isinstance(modes, dict) and modes:
            parts.append("modes: " + ", ".join(f"{k} ({v:,})" for k, v in list(modes.items())[:4]))
    return " · ".join(p for p in parts if p)


def findings_title(problems: Sequence[Problem]) -> str:
    """ "Check: 1 error, 2 warnings" or "Check: no problems"."""
    counts = {s: sum(1 for p in problems if p.severity == s) for s in ("error", "warning", "info")}
    parts = [f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n]
    if not parts:
        return "CHECK: NO PROBLEMS"
    return "CHECK: " + ", ".join(parts).upper()


def cell_text(v: Any) -> str:
    """A preview cell as text: floats to 6 digits, NaN as a dash, long lists cut."""
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return "—"
        return f"{v:.6g}"
    if isinstance(v, list | tuple):
        inner = ", ".join(cell_text(x) for x in v[:8])
        return f"[{inner}{', …' if len(v) > 8 else ''}]"
    return str(v)


def column_note(kind: str | None) -> str:
    """What a table's column is used for, from its type (a header's tooltip)."""
    if kind is None:
        return ""
    if kind == "target":
        return "The target: what the model learns to predict"
    if kind in UNUSED_COLUMN_TYPES:
        return f"Not used: {kind}"
    return f"Feature ({kind})"


def preview_rows(
    info: DatasetInfo, preview: dict[str, Any]
) -> tuple[list[str], list[list[Any]], int | None]:
    """Columns, rows and the highlighted (target) column of a table or arrays preview."""
    rows = [list(r) if isinstance(r, list | tuple) else [r] for r in preview.get("rows", [])]
    if info.kind == "table":
        columns = [str(c) for c in preview.get("columns", [])]
        target = info.details.get("target")
        hl = columns.index(target) if isinstance(target, str) and target in columns else None
        return columns, rows, hl
    columns = [str(c) for c in preview.get("columns", [])]
    width = max((len(r) for r in rows), default=0)
    if len(columns) != width:
        columns = ["x", "y"] if width == 2 else [f"column {i + 1}" for i in range(width)]
    hl = columns.index("y") if "y" in columns else None
    return columns, rows, hl


def arrays_caption(preview: dict[str, Any]) -> str:
    """ "x: (1000, 28, 28) · y: (1000,)" for an arrays preview."""

    def fmt(s: Any) -> str:
        try:
            dims = [int(d) for d in s]
        except TypeError:
            return str(s)
        return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"

    parts = []
    if "x_shape" in preview:
        parts.append(f"x: {fmt(preview['x_shape'])}")
    if "y_shape" in preview:
        parts.append(f"y: {fmt(preview['y_shape'])}")
    return " · ".join(parts)


def wide_to_rgba(im: Any) -> Any:
    """16-bit and float images scaled to 8 bits by their own range (Pillow would clip)."""
    import numpy as np
    from PIL import Image

    a = np.asarray(im, dtype=np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    scaled = (
        np.zeros(a.shape, np.uint8)
        if hi <= lo
        else ((a - lo) * (255.0 / (hi - lo))).astype(np.uint8)
    )
    return Image.fromarray(scaled, "L").convert("RGBA")


def size_note(sizes: Any, suggested: Any) -> str:
    """ "All images are 28 × 28 px." or "Sizes found: …; suggested: 64 × 48 px."."""

    def pretty(key: str) -> str:
        return key.replace("x", " × ", 1) + " px" if "x" in key else key

    note = ""
    if isinstance(sizes, dict) and len(sizes) == 1:
        note = f"All images are {pretty(next(iter(sizes)))}."
    elif isinstance(sizes, dict) and sizes:
        common = ", ".join(f"{pretty(k)} ({v:,})" for k, v in list(sizes.items())[:3])
        note = f"Sizes found: {common}{', …' if len(sizes) > 3 else ''}."
    if suggested and len(suggested) == 2:
        h, w = int(suggested[0]), int(suggested[1])
        if not (isinstance(sizes, dict) and list(sizes) == [f"{w}x{h}"]):
            note += f" Suggested input size: {w} × {h} px."
    return note.strip()


def settings_text(kind: str, s: DataSettings) -> str:
    """One line with the preprocessing in force: "Preprocessing: 28 × 28 px, grayscale, …"."""
    parts: list[str] = []
    if kind == "images":
        h, w = s.image_size
        parts.append(f"{w} × {h} px")
        parts.append("grayscale" if s.color == "grayscale" else "RGB")
        if s.normalize:
            parts.append("normalized")
        a = s.augment
        aug = [
            name
            for name, on in (
                ("flip", a.hflip),
                (f"rotation ±{a.rotation:g}°", a.rotation),
                ("resized crop", a.resized_crop),
                (f"brightness ±{a.brightness:.0%}", a.brightness),
                (f"contrast ±{a.contrast:.0%}", a.contrast),
            )
            if on
        ]
        parts.append("augmentation: " + ", ".join(aug) if aug else "no augmentation")
    elif kind == "table":
        parts.append(
            "missing values filled in"
            if s.missing == "impute"
            else "rows with missing values dropped"
        )
    if s.seq_len is not None:
        parts.append(f"sequences padded or truncated to {s.seq_len}")
    return "Preprocessing: " + ", ".join(parts) if parts else ""


def target_note(info: DatasetInfo) -> str:
    """What a table's target column makes of the task, under the target's name."""
    if info.task == "regression":
        return "Regression: the target is a number with many distinct values."
    return f"Classification into {plural(info.num_classes or 0, 'class')}."


def missing_note(info: DatasetInfo) -> str:
    """How many feature cells are missing, and in how many columns (tables)."""
    cols = [
        c
        for c in info.details.get("columns", [])
        if isinstance(c, dict) and c.get("type") != "target"
    ]
    missing = sum(int(c.get("missing") or 0) for c in cols)
    n_cols = sum(1 for c in cols if c.get("missing"))
    if not missing:
        return "No missing values."
    cells = "cell" if missing == 1 else "cells"
    columns = "column" if n_cols == 1 else "columns"
    return f"{missing:,} {cells} missing in {n_cols} {columns}."


def split_note(info: DatasetInfo, given_has_val: bool) -> str:
    """How the data is split: as the folder gives it, or stratified by class, or shuffled."""
    if info.splits_given:
        if given_has_val:
            return (
                "The folder gives the splits (train/, val/, test/) and they are used as they are."
            )
        return (
            "The folder gives the training and test splits; "
            "validation is cut from the training split."
        )
    return "Stratified by class." if info.task == "classification" else "Shuffled."


def natural_length(info: DatasetInfo) -> int:
    """The steps per sample of a sequence dataset as it is stored (1 without a shape)."""
    return info.sample_shape[0] if info.sample_shape else 1


def preview_caption(info: DatasetInfo, preview: dict[str, Any], with_total: bool = False) -> str:
    """The line above a table or arrays preview.

    "The first 200 rows" (or "The first 200 of 1,000 rows" with ``with_total``) for a
    table, the arrays' shapes for arrays.
    """
    if info.kind != "table":
        return arrays_caption(preview)
    shown = len(preview.get("rows", []))
    if not with_total:
        return f"The first {shown:,} rows"
    total = preview.get("total_rows", info.num_samples)
    return f"The first {shown:,} of {int(total):,} rows"


def progress_text(done: int, total: int) -> str:
    """ "120 of 5,000 files", or "120 files" while the total is unknown ('' before any)."""
    if total > 0:
        return f"{done:,} of {total:,} files"
    return f"{done:,} files" if done else ""


def rescan_text(target: str | None) -> str:
    """What a scan with another target column (or a repeated scan) says while it runs."""
    return f"Scanning again with target “{target}”…" if target else "Scanning again…"


def failure_text(error: BaseException, path: str) -> str:
    """One line for a scan that failed: a :class:`DataError`'s message, or for anything
    else (a bug, not bad data) the file's name and the exception's type and message."""
    if isinstance(error, DataError):
        return str(error)
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    return f"{Path(path).name or path}: could not be read ({detail})"


def import_blocker(scanned: bool, busy: bool, error: str, problems: Sequence[Problem]) -> str:
    """Why the import dialog's Import button is disabled ('' when it can be pressed)."""
    if not scanned or busy or error:
        return "Scan a readable dataset first"
    if any(p.severity == "error" for p in problems):
        return "Fix the errors listed under Check before importing"
    return ""


def with_misfit(problems: Sequence[Problem], fits: bool) -> list[Problem]:
    """The check's findings, plus one row when the data does not fit the model.

    The dialog says why above the list and offers the fix; the list only counts it.
    """
    if fits:
        return list(problems)
    return [*problems, Problem("model", "it does not fit this data (see above)", "warning")]


def input_text(shape: Sequence[int], dtype: str) -> str:
    """ "The model will see one sample as 1 × 28 × 28 float32."."""
    from workbench.core.catalog import format_shape

    return f"The model will see one sample as {format_shape(list(shape))} {dtype}."


def split_source(info: DatasetInfo, seed: int) -> str:
    """Where the split comes from: "given by the folders" or "seed 42"."""
    return "given by the folders" if info.splits_given else f"seed {seed}"


#: Added to the notes of an import when the model has nothing to feed the data to.
NO_INPUT_NOTE = (
    "The model has no Input layer yet: add one, or start from a template, to train on this dataset"
)


def import_status(name: str, notes: Sequence[str]) -> str:
    """The status-bar line after an import: the dataset's name and what changed in the model."""
    if notes:
        return f"Imported {name}. " + "; ".join(notes)
    return f"Imported {name}; the model already fits it."
