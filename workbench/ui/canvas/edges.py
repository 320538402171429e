"""A connection on the canvas (:class:`EdgeItem`) and the Qt paths that edges are drawn
with; where an edge runs is worked out in :mod:`workbench.core.layout`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem, QWidget

from workbench.core import layout, text
from workbench.core.graph import Edge
from workbench.ui import theme
from workbench.ui.canvas.nodes import NodeItem


def painter_path(start: QPointF, steps: Iterable[layout.Step]) -> QPainterPath:
    """A path from ``start`` through ``steps`` (lines and cubic curves)."""
    path = QPainterPath(start)
    for step in steps:
        if len(step) == 1:
            path.lineTo(QPointF(*step[0]))
        else:
            c1, c2, end = step
            path.cubicTo(QPointF(*c1), QPointF(*c2), QPointF(*end))
    return path


def curve(p1: QPointF, p2: QPointF) -> QPainterPath:
    """A cubic from ``p1`` going down to ``p2`` arriving from above."""
    return painter_path(p1, layout.curve((p1.x(), p1.y()), (p2.x(), p2.y())))


class EdgeItem(QGraphicsPathItem):
    """A connection drawn as a smooth curve from an output (bottom) to an input (top).

    A long one (a skip connection) is routed around the nodes in its way; ``obstacles``
    gives every node item of the canvas.
    """

    def __init__(
        self,
        edge: Edge,
        src: NodeItem,
        dst: NodeItem,
        obstacles: Callable[[], Iterable[NodeItem]],
    ) -> None:
        super().__init__()
        self.edge = edge
        self.src = src
        self.dst = dst
        self.error: str | None = None
        self._obstacles = obstacles
        self._tip = ""
        self._hover = False
        self._shape: QPainterPath | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)
        src.edges.add(self)
        dst.edges.add(self)
        self._apply_pen()
        self.update_path()

    def detach(self) -> None:
        self.src.edges.discard(self)
        self.dst.edges.discard(self)

    def set_error(self, message: str | None, shape: str = "") -> None:
        """Draw red with ``message`` as tooltip, or normal with the carried shape."""
        tip = text.edge_tooltip(self.edge.src, self.edge.dst, shape, message)
        if tip != self._tip:
            self._tip = tip
            self.setToolTip(tip)
        if message == self.error:
            return
        self.error = message
        self._apply_pen()

    def restyle(self) -> None:
        """Pick up the current theme's colours."""
        self._apply_pen()

    def _apply_pen(self) -> None:
        if self.isSelected():
            pen = QPen(QColor(theme.ACCENT), 2.5)
        elif self.error:
            pen = QPen(QColor(theme.ERROR), 2.2 if self._hover else 1.8)
        else:
            pen = QPen(
                QColor(theme.EDGE_HOVER if self._hover else theme.EDGE), 2.2 if self._hover else 1.5
            )
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.setPen(pen)

    def update_path(self) -> None:
        if not self.dst.in_ports or self.edge.port >= len(self.dst.in_ports):
            return
        p1 = self.src.out_port.scenePos()
        p2 = self.dst.in_ports[self.edge.port].scenePos()
        # Generated lazily: only a long edge looks at the other nodes.
        boxes = (
            item.scene_box()
            for item in self._obstacles()
            if item is not self.src and item is not self.dst
        )
        self.setPath(painter_path(p1, layout.edge_route((p1.x(), p1.y()), (p2.x(), p2.y()), boxes)))
        self._shape = None

    def shape(self) -> QPainterPath:
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(10)
            self._shape = stroker.createStroke(self.path())
        return self._shape

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self._apply_pen()
        return super().itemChange(change, value)

    def hoverEnterEvent(self, event: Any) -> None:
        self._hover = True
        self._apply_pen()

    def hoverLeaveEvent(self, event: Any) -> None:
        self._hover = False
        self._apply_pen()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self.pen())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
