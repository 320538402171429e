"""Autosaving the window's modified document now and then, and offering back what a crash left.

The files and their records are ``core.autosave``'s; this part owns the timer, this
session's autosave file and the recovery offer at start-up.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer

from workbench.core.autosave import autosave_file, find_autosaves, remove_autosave, write_autosave
from workbench.core.document import Document
from workbench.core.project import ProjectError, load_project
from workbench.core.settings import autosave_dir

if TYPE_CHECKING:
    from workbench.ui.window.main import MainWindow

AUTOSAVE_INTERVAL_MS = 60_000


class Autosaver(QObject):
    """Writes an autosave copy of a modified document on a timer; see the module docstring.

    Attributes:
        timer: Fires every :attr:`interval_ms` to autosave.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        #: This session's autosave file, while there is one.
        self.current: Path | None = None
        self._session_key = uuid.uuid4().hex[:12]
        self.timer = QTimer(self)
        self.timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.timer.timeout.connect(self.save_now)
        self.timer.start()

    @property
    def interval_ms(self) -> int:
        """How often a modified project is autosaved."""
        return self.timer.interval()

    @interval_ms.setter
    def interval_ms(self, ms: int) -> None:
        self.timer.setInterval(int(ms))

    def path(self) -> Path:
        """Where the current document is autosaved."""
        doc = self.window.document
        return autosave_file(autosave_dir(), doc.name, doc.path, self._session_key)

    def save_now(self) -> Path | None:
        """Write an autosave copy if the document has unsaved changes; return its path."""
        doc = self.window.document
        if not doc.modified:
            return None
        path = self.path()
        try:
            write_autosave(doc.project, path, doc.name, doc.path)
        except (OSError, ProjectError) as e:
            self.window.show_status(f"Autosave failed: {e}")
            return None
        if self.current is not None and self.current != path:
            remove_autosave(self.current)
        self.current = path
        return path

    def discard(self) -> None:
        """Remove this session's autosave (the document was saved, replaced or closed)."""
        if self.current is not None:
            remove_autosave(self.current)
            self.current = None

    def stop(self) -> None:
        """Stop autosaving and remove this session's autosave (the window closes)."""
        self.timer.stop()
        self.discard()

    def find_autosaves(self) -> list[dict[str, Any]]:
        """Autosaves left by earlier sessions, newest first."""
        return find_autosaves(autosave_dir(), skip=self.current)

    def offer_recovery(self) -> bool:
        """Offer to recover the newest autosave left by a crash; True if one was opened."""
        w = self.window
        entries = self.find_autosaves()
        if not entries:
            return False
        entry = entries[0]
        choice = w._ask_recover(entry)
        if choice == "discard":
            remove_autosave(entry["path"])
            return False
        if choice != "recover" or not w.files.maybe_save():
            return False
        try:
            project = load_project(entry["path"])
        except ProjectError as e:
            w.show_error("Cannot recover the project", str(e))
            return False
        document = Document(project, entry["original_path"])
        w.set_document(document)
        document.mark_modified()
        # Keep the recovered copy until the next autosave replaces it or a save removes it.
        self.current = entry["path"]
        self.save_now()
        w.show_page("model")
        w.fit_soon()
        w.show_status(f"Recovered “{entry['name']}” — save it to keep the changes")
        return True
