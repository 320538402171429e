"""Colours and layout helpers the Export tab's parts share."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QVBoxLayout, QWidget

AMBER_TINT = "#fef6e0"
AMBER_BORDER = "#f0d58c"
ERROR_BORDER = "#f2b8b8"
OK_TINT = "#e9f7ee"
#: The tab's addition to the app's stylesheet (theme.py): buttons inside forms and cards
#: are as tall as the fields beside them.
STYLESHEET = """
QPushButton[compact="true"] { padding: 4px 14px; }
"""


def set_role(widget: QWidget, role: str) -> None:
    """Give a label another stylesheet role (muted, error…) and restyle it."""
    if widget.property("role") != role:
        widget.setProperty("role", role)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def field(*widgets: QWidget) -> QWidget:
    """A form field: an input with its caption(s) below it."""
    box = QWidget()
    v = QVBoxLayout(box)
    v.setContentsMargins(0, 0, 0, 0)
    v.setSpacing(3)
    for w in widgets:
        v.addWidget(w)
    return box


def form() -> QFormLayout:
    """A form of the tab: labels on the left, fields that grow."""
    layout = QFormLayout()
    layout.setContentsMargins(0, 4, 0, 8)
    layout.setHorizontalSpacing(10)
    layout.setVerticalSpacing(4)
    layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    layout.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return layout
