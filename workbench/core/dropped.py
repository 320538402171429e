"""Files and folders dropped on the window: which open as projects, which import as data.

A dropped ``.wbproj`` file opens as the project; anything else is offered to the
dataset import, one at a time. Nothing here imports Qt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from workbench.core.project import SUFFIX


def is_project_path(path: str) -> bool:
    """Whether ``path`` names a project file by its suffix (case-insensitive)."""
    return path.lower().endswith(SUFFIX)


def split_dropped(paths: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(projects, others)``: existing project files, and every other dropped path.

    A path with the project suffix that is not an existing file goes with the others, so
    the import explains what is wrong with it.
    """
    projects = [p for p in paths if is_project_path(p) and Path(p).is_file()]
    others = [p for p in paths if p not in projects]
    return projects, others


def drop_hint(paths: Sequence[str]) -> str:
    """What dropping ``paths`` (at least one) will do: "Drop to open net.wbproj",
    "Drop to import flowers (and 2 more)"."""
    projects = [p for p in paths if is_project_path(p)]
    if projects:
        return f"Drop to open {Path(projects[0]).name}"
    name = Path(paths[0]).name or paths[0]
    more = f" (and {len(paths) - 1} more)" if len(paths) > 1 else ""
    return f"Drop to import {name}{more}"


def one_at_a_time_note(others: Sequence[str]) -> str:
    """The status line when several datasets were dropped: only the first is imported."""
    return f"Importing {Path(others[0]).name}: one dataset at a time" if len(others) > 1 else ""


@dataclass(frozen=True)
class DropPlan:
    """What the window does with dropped paths.

    Attributes:
        project: The project file to open, or None.
        others: Every dropped path that is not a project file (the window reports them).
        dataset: The path to import as a dataset (the first of ``others``, when no project
            was dropped), or None.
        note: The status line to show with the import ("" when there is nothing to add).
    """

    project: str | None
    others: list[str]
    dataset: str | None
    note: str


def plan_drop(paths: Sequence[str]) -> DropPlan:
    """Open the first dropped project; without one, import the first other path as data."""
    projects, others = split_dropped(paths)
    if projects:
        return DropPlan(projects[0], others, None, "")
    dataset = others[0] if others else None
    return DropPlan(None, others, dataset, one_at_a_time_note(others) if others else "")


__all__ = [
    "DropPlan",
    "drop_hint",
    "is_project_path",
    "one_at_a_time_note",
    "plan_drop",
    "split_dropped",
]
