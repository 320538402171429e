"""An open project being edited: every edit is undoable, and listeners hear of changes.

The GUI, scripts and tests all edit through :class:`Document`; it snapshots the graph
before each edit (graphs are small), so undo and redo restore exact states.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.graph import Graph, GraphError
from workbench.core.project import Project, ProjectError, load_project, save_project
from workbench.core.shapes import Analysis, analyze

Listener = Callable[["Document"], None]
MAX_UNDO = 500


@dataclass
class _Step:
    label: str
    before: dict[str, Any]
    after: dict[str, Any]
    serial: int = 0


class Document:
    """A project plus its file path, undo history and modified state."""

    def __init__(
        self, project: Project | None = None, path: str | os.PathLike[str] | None = None
    ) -> None:
        self.project = project or Project()
        self.path: Path | None = Path(path) if path else None
        self._undo: list[_Step] = []
        self._serial = 0
        self._redo: list[_Step] = []
        self._saved_marker: object | None = self._marker()
        self._listeners: list[Listener] = []
        self._analysis: Analysis | None = None

    # --- state ------------------------------------------------------------------------

    @property
    def graph(self) -> Graph:
        """The model graph (edit it through :meth:`edit` so undo works)."""
        return self.project.graph

    @property
    def analysis(self) -> Analysis:
        """Shape inference for the current graph (cached until the next change)."""
        if self._analysis is None:
            self._analysis = analyze(self.graph)
        return self._analysis

    @property
    def name(self) -> str:
        """The file's stem, or the project name while it has no file."""
        return self.path.stem if self.path else self.project.name

    def _marker(self) -> object | None:
        return self._undo[-1].serial if self._undo else None

    @property
    def modified(self) -> bool:
        """True when the graph differs from what was last saved or opened."""
        return self._marker() != self._saved_marker

    def mark_modified(self) -> None:
        """Flag a change that is not in the undo history (e.g. dataset settings)."""
        self._saved_marker = object()
        self._changed()

    def save_runs(self) -> bool:
        """Write the runs list into the project file, leaving other unsaved changes alone.

        A finished training run is recorded by the app, not edited by the user, so it
        must not make the project "modified". The file on disk gets the new runs list and
        keeps everything else as it was saved; the in-memory project keeps its unsaved
        edits. Without a file (or if it cannot be written) the document is marked
        modified instead, so the runs are saved with the next Save. Returns whether the
        file was written.
        """
        if self.path is None:
            self.mark_modified()
            return False
        try:
            on_disk = load_project(self.path)
            on_disk.runs = [dict(r) for r in self.project.runs]
            save_project(on_disk, self.path)
        except (OSError, ProjectError):
            self.mark_modified()
            return False
        self._changed()
        return True

    # --- listeners --------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(document)`` after every change."""
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        """Stop calling ``listener``."""
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _changed(self) -> None:
        self._analysis = None
        for listener in list(self._listeners):
            listener(self)

    # --- editing ----------------------------------------------------------------------

    def edit(self, label: str, fn: Callable[[Graph], Any]) -> Any:
        """Apply ``fn(graph)`` as one undoable step called ``label``; return its result.

        If ``fn`` raises GraphError the graph is restored and the error re-raised.
        """
        before = self.graph.to_dict()
        try:
            result = fn(self.graph)
        except GraphError:
            self.project.graph = Graph.from_dict(before)
            self._analysis = None
            raise
        after = self.graph.to_dict()
        if after != before:
            self._serial += 1
            self._undo.append(_Step(label, before, after, self._serial))
            del self._undo[:-MAX_UNDO]
            self._redo.clear()
            self._changed()
        return result

    def can_undo(self) -> bool:
        """Whether there is an edit to undo."""
        return bool(self._undo)

    def can_redo(self) -> bool:
        """Whether there is an undone edit to redo."""
        return bool(self._redo)

    def undo_label(self) -> str:
        """Label of the edit that undo would revert ('' if none)."""
        return self._undo[-1].label if self._undo else ""

    def redo_label(self) -> str:
        """Label of the edit that redo would apply ('' if none)."""
        return self._redo[-1].label if self._redo else ""

    def undo(self) -> bool:
        """Revert the last edit; return False if there was none."""
        if not self._undo:
            return False
        step = self._undo.pop()
        self._redo.append(step)
        self.project.graph = Graph.from_dict(step.before)
        self._changed()
        return True

    def redo(self) -> bool:
        """Apply the last undone edit again; return False if there was none."""
        if not self._redo:
            return False
        step = self._redo.pop()
        self._undo.append(step)
        self.project.graph = Graph.from_dict(step.after)
        self._changed()
        return True

    # --- files ------------------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Document:
        """Load a project file (raises ProjectError)."""
        return cls(load_project(path), path)

    def save(self, path: str | os.PathLike[str] | None = None) -> None:
        """Save atomically to ``path`` or the current path (raises ProjectError)."""
        target = Path(path) if path else self.path
        if target is None:
            raise ValueError("the document has no file yet: pass a path")
        if self.path is None or target != self.path:
            self.project.name = target.stem
        save_project(self.project, target)
        self.path = target
        self._saved_marker = self._marker()
        self._changed()
