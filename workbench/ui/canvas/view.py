"""The view of the builder canvas: zoom, pan and fit over a grid, and the hint an empty
canvas shows. Editing is added on top by :class:`~workbench.ui.canvas.editor.GraphCanvas`."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QKeyEvent, QMouseEvent, QPainter, QPen, QWheelEvent
from PySide6.QtWidgets import QApplication, QFrame, QGraphicsView, QWidget

from workbench.core.layout import (
    MAX_ZOOM,
    MIN_ZOOM,
    READABLE_ZOOM,
    fit_zoom,
    grid_spacing,
    top_view_center,
    zoom_factor,
)
from workbench.core.text import EMPTY_CANVAS_HINT
from workbench.ui import theme
from workbench.ui.canvas.scene import GraphScene


class CanvasView(QGraphicsView):
    """Shows a :class:`GraphScene`: wheel zoom, middle-button or Space+drag pan, fit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graph_scene = GraphScene(self)
        self.setScene(self.graph_scene)
        self._fit_pending = False
        self._pan_from: QPointF | None = None
        self._space = False
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.graph_scene.repaint_needed.connect(self._repaint)
        self.centerOn(0, 0)

    def _repaint(self) -> None:
        self.viewport().update()

    # --- zoom and fit -------------------------------------------------------------------

    def zoom(self) -> float:
        """The current scale factor (1.0 = 100 %)."""
        return self.transform().m11()

    def _zoom_by(self, factor: float, anchor: QGraphicsView.ViewportAnchor | None = None) -> None:
        factor = zoom_factor(self.zoom(), factor, MIN_ZOOM, MAX_ZOOM)
        if factor == 1.0:
            return
        old = self.transformationAnchor()
        if anchor is not None:
            self.setTransformationAnchor(anchor)
        self.scale(factor, factor)
        self.setTransformationAnchor(old)

    def zoom_in(self) -> None:
        """Zoom in around the middle of the view."""
        self._zoom_by(1.25, QGraphicsView.ViewportAnchor.AnchorViewCenter)

    def zoom_out(self) -> None:
        """Zoom out around the middle of the view."""
        self._zoom_by(1 / 1.25, QGraphicsView.ViewportAnchor.AnchorViewCenter)

    def reset_zoom(self) -> None:
        """Back to 100 %, keeping the middle of the view in place."""
        self._zoom_by(1.0 / self.zoom(), QGraphicsView.ViewportAnchor.AnchorViewCenter)

    def _set_zoom(self, zoom: float) -> None:
        self.resetTransform()
        self.scale(zoom, zoom)

    def fit_to_view(self) -> None:
        """Show every node (never magnified beyond 100 %)."""
        self._fit_pending = False
        if not self.graph_scene.nodes:
            self.resetTransform()
            self.centerOn(0, 0)
            return
        rect = self.graph_scene.nodes_rect()
        rect.adjust(-40, -40, 40, 40)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        zoom = fit_zoom(self.zoom())
        if zoom != self.zoom():
            self._set_zoom(zoom)
        self.centerOn(rect.center())

    def initial_view(self) -> None:
        """Fit a newly shown model, but keep text readable: a tall model is shown from
        its top at READABLE_ZOOM instead of being shrunk to fit."""
        self.fit_to_view()
        if not self.graph_scene.nodes or self.zoom() >= READABLE_ZOOM:
            return
        rect = self.graph_scene.nodes_rect()
        self._set_zoom(READABLE_ZOOM)
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        bounds = (rect.x(), rect.y(), rect.width(), rect.height())
        self.centerOn(*top_view_center(bounds, visible.height()))

    def show_new_model(self) -> None:
        """Give a newly shown model its :meth:`initial_view`, now or once the view has a size."""
        if self.isVisible() and self.viewport().width() > 10:
            self.initial_view()
        else:
            self._fit_pending = True

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self._fit_pending and self.viewport().width() > 10:
            self.initial_view()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self._zoom_by(1.0015**delta, QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        event.accept()

    # --- pan ----------------------------------------------------------------------------

    def _pan_press(self, event: QMouseEvent) -> bool:
        """Start panning on a middle press, or a left press with Space held; True if so."""
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space
        ):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return True
        return False

    def _pan_move(self, event: QMouseEvent) -> bool:
        """Scroll with the pointer while panning; True if panning."""
        if self._pan_from is None:
            return False
        delta = event.position() - self._pan_from
        self._pan_from = event.position()
        h, v = self.horizontalScrollBar(), self.verticalScrollBar()
        h.setValue(h.value() - round(delta.x()))
        v.setValue(v.value() - round(delta.y()))
        event.accept()
        return True

    def _pan_release(self, event: QMouseEvent) -> bool:
        """End panning; True if this release did."""
        if self._pan_from is not None and event.button() in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return True
        return False

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event: Any) -> None:
        self._space = False
        super().focusOutEvent(event)

    # --- painting -----------------------------------------------------------------------

    def restyle(self) -> None:
        """Redraw everything in the current theme's colours (after a light/dark switch)."""
        self.graph_scene.restyle()
        self.resetCachedContent()
        self.viewport().update()

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        rect = QRectF(rect)
        painter.fillRect(rect, QColor(theme.CANVAS_BG))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        step = grid_spacing(self.zoom())
        major = step * 5
        for spacing, color in ((step, QColor(theme.GRID_MINOR)), (major, QColor(theme.GRID_MAJOR))):
            pen = QPen(color, 1.0)
            pen.setCosmetic(True)
            painter.setPen(pen)
            left = int(rect.left() // spacing) * spacing
            top = int(rect.top() // spacing) * spacing
            x = left
            while x <= rect.right():
                painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
                x += spacing
            y = top
            while y <= rect.bottom():
                painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
                y += spacing

    def drawForeground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        if self.graph_scene.nodes:
            return
        painter.save()
        painter.resetTransform()
        font = QFont(QApplication.font())
        font.setPointSizeF(12)
        painter.setFont(font)
        painter.setPen(QColor(theme.MUTED))
        painter.drawText(
            QRectF(self.viewport().rect()), Qt.AlignmentFlag.AlignCenter, EMPTY_CANVAS_HINT
        )
        painter.restore()
