"""Datasets: sources (image folders, tables, arrays), checks, splits, preprocessing, loaders.

:func:`open_dataset` picks the source for a path. Sources are torch-free and Qt-free;
preparing them for training (``Source.prepare``) imports torch.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench.data.base import (
    Cancelled,
    DataCancelled,
    DataError,
    DatasetInfo,
    DataSettings,
    Problem,
    Progress,
    Source,
    Split,
    make_split,
)

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet")
ARRAY_SUFFIXES = (".npz", ".npy")


def open_dataset(
    path: str | os.PathLike[str],
    target: str | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Source:
    """Scan the dataset at ``path`` and return its source.

    A folder is an image folder (one subfolder per class, optionally inside train/,
    val/ and test/); a CSV whose rows name image files is an image index; other CSV,
    TSV and Parquet files are tables; .npz and .npy files are arrays.

    Raises:
        DataError: one line naming the file and what is wrong with it.
        DataCancelled: when ``cancelled()`` returned True.
    """
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or folder")
    if p.is_dir():
        from workbench.data.images import ImageFolderSource

        return ImageFolderSource.scan(p, progress=progress, cancelled=cancelled)
    suffix = p.suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        from workbench.data.arrays import ArraySource

        return ArraySource.scan(p, progress=progress, cancelled=cancelled)
    if suffix in TABLE_SUFFIXES:
        if suffix != ".parquet":
            from workbench.data.images import ImageIndexSource, is_image_index

            if is_image_index(p):
                return ImageIndexSource.scan(p, progress=progress, cancelled=cancelled)
        from workbench.data.tables import TableSource

        return TableSource.scan(p, target=target, progress=progress, cancelled=cancelled)
    raise DataError(
        f"{p.name}: not a dataset Model Workbench can read "
        "(expected a folder of images, or a .csv, .tsv, .parquet, .npz or .npy file)"
    )


__all__ = [
    "DataCancelled",
    "DataError",
    "DataSettings",
    "DatasetInfo",
    "Problem",
    "Source",
    "Split",
    "make_split",
    "open_dataset",
]
