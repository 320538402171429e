"""The mouse wheel scrolls panels, not the settings in them.

A spin box, combo box or slider takes the wheel only while it has keyboard focus (a
click or Tab gives it); otherwise the wheel goes to the scroll area around it, as in
Qt Creator and most settings dialogs. One filter on the application covers every
form (Train tab, inspector, data import dialog, Export tab) including those built later.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QScrollBar,
    QWidget,
)

_CONTROLS = (QAbstractSpinBox, QComboBox, QAbstractSlider)


def _is_value_control(obj: QObject) -> bool:
    # A scroll bar is a slider too, but scrolling is what it is for.
    return isinstance(obj, _CONTROLS) and not isinstance(obj, QScrollBar)


class WheelGuard(QObject):
    """An application event filter: unfocused value controls pass the wheel to their panel."""

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        kind = event.type()
        if kind == QEvent.Type.Wheel:
            if _is_value_control(obj) and not obj.hasFocus():  # type: ignore[attr-defined]
                forward_wheel(obj, event)  # type: ignore[arg-type]
                return True
        elif kind == QEvent.Type.Polish and _is_value_control(obj):
            # The wheel gives no focus either (WheelFocus is Qt's default for these).
            widget: QWidget = obj  # type: ignore[assignment]
            if widget.focusPolicy() == Qt.FocusPolicy.WheelFocus:
                widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return False


def forward_wheel(widget: QWidget, event: QWheelEvent) -> bool:
    """Send ``event`` (at ``widget``) to the nearest enclosing scroll area that can scroll.

    Returns True when one scrolled. Sent explicitly rather than by propagation, because
    Qt propagates only the wheel events that come from the system.
    """
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            viewport = parent.viewport()
            pos = QPointF(viewport.mapFromGlobal(event.globalPosition().toPoint()))
            forwarded = QWheelEvent(
                pos,
                event.globalPosition(),
                event.pixelDelta(),
                event.angleDelta(),
                event.buttons(),
                event.modifiers(),
                event.phase(),
                event.inverted(),
                event.source(),
            )
            forwarded.ignore()
            QApplication.sendEvent(viewport, forwarded)
            if forwarded.isAccepted():
                return True
        parent = parent.parentWidget()
    return False


_guard: WheelGuard | None = None


def install_wheel_guard(app: QApplication | None = None) -> WheelGuard | None:
    """Install the filter on the application once (later calls return the same filter)."""
    global _guard
    app = app or QApplication.instance()  # type: ignore[assignment]
    if app is None:
        return None
    if _guard is None:
        _guard = WheelGuard(app)
        app.installEventFilter(_guard)
    return _guard


__all__ = ["WheelGuard", "forward_wheel", "install_wheel_guard"]
