"""File ▸ New, Open, Save and Save As, and the recent projects, for the window's document.

Each operation asks its questions through the window (``_ask_save_changes``,
``_ask_open_path``, ``_ask_save_path``) and reports failures with ``show_error``, so a
script or test drives it with plain calls.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from workbench.core.document import Document
from workbench.core.graph import GraphError
from workbench.core.project import ProjectError, project_file, suggested_project_file
from workbench.core.templates import TEMPLATES, make_project

if TYPE_CHECKING:
    from workbench.ui.window.main import MainWindow


class ProjectFiles(QObject):
    """Opens, creates and saves the window's project; see the module docstring."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window

    def new_project(self, template_name: str = "empty") -> bool:
        """Replace the document with a new project from a template (asks to save first)."""
        w = self.window
        try:
            project = make_project(template_name)
        except KeyError as e:
            w.show_error("Unknown template", str(e.args[0]))
            return False
        except GraphError as e:
            w.show_error(
                "Cannot create the model", f"The template '{template_name}' is not available: {e}"
            )
            return False
        if not self.maybe_save():
            return False
        w.set_document(Document(project))
        w.show_page("model")
        w.fit_soon()
        w.show_status(f"New model from “{TEMPLATES[template_name].title}”")
        return True

    def open_project(self, path: str | os.PathLike[str]) -> bool:
        """Open the project at ``path`` (asks to save changes first); False if not opened."""
        w = self.window
        if not self.maybe_save():
            return False
        from workbench.engine.runs import settle_quietly  # file reads only: no torch

        # A run killed before its first checkpoint is shown failed, not running.
        settle_quietly(path)
        try:
            document = Document.open(path)
        except ProjectError as e:
            w.show_error("Cannot open the project", str(e))
            return False
        w.set_document(document)
        self.remember(document.path)
        w.show_page("model")
        w.fit_soon()
        w.show_status(f"Opened {document.path}")
        return True

    def open_project_dialog(self) -> bool:
        """Ask for a project file and open it."""
        path = self.window._ask_open_path()
        return self.open_project(path) if path else False

    def save_project(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Save to ``path``, the current file, or a file the user picks; False if not saved."""
        w = self.window
        w.inspector.commit_pending()
        if path is None and w.document.path is None:
            path = w._ask_save_path()
            if not path:
                return False
        target = project_file(path) if path is not None else None
        # A dataset path is stored relative to the project file: follow a new location.
        w.data_controller.rebase_dataset_path(target or w.document.path)
        try:
            w.document.save(target)
        except ProjectError as e:
            w.show_error("Cannot save the project", str(e))
            return False
        w.autosave.discard()
        self.remember(w.document.path)
        w.show_status(f"Saved {w.document.path}")
        return True

    def save_project_as(self) -> bool:
        """Ask for a new file name and save there."""
        path = self.window._ask_save_path()
        return bool(path) and self.save_project(path)

    def suggested_save_path(self) -> Path:
        """Where the save dialog starts: the project's file, or a new one named after it."""
        doc = self.window.document
        return doc.path or suggested_project_file(doc.name, self.window.settings.start_dir())

    def maybe_save(self) -> bool:
        """Ask whether to save unsaved changes; True when it is fine to go on."""
        w = self.window
        w.inspector.commit_pending()
        if not w.document.modified:
            return True
        choice = w._ask_save_changes()
        if choice == "save":
            return self.save_project()
        return choice == "discard"

    # --- recent projects --------------------------------------------------------------------

    def remember(self, path: Path | None) -> None:
        """Put ``path`` first among the recent projects (settings and Start page)."""
        if path is None:
            return
        self.window.settings.remember_project(path)
        self.window.start_page.set_recent(self.window.settings.recent_files())

    def clear_recent(self) -> None:
        """Forget the recent projects."""
        self.window.settings.clear_recent()
        self.window.start_page.set_recent([])
