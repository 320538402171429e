"""The result card: nothing yet, an export under way, its failure, or what it wrote and
how closely the file matched PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.export_formats import get_format
from workbench.export.wording import result_figures, result_title, sentence
from workbench.ui import theme
from workbench.ui.export.style import set_role
from workbench.ui.theme import label


class ResultCard(QFrame):
    """The last export's result. The tab connects :attr:`open_button` and :attr:`copy_button`."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.setProperty("panel", "result")
        #: "empty", "busy", "ok" or "error": what the card shows.
        self.state = "empty"
        #: The exported file or folder, while the card shows it.
        self.path: Path | None = None
        #: What "Open folder" opens.
        self.open_target: Path | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(16, 12, 16, 14)
        v.setSpacing(6)
        self.title = QLabel("")
        self.title.setObjectName("resultTitle")
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.15)
        f.setBold(True)
        self.title.setFont(f)
        self.title.setWordWrap(True)
        self.text = label("", "muted", wrap=True)
        self.text.setObjectName("resultText")
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.busy_bar = QProgressBar()
        self.busy_bar.setObjectName("exportBusy")
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(8)
        self.figures = QWidget()
        self.figures.setObjectName("figures")
        self.figures_grid = QGridLayout(self.figures)
        self.figures_grid.setContentsMargins(0, 4, 0, 4)
        self.figures_grid.setHorizontalSpacing(14)
        self.figures_grid.setVerticalSpacing(3)
        self.figures_grid.setColumnStretch(1, 1)
        self.figure_values: dict[str, QLabel] = {}
        self.notes_label = label("", "muted", wrap=True)
        self.notes_label.setObjectName("resultNotes")
        self.open_button = QPushButton("Open containing folder")
        self.open_button.setObjectName("secondary")
        self.open_button.setToolTip("Show the exported files in the file manager")
        self.copy_button = QPushButton("Copy path")
        self.copy_button.setObjectName("secondary")
        self.copy_button.setToolTip("Copy the exported path to the clipboard")
        for b in (self.open_button, self.copy_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.setProperty("compact", True)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        v.addWidget(self.title)
        v.addWidget(self.text)
        v.addWidget(self.busy_bar)
        v.addWidget(self.figures)
        v.addWidget(self.notes_label)
        v.addLayout(buttons)

    def show_busy(self, out: Path) -> None:
        """An export to ``out`` started."""
        self.state = "busy"
        self.path = None
        self._set_title("Exporting…", theme.TEXT)
        self.text.setText(f"Writing {out}")
        set_role(self.text, "muted")
        self.text.show()
        self.busy_bar.show()
        self.figures.hide()
        self.notes_label.hide()
        self._show_buttons(False)

    def set_stage(self, message: str) -> None:
        """The exporter's current stage (``exporting to ONNX and verifying…``)."""
        if self.state == "busy":
            self._set_title(f"{sentence(message).rstrip('.')}…", theme.TEXT)

    def show_empty(self) -> None:
        """No export yet: say what will appear here."""
        self.state = "empty"
        self.path = None
        self._set_title("Nothing exported yet", theme.MUTED)
        set_role(self.text, "muted")
        self.text.setText(
            "Press Export: the model is written, then checked against PyTorch. "
            "What was written and how closely it matches appear here."
        )
        self.text.show()
        self.busy_bar.hide()
        self.figures.hide()
        self.notes_label.hide()
        self._show_buttons(False)

    def show_failure(self, message: str) -> None:
        """The export failed: its one-line message, in red."""
        self.state = "error"
        self.path = None
        self._set_title("Export failed", theme.ERROR)
        self.text.setText(sentence(message))
        set_role(self.text, "error")
        self.text.show()
        self.busy_bar.hide()
        self.figures.hide()
        self.notes_label.setText("Change what the message points to, then export again.")
        self.notes_label.show()
        self._show_buttons(False)

    def show_result(self, result: Any, source: str) -> None:
        """A successful export (an ``ExportResult``): where it went, what was checked, the figures."""
        self.state = "ok"
        path = Path(result.path)
        self.path = path
        self._set_title(result_title(result), theme.OK)
        self.text.setText(str(path))
        set_role(self.text, "muted")
        self.text.show()
        self.busy_bar.hide()
        rows, notes = result_figures(result, source)
        self._set_figures(rows)
        if notes:
            self.notes_label.setText("\n".join(f"• {sentence(n)}" for n in notes))
            self.notes_label.show()
        else:
            self.notes_label.hide()
        folder = get_format(result.format).folder
        self.open_target = path if folder else path.parent
        self.open_button.setText("Open folder" if folder else "Open containing folder")
        self._show_buttons(True)

    def figure(self, key: str) -> str:
        """The value shown for figure ``key`` ("Largest difference", "File size"…), or ''."""
        w = self.figure_values.get(key)
        return w.text() if w is not None else ""

    def _show_buttons(self, shown: bool) -> None:
        # Hidden, not just disabled, until there is a file: the empty card then reads clearly.
        for b in (self.open_button, self.copy_button):
            b.setEnabled(shown)
            b.setVisible(shown)

    def _set_title(self, text: str, color: str) -> None:
        self.title.setText(text)
        self.title.setStyleSheet(f"QLabel#resultTitle {{ color: {color}; }}")

    def _set_figures(self, rows: list[tuple[str, str]]) -> None:
        grid = self.figures_grid
        while grid.count():
            item = grid.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.hide()
                w.deleteLater()
        self.figure_values = {}
        for i, (key, value) in enumerate(rows):
            k = label(key, "muted")
            v = QLabel(value)
            v.setWordWrap(True)
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            v.setObjectName(f"figure_{key.lower().replace(' ', '_')}")
            grid.addWidget(k, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(v, i, 1)
            self.figure_values[key] = v
        self.figures.setVisible(bool(rows))


__all__ = ["ResultCard"]
