"""Files and folders dragged onto the window: the "Drop to …" highlight and what a drop does.

A filter on the window sees the drag events that reach it (also those a child such as the
canvas passes on). What a drop opens or imports is decided by ``core.dropped``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QLabel

from workbench.core.dropped import drop_hint, plan_drop
from workbench.ui import theme

if TYPE_CHECKING:
    from workbench.ui.window.main import MainWindow

#: How long the "one dataset at a time" note stays in the status bar (ms).
NOTE_MS = 10_000


def local_paths(event: QDropEvent) -> list[str]:
    """The local files and folders an event carries."""
    mime = event.mimeData()
    if not mime.hasUrls():
        return []
    return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]


class DropTarget(QObject):
    """Takes drops of local paths on the window; see the module docstring.

    Attributes:
        overlay: The highlight shown while paths are dragged over the window (made on first use).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.overlay: QLabel | None = None
        window.setAcceptDrops(True)
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.DragLeave:
            self.hide_overlay()
        elif isinstance(event, QDropEvent):  # drag enter and move events are drop events too
            paths = local_paths(event)
            if kind == QEvent.Type.Drop:
                self.hide_overlay()
            if not paths:
                event.ignore()
                return False
            event.acceptProposedAction()
            if kind == QEvent.Type.DragEnter:
                self.show_overlay(paths)
            elif kind == QEvent.Type.Drop:
                # Opening may ask questions: do it after the drop has finished.
                QTimer.singleShot(0, lambda: self.handle_dropped_paths(paths))
            return True
        return False

    def show_overlay(self, paths: list[str]) -> None:
        """Cover the window with "Drop to import …" while files are dragged over it."""
        if self.overlay is None:
            overlay = QLabel(self.window)
            overlay.setObjectName("dropOverlay")
            overlay.setAlignment(Qt.AlignmentFlag.AlignCenter)
            overlay.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            overlay.setWordWrap(True)
            self.overlay = overlay
        overlay = self.overlay
        overlay.setText(drop_hint(paths))
        tint = theme.HOVER_TINT
        overlay.setStyleSheet(
            f"QLabel#dropOverlay {{ background: {tint}; color: {theme.ACCENT}; font-size: 18pt;"
            f" font-weight: 600; border: 3px dashed {theme.ACCENT}; border-radius: 14px; }}"
        )
        overlay.setGeometry(self.window.rect().adjusted(12, 12, -12, -12))
        overlay.raise_()
        overlay.show()

    def hide_overlay(self) -> None:
        """End the highlight."""
        if self.overlay is not None:
            self.overlay.hide()

    def handle_dropped_paths(self, paths: list[str]) -> None:
        """Open a dropped project; import another dropped file or folder as a dataset."""
        w = self.window
        plan = plan_drop(paths)
        if plan.project:
            w.open_project(plan.project)
        if plan.others:
            w.last_dropped_paths = plan.others
            w.paths_dropped.emit(plan.others)
        if plan.dataset:
            w.import_dataset(plan.dataset)
            if plan.note:
                w.show_status(plan.note, NOTE_MS)
