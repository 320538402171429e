"""Tie a dataset to a project: store its settings, resolve its path, fit the model to it."""

from __future__ import annotations

import os
from pathlib import Path

from workbench.core.adapt import adapt_graph
from workbench.core.graph import Graph
from workbench.core.project import Project
from workbench.data.base import DataSettings, Source


def settings_from_project(
    project: Project, project_path: str | os.PathLike[str] | None
) -> DataSettings | None:
    """The project's dataset settings with ``path`` made absolute, or None if it has none.

    Raises:
        DataError: the stored settings are malformed.
    """
    if not project.dataset:
        return None
    settings = DataSettings.from_dict(project.dataset)
    p = Path(settings.path)
    if not p.is_absolute() and project_path is not None:
        p = (Path(project_path).resolve().parent / p).resolve()
    settings.path = str(p)
    return settings


def store_settings(
    project: Project, settings: DataSettings, project_path: str | os.PathLike[str] | None
) -> None:
    """Put ``settings`` in the project, with the path relative to the project file where possible."""
    d = settings.to_dict()
    p = Path(settings.path).resolve()
    if project_path is not None:
        base = Path(project_path).resolve().parent
        try:
            d["path"] = os.path.relpath(p, base)
        except ValueError:  # another drive on Windows
            d["path"] = str(p)
    else:
        d["path"] = str(p)
    project.dataset = d


def fit_model_to_data(graph: Graph, source: Source, settings: DataSettings) -> list[str]:
    """Set the model's Input, Output and Embedding sizes from the dataset; return notes."""
    info = source.info()
    shape, dtype = source.input_spec(settings)
    vocab = info.details.get("vocab_size")
    return adapt_graph(
        graph,
        input_shape=shape,
        input_dtype=dtype,
        task=info.task,
        num_classes=info.num_classes,
        num_targets=info.num_targets,
        vocab_size=int(vocab) if vocab else None,
    )


def default_settings(source: Source, target: str | None = None) -> DataSettings:
    """Settings a newly imported dataset starts with: its own image size and colour mode."""
    info = source.info()
    settings = DataSettings(path=str(Path(source.path).resolve()), target=target)
    if info.kind == "images":
        suggested = info.details.get("suggested_size")
        if suggested:
            settings.image_size = (int(suggested[0]), int(suggested[1]))
        if info.sample_shape and info.sample_shape[0] == 1:
            settings.color = "grayscale"
    return settings
