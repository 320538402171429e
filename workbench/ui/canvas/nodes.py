"""A layer on the canvas: its box (:class:`NodeItem`) and the port circles on it
(:class:`PortItem`).

``Node.pos`` is the scene position of the centre of the box, which is
``NODE_WIDTH`` x ``NODE_HEIGHT`` (:mod:`workbench.core.layout`); the input ports sit on the
top edge (numbered left to right) and the output port at the bottom centre.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from workbench.core import catalog, text
from workbench.core.edits import PortRef
from workbench.core.layout import NODE_HEIGHT, NODE_WIDTH, OUTPUT_PORT_OFFSET, input_port_offsets
from workbench.core.shapes import Issue, worst_severity
from workbench.ui import theme

if TYPE_CHECKING:
    from workbench.ui.canvas.edges import EdgeItem

PORT_RADIUS = 5.0
PORT_HIT_RADIUS = 9.0

#: Stripe colour of each palette group.
GROUP_COLORS: dict[str, str] = {
    "Input & Output": "#16a34a",
    "Dense": "#2563eb",
    "Convolution": "#7c3aed",
    "Pooling": "#0891b2",
    "Normalization": "#d97706",
    "Regularization": "#64748b",
    "Reshape": "#94a3b8",
    "Embedding": "#db2777",
    "Recurrent": "#dc2626",
    "Attention": "#ca8a04",
    "Activation": "#65a30d",
    "Merge": "#4f46e5",
}

#: The fonts of a node: bold title, monospace shape, small footer.
Fonts = tuple[QFont, QFont, QFont]


def node_fonts() -> Fonts:
    """Fonts of a node: bold title, monospace shape, small footer."""
    base = QApplication.font()
    title = QFont(base)
    title.setBold(True)
    title.setPointSizeF(9.0)
    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    mono.setPointSizeF(8.0)
    small = QFont(base)
    small.setPointSizeF(7.5)
    return title, mono, small


class PortItem(QGraphicsItem):
    """A port circle, a child of its NodeItem; ``kind`` is "in" or "out"."""

    NORMAL, CANDIDATE, GOOD, BAD = range(4)

    def __init__(self, node: NodeItem, kind: str, index: int = 0) -> None:
        super().__init__(node)
        self.node = node
        self.kind = kind
        self.index = index
        self.connected = False
        self.state = PortItem.NORMAL
        self._hover = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(1)

    @property
    def node_id(self) -> str:
        return self.node.node_id

    @property
    def ref(self) -> PortRef:
        """This port without Qt, for :func:`workbench.core.edits.connection`."""
        return PortRef(self.node_id, self.kind, self.index)

    def boundingRect(self) -> QRectF:
        r = PORT_HIT_RADIUS
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addEllipse(self.boundingRect())
        return path

    def set_connected(self, connected: bool) -> None:
        if connected != self.connected:
            self.connected = connected
            self.update()

    def set_state(self, state: int) -> None:
        if state != self.state:
            self.state = state
            self.update()

    def hoverEnterEvent(self, event: Any) -> None:
        self._hover = True
        self.update()

    def hoverLeaveEvent(self, event: Any) -> None:
        self._hover = False
        self.update()

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        r = PORT_RADIUS
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.state in (PortItem.GOOD, PortItem.BAD):
            color = QColor(theme.OK) if self.state == PortItem.GOOD else QColor(theme.ERROR)
            pen, brush, r = QPen(color, 1.4), QBrush(color), r + 2
        elif self.state == PortItem.CANDIDATE:
            pen, brush, r = (
                QPen(QColor(theme.ACCENT), 1.6),
                QBrush(QColor(theme.CANDIDATE_FILL)),
                r + 1,
            )
        elif self._hover:
            pen, brush, r = QPen(QColor(theme.ACCENT), 1.4), QBrush(QColor(theme.ACCENT)), r + 1
        else:
            pen, brush = (
                QPen(QColor(theme.PORT), 1.4),
                QBrush(QColor(theme.PORT if self.connected else theme.NODE_FILL)),
            )
        painter.setPen(pen)
        painter.setBrush(brush)
        painter.drawEllipse(QPointF(0, 0), r, r)


class NodeItem(QGraphicsItem):
    """A layer: a rounded box with type, id, output shape and parameter count."""

    def __init__(self, node_id: str, fonts: Fonts) -> None:
        super().__init__()
        self.node_id = node_id
        self.fonts = fonts
        self.type_name = ""
        self.edges: set[EdgeItem] = set()
        self.in_ports: list[PortItem] = []
        self.out_port = PortItem(self, "out")
        self.out_port.setPos(*OUTPUT_PORT_OFFSET)
        self.severity: str | None = None
        self._key: tuple[Any, ...] | None = None
        self._stripe = QColor(theme.MUTED)
        self._title = ""
        self._title_font = fonts[0]
        self._shape = ""
        self._shape_known = True
        self._footer_left = ""
        self._footer_right = ""
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)

    # geometry

    def boundingRect(self) -> QRectF:
        m = 4.0  # room for the selection outline; ports draw themselves
        return QRectF(
            -NODE_WIDTH / 2 - m, -NODE_HEIGHT / 2 - m, NODE_WIDTH + 2 * m, NODE_HEIGHT + 2 * m
        )

    def box(self) -> QRectF:
        return QRectF(-NODE_WIDTH / 2, -NODE_HEIGHT / 2, NODE_WIDTH, NODE_HEIGHT)

    def scene_box(self) -> tuple[float, float, float, float]:
        """The box in scene coordinates as (left, top, width, height)."""
        r = self.mapRectToScene(self.box())
        return (r.x(), r.y(), r.width(), r.height())

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self.box(), 6, 6)
        return path

    def set_num_inputs(self, n: int) -> None:
        if n == len(self.in_ports):
            return
        scene = self.scene()
        for port in self.in_ports:
            if scene is not None:
                scene.removeItem(port)
            else:
                port.setParentItem(None)
        self.in_ports = []
        for i, offset in enumerate(input_port_offsets(n)):
            port = PortItem(self, "in", i)
            port.setPos(*offset)
            self.in_ports.append(port)

    def port(self, kind: str, index: int = 0) -> PortItem:
        if kind == "out":
            return self.out_port
        return self.in_ports[index]

    def ports(self) -> list[PortItem]:
        """The output port, then the inputs."""
        return [self.out_port, *self.in_ports]

    # content

    def set_content(
        self,
        type_name: str,
        output: catalog.TensorSpec | None,
        n_params: int,
        issues: list[Issue],
        num_inputs: int,
    ) -> None:
        """Update text, colour, border and tooltip; does nothing when nothing changed."""
        key = (type_name, output, n_params, tuple(issues), num_inputs)
        if key == self._key:
            return
        self._key = key
        self.type_name = type_name
        self.set_num_inputs(num_inputs)
        try:
            layer: catalog.LayerType | None = catalog.get(type_name)
        except KeyError:
            layer = None
        group = layer.group if layer else ""
        self._stripe = QColor(GROUP_COLORS.get(group, theme.MUTED))
        title_font, mono_font, small_font = self.fonts
        inner = NODE_WIDTH - 26.0
        # A long type name first gets a slightly smaller font, then an ellipsis.
        self._title_font = title_font
        for size in (title_font.pointSizeF(), 8.0, 7.5):
            font = QFont(title_font)
            font.setPointSizeF(size)
            self._title_font = font
            if QFontMetricsF(font).horizontalAdvance(type_name) <= inner:
                break
        self._title = QFontMetricsF(self._title_font).elidedText(
            type_name, Qt.TextElideMode.ElideRight, inner
        )
        self._shape_known = output is not None
        shape_text = text.shape_label(output)
        self._shape = QFontMetricsF(mono_font).elidedText(
            shape_text, Qt.TextElideMode.ElideRight, inner
        )
        small = QFontMetricsF(small_font)
        self._footer_right = text.params_label(n_params)
        id_room = inner - (
            small.horizontalAdvance(self._footer_right) + 8 if self._footer_right else 0
        )
        self._footer_left = small.elidedText(
            self.node_id, Qt.TextElideMode.ElideMiddle, max(id_room, 20.0)
        )
        self.severity = worst_severity(issues)
        doc = layer.doc if layer else ""
        self.setToolTip(text.node_tooltip(type_name, doc, shape_text, n_params, issues))
        self.out_port.setToolTip(text.output_port_tooltip(shape_text))
        self.out_port.setVisible(type_name != "Output")  # the model ends there
        for port in self.in_ports:
            port.setToolTip(text.input_port_tooltip(port.index, num_inputs))
        self.update()

    # events

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
        return super().itemChange(change, value)

    def paint(
        self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None
    ) -> None:
        box = self.box()
        _, mono_font, small_font = self.fonts
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.isSelected():
            painter.setPen(QPen(QColor(theme.ACCENT), 2.0))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(box.adjusted(-3, -3, 3, 3), 8, 8)
        if self.severity == "error":
            border = QPen(QColor(theme.ERROR), 2.0)
        elif self.severity == "warning":
            border = QPen(QColor(theme.WARNING), 2.0)
        else:
            border = QPen(QColor(theme.NODE_BORDER), 1.0)
        path = QPainterPath()
        path.addRoundedRect(box, 6, 6)
        painter.fillPath(path, QColor(theme.NODE_FILL))
        painter.save()
        painter.setClipPath(path)
        painter.fillRect(QRectF(box.left(), box.top(), 5, box.height()), self._stripe)
        painter.restore()
        painter.setPen(border)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)

        left = box.left() + 14
        width = box.width() - 24
        painter.setPen(QColor(theme.TEXT))
        painter.setFont(self._title_font)
        painter.drawText(
            QRectF(left, box.top() + 5, width, 17),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self._title,
        )
        painter.setFont(mono_font)
        painter.setPen(QColor(theme.SHAPE_TEXT if self._shape_known else theme.FAINT_TEXT))
        painter.drawText(
            QRectF(left, box.top() + 22, width, 15),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            self._shape,
        )
        painter.setFont(small_font)
        painter.setPen(QColor(theme.MUTED))
        footer = QRectF(left, box.top() + 37, width, 14)
        painter.drawText(
            footer, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, self._footer_left
        )
        if self._footer_right:
            painter.drawText(
                footer,
                Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                self._footer_right,
            )
