"""The builder's live checks for the chosen format: a green line, or one row per finding."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workbench.core.export_check import ExportIssue
from workbench.core.export_formats import get_format
from workbench.export.wording import issue_text
from workbench.ui import theme
from workbench.ui.export.style import AMBER_BORDER, AMBER_TINT, ERROR_BORDER, OK_TINT


class IssueRow(QFrame):
    """One of the builder's findings: its severity, the message, and a way to the layer.

    Signals:
        activated(str): The user asked to see the layer (a click, or "Show layer").
    """

    activated = Signal(str)

    def __init__(self, issue: ExportIssue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.issue = issue
        self.setObjectName("issueRow")
        error = issue.severity == "error"
        bg, border, fg = (
            (theme.ERROR_TINT, ERROR_BORDER, theme.ERROR)
            if error
            else (AMBER_TINT, AMBER_BORDER, theme.WARNING)
        )
        self.setStyleSheet(
            f"QFrame#issueRow {{ background: {bg}; border: 1px solid {border}; border-radius: 6px; }}"
            f"QFrame#issueRow QLabel {{ color: {fg}; background: transparent; border: none; }}"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 8, 6)
        row.setSpacing(8)
        self.kind = QLabel("Error" if error else "Warning")
        self.kind.setObjectName("issueKind")
        self.kind.setFont(theme.bold(self.kind.font()))
        self.kind.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text = QLabel(issue_text(issue))
        self.text.setObjectName("issueText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        row.addWidget(self.kind, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.text, 1)
        self.show_button: QPushButton | None = None
        if issue.node:
            node = issue.node
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip(f"Show {node} in the Model tab")
            b = QPushButton("Show layer")
            b.setObjectName("link")
            b.setStyleSheet(f"QPushButton#link {{ color: {theme.ACCENT}; padding: 0px 2px; }}")
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.setToolTip(f"Select {node} on the canvas (Model tab)")
            b.clicked.connect(lambda: self.activated.emit(node))
            row.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)
            self.show_button = b

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.issue.node and event.button() == Qt.MouseButton.LeftButton:
            self.activated.emit(self.issue.node)
            event.accept()
            return
        super().mousePressEvent(event)


class ChecksList(QWidget):
    """ "No problems found" for the chosen format, or the builder's findings, one row each.

    Signals:
        node_activated(str): The user asked to see a layer named by a finding.
    """

    node_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportChecks")
        self.rows: list[IssueRow] = []
        self._key: tuple[Any, ...] | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.checks_ok = QLabel("")
        self.checks_ok.setObjectName("checksOk")
        self.checks_ok.setWordWrap(True)
        self.checks_ok.setStyleSheet(
            f"QLabel#checksOk {{ color: {theme.OK}; background: {OK_TINT}; border: 1px solid #b7e2c4;"
            " border-radius: 6px; padding: 6px 10px; }"
        )
        lay.addWidget(self.checks_ok)
        self.issues_box = QWidget()
        self.issues_layout = QVBoxLayout(self.issues_box)
        self.issues_layout.setContentsMargins(0, 0, 0, 0)
        self.issues_layout.setSpacing(4)
        lay.addWidget(self.issues_box)

    def show_issues(self, issues: list[ExportIssue], fmt: str, opset: int) -> bool:
        """List ``issues`` (found for ``fmt`` at ``opset``); True when the list changed."""
        key = (fmt, opset, tuple(issues))
        if key == self._key:
            return False
        self._key = key
        for row in self.rows:
            self.issues_layout.removeWidget(row)
            row.hide()
            row.deleteLater()
        self.rows = []
        for issue in issues:
            row = IssueRow(issue)
            row.activated.connect(self.node_activated)
            self.issues_layout.addWidget(row)
            self.rows.append(row)
        self.issues_box.setVisible(bool(issues))
        if not issues:
            what = get_format(fmt).checks_title.format(opset=opset)
            self.checks_ok.setText(f"✓  No problems found: the model exports as {what}.")
            self.checks_ok.show()
        else:
            self.checks_ok.hide()
        return True

    def texts(self) -> list[tuple[str, str]]:
        """(severity, text) of each finding shown."""
        return [(r.issue.severity, r.text.text()) for r in self.rows]

    def show_buttons(self) -> list[QWidget]:
        """The rows' "Show layer" buttons, in order (for the tab order)."""
        return [r.show_button for r in self.rows if r.show_button is not None]


__all__: list[str] = ["ChecksList", "IssueRow"]
