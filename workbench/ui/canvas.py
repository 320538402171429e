"""The builder canvas: a small node editor that shows and edits a Document's graph.

Conventions
-----------
* Layers flow **top to bottom**: a node's input ports sit on the top edge of its box
  (numbered left to right) and its single output port at the bottom centre.
* ``Node.pos`` is the scene position of the **centre** of the node box. The box is
  ``NODE_WIDTH`` x ``NODE_HEIGHT`` (180 x 56) and is drawn around that centre, which fits
  :func:`workbench.core.layout.auto_layout` (rows 80 px, columns 230 px apart). A layer
  dropped from the palette is centred on the drop point.
* Every change goes through ``Document.edit`` (so it is undoable); the canvas redraws
  from the document when the document notifies it, updating items in place.
"""

from __future__ import annotations

import atexit
import json
import weakref
from collections.abc import Iterable
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QContextMenuEvent,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QMenu,
    QStyleOptionGraphicsItem,
    QWidget,
)

from workbench.core import catalog, edits
from workbench.core.document import Document
from workbench.core.graph import Edge, GraphError
from workbench.core.layout import ROW_HEIGHT, detour_lane, find_nodes, free_position, zoom_factor
from workbench.core.layout import auto_layout as core_auto_layout
from workbench.core.shapes import Issue
from workbench.core.text import human_count
from workbench.ui import theme

#: Mime type of a palette drag; the data is the UTF-8 layer type name.
LAYER_MIME = "application/x-workbench-layer"
#: Mime type of copied nodes; the data is JSON from ``Graph.subgraph_dict``.
NODES_MIME = "application/x-workbench-nodes"

NODE_WIDTH = 180.0
NODE_HEIGHT = 56.0
PORT_RADIUS = 5.0
PORT_HIT_RADIUS = 9.0
SNAP_PIXELS = 14.0  # how close (in screen pixels) a drop must be to a port
MIN_ZOOM = 0.1
MAX_ZOOM = 4.0
GRID = 20.0
LONG_EDGE = 1.6 * ROW_HEIGHT  # edges longer than this look for nodes in their way
READABLE_ZOOM = 0.8  # a newly shown model is not shrunk below this
SCENE_EXTENT = 50_000.0

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


_clipboard_guard = False


def _release_clipboard() -> None:
    """Drop our copied nodes from the clipboard while Python is still alive.

    With PySide6 6.12, a QMimeData created in Python and still held by the clipboard when
    the interpreter shuts down crashes the process (segfault in the wrapper's destructor),
    measured here with the offscreen platform. Clearing it first avoids that.
    """
    if QApplication.instance() is None:
        return
    clipboard = QApplication.clipboard()
    mime = clipboard.mimeData()
    if mime is not None and mime.hasFormat(NODES_MIME):
        clipboard.clear()


def _install_clipboard_guard() -> None:
    global _clipboard_guard
    if _clipboard_guard:
        return
    _clipboard_guard = True
    atexit.register(_release_clipboard)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(_release_clipboard)


def _fonts() -> tuple[QFont, QFont, QFont]:
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


# --- ports ------------------------------------------------------------------------------


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


# --- nodes ------------------------------------------------------------------------------


class NodeItem(QGraphicsItem):
    """A layer: a rounded box with type, id, output shape and parameter count."""

    def __init__(self, canvas: GraphCanvas, node_id: str) -> None:
        super().__init__()
        self.canvas = canvas
        self.node_id = node_id
        self.type_name = ""
        self.edges: set[EdgeItem] = set()
        self.in_ports: list[PortItem] = []
        self.out_port = PortItem(self, "out")
        self.out_port.setPos(0, NODE_HEIGHT / 2)
        self.severity: str | None = None
        self._key: tuple[Any, ...] | None = None
        self._stripe = QColor(theme.MUTED)
        self._title = ""
        self._title_font = canvas.fonts[0]
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
        for i in range(n):
            port = PortItem(self, "in", i)
            port.setPos(-NODE_WIDTH / 2 + NODE_WIDTH * (i + 1) / (n + 1), -NODE_HEIGHT / 2)
            self.in_ports.append(port)

    def port(self, kind: str, index: int = 0) -> PortItem:
        if kind == "out":
            return self.out_port
        return self.in_ports[index]

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
        title_font, mono_font, small_font = self.canvas.fonts
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
        shape_text = str(output) if output is not None else "shape unknown"
        self._shape = QFontMetricsF(mono_font).elidedText(
            shape_text, Qt.TextElideMode.ElideRight, inner
        )
        small = QFontMetricsF(small_font)
        self._footer_right = f"{human_count(n_params)} params" if n_params else ""
        id_room = inner - (
            small.horizontalAdvance(self._footer_right) + 8 if self._footer_right else 0
        )
        self._footer_left = small.elidedText(
            self.node_id, Qt.TextElideMode.ElideMiddle, max(id_room, 20.0)
        )
        errors = [i.message for i in issues if i.severity == "error"]
        warnings = [i.message for i in issues if i.severity != "error"]
        self.severity = "error" if errors else "warning" if warnings else None
        if errors or warnings:
            tip = "\n".join(errors or warnings)
        else:
            doc = layer.doc if layer else ""
            tip = f"{type_name}: {doc}\nOutput: {shape_text}"
            if n_params:
                tip += f"\n{n_params:,} params"
        self.setToolTip(tip)
        self.out_port.setToolTip(f"output {shape_text}\nDrag to an input to connect")
        self.out_port.setVisible(type_name != "Output")  # the model ends there
        for port in self.in_ports:
            name = f"input {port.index + 1}" if num_inputs > 1 else "input"
            port.setToolTip(f"{name}\nDrag to an output to connect")
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
        _, mono_font, small_font = self.canvas.fonts
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


# --- edges ------------------------------------------------------------------------------


class EdgeItem(QGraphicsPathItem):
    """A connection drawn as a smooth curve from an output (bottom) to an input (top)."""

    def __init__(self, edge: Edge, src: NodeItem, dst: NodeItem) -> None:
        super().__init__()
        self.edge = edge
        self.src = src
        self.dst = dst
        self.error: str | None = None
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
        tip = message or (f"{self.edge.src} \u2192 {self.edge.dst}  {shape}" if shape else "")
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
        path = None
        if p2.y() - p1.y() > LONG_EDGE:
            path = self._detour(p1, p2)
        self.setPath(path if path is not None else curve(p1, p2))
        self._shape = None

    def _detour(self, p1: QPointF, p2: QPointF) -> QPainterPath | None:
        """A path around the nodes that sit between the ends of a long edge (a skip
        connection), or None when nothing is in the way."""
        boxes = [
            (r.x(), r.y(), r.width(), r.height())
            for item in self.src.canvas.node_items()
            if item is not self.src and item is not self.dst
            for r in (item.mapRectToScene(item.box()),)
        ]
        lane = detour_lane((p1.x(), p1.y()), (p2.x(), p2.y()), boxes)
        if lane is None:
            return None
        bend = 30.0
        path = QPainterPath(p1)
        path.cubicTo(
            QPointF(p1.x(), p1.y() + bend * 0.6),
            QPointF(lane, p1.y() + bend * 0.4),
            QPointF(lane, p1.y() + bend),
        )
        path.lineTo(QPointF(lane, p2.y() - bend))
        path.cubicTo(QPointF(lane, p2.y() - bend * 0.4), QPointF(p2.x(), p2.y() - bend * 0.6), p2)
        return path

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


def curve(p1: QPointF, p2: QPointF) -> QPainterPath:
    """A cubic from ``p1`` going down to ``p2`` arriving from above."""
    dy = p2.y() - p1.y()
    bend = max(30.0, abs(dy) / 2) if dy >= 0 else max(60.0, abs(dy) / 2)
    path = QPainterPath(p1)
    path.cubicTo(QPointF(p1.x(), p1.y() + bend), QPointF(p2.x(), p2.y() - bend), p2)
    return path


# --- the view ---------------------------------------------------------------------------


class GraphCanvas(QGraphicsView):
    """Shows a Document's graph and turns mouse and keyboard gestures into edits."""

    #: The ids of the selected nodes, whenever they change.
    selection_changed = Signal(list)
    #: A message for the status bar (e.g. why a connection was refused).
    status_message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self.fonts = _fonts()
        self._scene = QGraphicsScene(self)
        self._scene.setSceneRect(-SCENE_EXTENT, -SCENE_EXTENT, 2 * SCENE_EXTENT, 2 * SCENE_EXTENT)
        self._scene.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.setScene(self._scene)
        self._nodes: dict[str, NodeItem] = {}
        self._edges: dict[Edge, EdgeItem] = {}
        self._listener: Any = None
        self._last_selection: list[str] = []
        self._refreshing = False
        self._fit_pending = False
        self._reroute = False
        # gestures
        self._drag_port: PortItem | None = None
        self._drag_line: QGraphicsPathItem | None = None
        self._drag_target: PortItem | None = None
        self._candidates: list[PortItem] = []
        self._pan_from: QPointF | None = None
        self._space = False
        self._pressed_on_node = False
        self._paste_count = 0
        self._last_paste: bytes = b""

        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self._scene.selectionChanged.connect(self._on_selection_changed)
        self.centerOn(0, 0)

    # --- document -----------------------------------------------------------------------

    def set_document(self, doc: Document | None) -> None:
        """Show ``doc`` (or nothing), following its changes from now on."""
        if self.document is not None and self._listener is not None:
            self.document.unsubscribe(self._listener)
        self._cancel_connect()
        self.document = doc
        self._clear()
        self._listener = None
        if doc is not None:
            ref = weakref.ref(self)

            def listener(d: Document) -> None:
                canvas = ref()
                if canvas is None or not shiboken6.isValid(canvas):
                    d.unsubscribe(listener)
                    return
                canvas.refresh()

            self._listener = listener
            doc.subscribe(listener)
        self.refresh()
        self._paste_count = 0
        if self.isVisible() and self.viewport().width() > 10:
            self.initial_view()
        else:
            self._fit_pending = True

    def _clear(self) -> None:
        self._refreshing = True
        try:
            for item in self._edges.values():
                item.detach()
            self._scene.clear()
            self._nodes.clear()
            self._edges.clear()
        finally:
            self._refreshing = False
        self._emit_selection()

    def refresh(self) -> None:
        """Bring the items in line with the document, updating existing items in place."""
        doc = self.document
        if doc is None:
            if self._nodes:
                self._clear()
            self.viewport().update()
            return
        graph = doc.graph
        analysis = doc.analysis
        was_empty = not self._nodes
        by_node: dict[str, list[Issue]] = {}
        by_edge: dict[Edge, str] = {}
        for issue in analysis.issues:
            if issue.node is not None:
                by_node.setdefault(issue.node, []).append(issue)
            if issue.edge is not None and issue.severity == "error":
                by_edge[issue.edge] = issue.message
        edges = set(graph.edges)

        self._refreshing = True
        try:
            removed = False
            for key in [
                k
                for k in self._edges
                if k not in edges or k.src not in graph.nodes or k.dst not in graph.nodes
            ]:
                dead_edge = self._edges.pop(key)
                dead_edge.detach()
                self._scene.removeItem(dead_edge)
            for nid in [n for n in self._nodes if n not in graph.nodes]:
                dead_node = self._nodes.pop(nid)
                for e in list(dead_node.edges):  # defensive: an edge the graph lost with its node
                    e.detach()
                    self._edges.pop(e.edge, None)
                    self._scene.removeItem(e)
                self._scene.removeItem(dead_node)
                removed = True

            geometry = removed or self._reroute
            self._reroute = False
            connected_in: set[tuple[str, int]] = {(e.dst, e.port) for e in edges}
            connected_out: set[str] = {e.src for e in edges}
            for nid, node in graph.nodes.items():
                node_item = self._nodes.get(nid)
                if node_item is None:
                    node_item = NodeItem(self, nid)
                    self._nodes[nid] = node_item
                    self._scene.addItem(node_item)
                    geometry = True
                info = analysis.nodes.get(nid)
                ports_before = len(node_item.in_ports)
                node_item.set_content(
                    node.type,
                    info.output if info else None,
                    info.params if info else 0,
                    by_node.get(nid, []),
                    node.num_inputs,
                )
                pos = QPointF(node.pos[0], node.pos[1])
                if node_item.pos() != pos:
                    node_item.setPos(pos)
                    geometry = True
                if len(node_item.in_ports) != ports_before:
                    geometry = True
                for port in node_item.in_ports:
                    port.set_connected((nid, port.index) in connected_in)
                node_item.out_port.set_connected(nid in connected_out)

            for edge in graph.edges:
                item = self._edges.get(edge)
                if item is None:
                    src, dst = self._nodes.get(edge.src), self._nodes.get(edge.dst)
                    if src is None or dst is None:
                        continue
                    item = EdgeItem(edge, src, dst)
                    self._edges[edge] = item
                    self._scene.addItem(item)
                elif geometry:
                    item.update_path()  # a moved, added or resized node may be in its way
                src_info = analysis.nodes.get(edge.src)
                item.set_error(
                    by_edge.get(edge), str(src_info.output) if src_info and src_info.output else ""
                )
        finally:
            self._refreshing = False
        if was_empty != (not self._nodes):
            self.viewport().update()
        self._emit_selection()

    # --- lookups ------------------------------------------------------------------------

    def node_items(self) -> Iterable[NodeItem]:
        """Every node item."""
        return self._nodes.values()

    def node_item(self, node_id: str) -> NodeItem:
        """The item showing node ``node_id`` (KeyError if none)."""
        return self._nodes[node_id]

    def edge_item(self, edge: Edge) -> EdgeItem:
        """The item showing ``edge`` (KeyError if none)."""
        return self._edges[edge]

    def port_scene_pos(self, node_id: str, kind: str = "out", port: int = 0) -> QPointF:
        """Scene centre of a port; ``kind`` is "in" or "out"."""
        return self._nodes[node_id].port(kind, port).scenePos()

    # --- selection ----------------------------------------------------------------------

    def selected_node_ids(self) -> list[str]:
        """Ids of the selected nodes, in graph order."""
        return [nid for nid, item in self._nodes.items() if item.isSelected()]

    def selected_edges(self) -> list[Edge]:
        """The selected edges."""
        return [e for e, item in self._edges.items() if item.isSelected()]

    def select_nodes(self, ids: Iterable[str]) -> None:
        """Select exactly these nodes (unknown ids are ignored)."""
        wanted = set(ids)
        self._refreshing = True
        try:
            for item in self._scene.selectedItems():
                if not (isinstance(item, NodeItem) and item.node_id in wanted):
                    item.setSelected(False)
            for nid in wanted:
                node = self._nodes.get(nid)
                if node is not None:
                    node.setSelected(True)
        finally:
            self._refreshing = False
        self._emit_selection()

    def select_all(self) -> None:
        """Select every node."""
        self.select_nodes(list(self._nodes))

    def center_on_node(self, node_id: str) -> None:
        """Scroll so that a node is in the middle of the view."""
        item = self._nodes.get(node_id)
        if item is not None:
            self.centerOn(item)

    def _on_selection_changed(self) -> None:
        if not self._refreshing:
            self._emit_selection()

    def _emit_selection(self) -> None:
        ids = self.selected_node_ids()
        if ids != self._last_selection:
            self._last_selection = ids
            self.selection_changed.emit(ids)

    # --- edits --------------------------------------------------------------------------

    def _edit(self, label: str, fn: Any) -> Any:
        """Run one undoable edit; a refused edit becomes a status message. Returns
        the edit's result, or None if it was refused."""
        if self.document is None:
            return None
        try:
            return self.document.edit(label, fn)
        except GraphError as e:
            self.status_message.emit(str(e))
            return None

    def add_node_at(self, type_name: str, scene_pos: QPointF) -> str:
        """Add a ``type_name`` node centred on ``scene_pos`` (one edit); return its id.

        Returns "" (and reports through ``status_message``) if the type is unknown or
        there is no document.
        """
        x, y = round(scene_pos.x()), round(scene_pos.y())
        node_id = self._edit(f"Add {type_name}", lambda g: g.add_node(type_name, pos=(x, y)).id)
        if node_id:
            self.select_nodes([node_id])
            return str(node_id)
        return ""

    def add_node_near(self, type_name: str, scene_pos: QPointF) -> str:
        """Add a ``type_name`` node at the free spot nearest to ``scene_pos``; return its id.

        Used where the user did not point at a spot (the palette's search, a menu), so
        the new layer never lands on top of another.
        """
        if self.document is None:
            return ""
        x, y = free_position(
            self.document.graph, (scene_pos.x(), scene_pos.y()), (NODE_WIDTH, NODE_HEIGHT)
        )
        return self.add_node_at(type_name, QPointF(x, y))

    def delete_selected(self) -> None:
        """Delete the selected nodes and edges as one edit.

        A deleted layer in the middle of a chain (one input, feeding others) leaves its
        neighbours joined when their shapes fit, in the same undo step.
        """
        nodes = self.selected_node_ids()
        edges = [e for e in self.selected_edges() if e.src not in nodes and e.dst not in nodes]
        if not nodes and not edges:
            return
        outcome: list[tuple[list[Edge], list[str]]] = []

        def delete(g: Any) -> None:
            for e in edges:
                g.disconnect(e)
            outcome.append(edits.remove_and_reconnect(g, nodes))

        if nodes:
            label = f"Delete {nodes[0]}" if len(nodes) == 1 else f"Delete {len(nodes)} layers"
        else:
            label = "Delete connection" if len(edges) == 1 else "Delete connections"
        self._edit(label, delete)
        if outcome:
            made, notes = outcome[0]
            if notes:
                self.status_message.emit(f"{label}: " + "; ".join(notes))
            elif made:
                joined = ", ".join(f"{e.src} \u2192 {e.dst}" for e in made)
                self.status_message.emit(f"{label}; reconnected {joined}")

    def duplicate_selected(self) -> list[str]:
        """Copy the selected nodes (and the edges among them) beside them, as one edit."""
        ids = self.selected_node_ids()
        if not ids:
            return []
        label = f"Duplicate {ids[0]}" if len(ids) == 1 else f"Duplicate {len(ids)} layers"

        def dup(g: Any) -> list[str]:
            # Beside the originals, on a spot where the copy overlaps nothing.
            left = min(g.nodes[n].pos[0] for n in ids)
            top = min(g.nodes[n].pos[1] for n in ids)
            x, y = free_position(g, (left + NODE_WIDTH + 30, top), (NODE_WIDTH, NODE_HEIGHT))
            return edits.duplicate(g, ids, (x - left, y - top))

        new = self._edit(label, dup) or []
        if new:
            self.select_nodes(new)
        return list(new)

    def disconnect_node(self, node_id: str) -> None:
        """Remove every connection of one node (one edit)."""
        self._edit(f"Disconnect {node_id}", lambda g: edits.disconnect_all(g, node_id))

    def insert_on_edge(self, edge: Edge, type_name: str) -> str:
        """Put a new layer on a connection (one edit); return its id."""
        new = self._edit(f"Insert {type_name}", lambda g: edits.insert_on_edge(g, edge, type_name))
        if new:
            self.select_nodes([new])
        return str(new or "")

    def fix_for(self, node_id: str) -> Issue | None:
        """The node's first error that comes with a one-click fix, if any."""
        if self.document is None:
            return None
        for issue in self.document.analysis.issues_for(node_id):
            if issue.fix and issue.edge is not None:
                return issue
        return None

    def apply_fix(self, node_id: str) -> str:
        """Apply the node's one-click fix (e.g. insert a Flatten before it) as one edit."""
        issue = self.fix_for(node_id)
        if issue is None or issue.fix is None or issue.edge is None:
            return ""
        return self.insert_on_edge(issue.edge, issue.fix)

    def find_nodes(self, text: str) -> list[str]:
        """Ids of nodes whose id or type contains ``text`` (case-insensitive); exact first."""
        if self.document is None:
            return []
        return find_nodes(self.document.graph, text)

    def find_node(self, text: str) -> str:
        """Select and centre the first node matching ``text``; return its id ('' if none)."""
        ids = self.find_nodes(text)
        if not ids:
            self.status_message.emit(f"No layer on the canvas matches \u201c{text.strip()}\u201d")
            return ""
        self.select_nodes([ids[0]])
        self.center_on_node(ids[0])
        self.setFocus()
        return ids[0]

    def copy_selected(self) -> None:
        """Put the selected nodes (and the edges among them) on the clipboard."""
        if self.document is None:
            return
        ids = self.selected_node_ids()
        if not ids:
            return
        data = json.dumps(self.document.graph.subgraph_dict(ids)).encode("utf-8")
        mime = QMimeData()
        mime.setData(NODES_MIME, data)
        _install_clipboard_guard()
        QApplication.clipboard().setMimeData(mime)
        self._last_paste = b""
        self.status_message.emit(f"Copied {len(ids)} layer{'s' if len(ids) != 1 else ''}")

    def paste(self) -> list[str]:
        """Paste copied nodes (one edit) with fresh ids, select them and return the ids."""
        if self.document is None:
            return []
        mime = QApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(NODES_MIME):
            return []
        raw = bytes(mime.data(NODES_MIME).data())
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
                raise ValueError
        except ValueError:
            self.status_message.emit("The clipboard does not hold layers that can be pasted")
            return []
        self._paste_count = self._paste_count + 1 if raw == self._last_paste else 1
        self._last_paste = raw
        offset = 40.0 * self._paste_count

        def paste(g: Any) -> list[str]:
            try:
                return g.paste(data, (offset, offset))
            except (KeyError, TypeError, IndexError, ValueError) as e:
                if isinstance(e, GraphError):
                    raise
                raise GraphError("The clipboard does not hold layers that can be pasted") from None

        ids = self._edit("Paste", paste) or []
        if ids:
            self.select_nodes(ids)
        return list(ids)

    def auto_layout(self) -> None:
        """Arrange every node by depth (one undoable edit), then fit the view (readably)."""
        if self.document is None or not self.document.graph.nodes:
            return
        self._edit("Auto layout", core_auto_layout)
        # Fit, but never so small the text cannot be read: a tall model shows its top.
        self.initial_view()

    def _commit_moves(self) -> None:
        if self.document is None:
            return
        graph = self.document.graph
        moved: dict[str, tuple[float, float]] = {}
        for nid, item in self._nodes.items():
            node = graph.nodes.get(nid)
            if node is None:
                continue
            p = item.pos()
            pos = (round(p.x()), round(p.y()))
            if (float(pos[0]), float(pos[1])) != node.pos:
                moved[nid] = pos
        if not moved:
            return

        def move(g: Any) -> None:
            for nid, pos in moved.items():
                g.move_node(nid, pos)

        self._reroute = True  # a moved node may now block, or clear, a long edge's way
        self._edit("Move", move)
        self._reroute = False

    def restyle(self) -> None:
        """Redraw everything in the current theme's colours (after a light/dark switch)."""
        for node in self._nodes.values():
            node.update()
            for port in [node.out_port, *node.in_ports]:
                port.update()
        for edge in self._edges.values():
            edge.restyle()
        self.resetCachedContent()
        self.viewport().update()

    # --- view ---------------------------------------------------------------------------

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

    def fit_to_view(self) -> None:
        """Show every node (never magnified beyond 100 %)."""
        self._fit_pending = False
        if not self._nodes:
            self.resetTransform()
            self.centerOn(0, 0)
            return
        rect = QRectF()
        for item in self._nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        rect.adjust(-40, -40, 40, 40)
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.0:
            self.resetTransform()
        elif self.zoom() < MIN_ZOOM:
            self.resetTransform()
            self.scale(MIN_ZOOM, MIN_ZOOM)
        self.centerOn(rect.center())

    def initial_view(self) -> None:
        """Fit a newly shown model, but keep text readable: a tall model is shown from
        its top at READABLE_ZOOM instead of being shrunk to fit."""
        self.fit_to_view()
        if not self._nodes or self.zoom() >= READABLE_ZOOM:
            return
        rect = QRectF()
        for item in self._nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        self.resetTransform()
        self.scale(READABLE_ZOOM, READABLE_ZOOM)
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        self.centerOn(rect.center().x(), rect.top() - 30 + visible.height() / 2)

    def resizeEvent(self, event: Any) -> None:
        super().resizeEvent(event)
        if self._fit_pending and self.viewport().width() > 10:
            self.initial_view()

    def wheelEvent(self, event: QWheelEvent) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self._zoom_by(1.0015**delta, QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        event.accept()

    def drawBackground(self, painter: QPainter, rect: QRectF | QRect) -> None:
        rect = QRectF(rect)
        painter.fillRect(rect, QColor(theme.CANVAS_BG))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        scale = self.zoom()
        step = GRID
        while step * scale < 14:
            step *= 5
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
        if self._nodes:
            return
        painter.save()
        painter.resetTransform()
        font = QFont(QApplication.font())
        font.setPointSizeF(12)
        painter.setFont(font)
        painter.setPen(QColor(theme.MUTED))
        painter.drawText(
            QRectF(self.viewport().rect()),
            Qt.AlignmentFlag.AlignCenter,
            "Drag layers here from the palette",
        )
        painter.restore()

    # --- context menus ------------------------------------------------------------------

    def _item_under(self, view_pos: QPoint) -> NodeItem | EdgeItem | None:
        item = self.itemAt(view_pos)
        if isinstance(item, PortItem):
            return item.node
        if isinstance(item, NodeItem | EdgeItem):
            return item
        return None

    def context_menu(self, view_pos: QPoint) -> QMenu:
        """The menu for what is under ``view_pos``: a node, a connection or the canvas.

        Right-clicking an unselected node or connection selects it first, as in file
        managers, so the menu's commands act on what the user sees selected.
        """
        menu = QMenu(self)
        scene_pos = self.mapToScene(view_pos)
        item = self._item_under(view_pos)
        if self.document is None:
            return menu
        if isinstance(item, NodeItem):
            if not item.isSelected():
                self.select_nodes([item.node_id])
            self._fill_node_menu(menu, item.node_id)
        elif isinstance(item, EdgeItem):
            if not item.isSelected():
                self._scene.clearSelection()
                item.setSelected(True)
            self._fill_edge_menu(menu, item.edge)
        else:
            self._fill_canvas_menu(menu, scene_pos)
        return menu

    def _fill_node_menu(self, menu: QMenu, node_id: str) -> None:
        issue = self.fix_for(node_id)
        if issue is not None:
            fix = menu.addAction(issue.fix_label)
            fix.setObjectName("fixAction")
            fix.setToolTip(issue.message)
            fix.setStatusTip(issue.message)
            f = menu.font()
            f.setBold(True)
            fix.setFont(f)
            fix.triggered.connect(lambda _=False: self.apply_fix(node_id))
            menu.setDefaultAction(fix)
            menu.addSeparator()
        ids = self.selected_node_ids()
        many = len(ids) > 1
        dup = menu.addAction(f"Duplicate {len(ids)} Layers" if many else "Duplicate")
        dup.triggered.connect(lambda _=False: self.duplicate_selected())
        disc = menu.addAction("Disconnect All")
        disc.setToolTip("Remove every connection into and out of this layer")
        disc.setEnabled(
            any(node_id in (e.src, e.dst) for e in self.document.graph.edges)
            if self.document
            else False
        )
        disc.triggered.connect(lambda _=False: self.disconnect_node(node_id))
        copy = menu.addAction("Copy")
        copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
        copy.triggered.connect(lambda _=False: self.copy_selected())
        menu.addSeparator()
        delete = menu.addAction(f"Delete {len(ids)} Layers" if many else "Delete")
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.triggered.connect(lambda _=False: self.delete_selected())

    def _layer_menu(self, parent: QMenu, title: str, action: Any, single_input: bool) -> QMenu:
        """A submenu of catalog layers by group; ``action(type_name)`` runs on a pick."""
        sub = parent.addMenu(title)
        for group, layers in catalog.by_group().items():
            names = [
                layer.name
                for layer in layers
                if not single_input
                or (
                    layer.name not in ("Input", "Output")
                    and isinstance(layer.inputs, int)
                    and layer.inputs == 1
                )
            ]
            if not names:
                continue
            group_menu = sub.addMenu(group)
            for name in names:
                act = group_menu.addAction(name)
                act.setToolTip(catalog.get(name).doc)
                act.triggered.connect(lambda _=False, n=name: action(n))
        return sub

    def _fill_edge_menu(self, menu: QMenu, edge: Edge) -> None:
        self._layer_menu(
            menu, "Insert Layer Here", lambda name: self.insert_on_edge(edge, name), True
        )
        menu.addSeparator()
        delete = menu.addAction("Delete Connection")
        delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        delete.triggered.connect(
            lambda _=False: self._edit("Delete connection", lambda g: g.disconnect(edge))
        )

    def _fill_canvas_menu(self, menu: QMenu, scene_pos: QPointF) -> None:
        self._layer_menu(menu, "Add Layer", lambda name: self.add_node_near(name, scene_pos), False)
        paste = menu.addAction("Paste")
        paste.setShortcut(QKeySequence(QKeySequence.StandardKey.Paste))
        mime = QApplication.clipboard().mimeData()
        paste.setEnabled(mime is not None and mime.hasFormat(NODES_MIME))
        paste.triggered.connect(lambda _=False: self.paste())
        menu.addSeparator()
        has_nodes = bool(self._nodes)
        for text, slot, key in (
            ("Fit to View", self.fit_to_view, "Ctrl+Shift+F"),
            ("Auto-layout", self.auto_layout, "Ctrl+L"),
            ("Select All", self.select_all, QKeySequence.StandardKey.SelectAll),
        ):
            act: QAction = menu.addAction(text)
            act.setShortcut(QKeySequence(key))
            act.setEnabled(has_nodes)
            act.triggered.connect(lambda _=False, f=slot: f())

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self._drag_port is not None:
            event.accept()
            return
        menu = self.context_menu(event.pos())
        if not menu.isEmpty():
            self._exec_menu(menu, event.globalPos())
        menu.deleteLater()
        event.accept()

    def _exec_menu(self, menu: QMenu, global_pos: QPoint) -> None:
        """Show ``menu`` and wait for a pick (tests replace this)."""
        menu.exec(global_pos)

    # --- palette drops ------------------------------------------------------------------

    def dragEnterEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(LAYER_MIME) and self.document is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:
        if event.mimeData().hasFormat(LAYER_MIME) and self.document is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: Any) -> None:
        event.accept()

    def dropEvent(self, event: Any) -> None:
        mime = event.mimeData()
        if not mime.hasFormat(LAYER_MIME) or self.document is None:
            event.ignore()
            return
        type_name = bytes(mime.data(LAYER_MIME).data()).decode("utf-8", "replace").strip()
        pos = self.mapToScene(event.position().toPoint())
        event.acceptProposedAction()
        self.add_node_at(type_name, pos)
        self.setFocus()

    # --- mouse --------------------------------------------------------------------------

    def _port_at(self, view_pos: QPointF) -> PortItem | None:
        """The port nearest to a viewport position, within SNAP_PIXELS."""
        scene_pos = self.mapToScene(view_pos.toPoint())
        radius = SNAP_PIXELS / max(self.zoom(), 1e-6)
        area = QRectF(scene_pos.x() - radius, scene_pos.y() - radius, 2 * radius, 2 * radius)
        best: PortItem | None = None
        best_d = radius * radius
        for item in self._scene.items(area):
            if isinstance(item, PortItem):
                d = item.scenePos() - scene_pos
                dist = d.x() * d.x() + d.y() * d.y()
                if dist <= best_d:
                    best, best_d = item, dist
        return best

    def _connection(self, a: PortItem, b: PortItem) -> tuple[str, str, int] | None:
        """(src, dst, port) if dragging from ``a`` to ``b`` joins an output to an input."""
        if a.node is b.node or a.kind == b.kind:
            return None
        out, inp = (a, b) if a.kind == "out" else (b, a)
        return out.node_id, inp.node_id, inp.index

    def _start_connect(self, port: PortItem) -> None:
        self._drag_port = port
        line = QGraphicsPathItem()
        pen = QPen(QColor(theme.ACCENT), 1.6, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        line.setPen(pen)
        line.setZValue(100)
        self._scene.addItem(line)
        self._drag_line = line
        want = "in" if port.kind == "out" else "out"
        self._candidates = []
        for item in self._nodes.values():
            if item is port.node:
                continue
            ports = item.in_ports if want == "in" else [item.out_port]
            for p in ports:
                p.set_state(PortItem.CANDIDATE)
                self._candidates.append(p)
        self._update_connect(port.scenePos())

    def _update_connect(self, scene_pos: QPointF, view_pos: QPointF | None = None) -> None:
        port = self._drag_port
        if port is None or self._drag_line is None:
            return
        target = self._port_at(view_pos) if view_pos is not None else None
        conn = self._connection(port, target) if target is not None else None
        if self._drag_target is not None and self._drag_target is not target:
            self._drag_target.set_state(PortItem.CANDIDATE)
        self._drag_target = target if conn else None
        end = scene_pos
        if target is not None and conn is not None:
            end = target.scenePos()
            src, dst, _ = conn
            graph = self.document.graph if self.document else None
            cycle = graph is not None and (src == dst or dst in graph.ancestors(src))
            target.set_state(PortItem.BAD if cycle else PortItem.GOOD)
        if port.kind == "out":
            self._drag_line.setPath(curve(port.scenePos(), end))
        else:
            self._drag_line.setPath(curve(end, port.scenePos()))

    def _cancel_connect(self) -> None:
        for p in self._candidates:
            if shiboken6.isValid(p):
                p.set_state(PortItem.NORMAL)
        self._candidates = []
        if self._drag_line is not None and shiboken6.isValid(self._drag_line):
            self._scene.removeItem(self._drag_line)
        self._drag_line = None
        self._drag_port = None
        self._drag_target = None

    def _finish_connect(self) -> None:
        start, target = self._drag_port, self._drag_target
        self._cancel_connect()
        if start is None or target is None:
            return
        conn = self._connection(start, target)
        if conn is None:
            return
        src, dst, port = conn
        self._edit("Connect", lambda g: g.connect(src, dst, port))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if button == Qt.MouseButton.MiddleButton or (
            button == Qt.MouseButton.LeftButton and self._space
        ):
            self._pan_from = event.position()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        if button == Qt.MouseButton.LeftButton and self._drag_port is None:
            item = self.itemAt(event.position().toPoint())
            port = item if isinstance(item, PortItem) else None
            if port is None and not isinstance(item, NodeItem | EdgeItem):
                port = self._port_at(event.position())
            if port is not None:
                self._start_connect(port)
                event.accept()
                return
            self._pressed_on_node = isinstance(item, NodeItem)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position() - self._pan_from
            self._pan_from = event.position()
            h, v = self.horizontalScrollBar(), self.verticalScrollBar()
            h.setValue(h.value() - round(delta.x()))
            v.setValue(v.value() - round(delta.y()))
            event.accept()
            return
        if self._drag_port is not None:
            self._update_connect(self.mapToScene(event.position().toPoint()), event.position())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        button = event.button()
        if self._pan_from is not None and button in (
            Qt.MouseButton.MiddleButton,
            Qt.MouseButton.LeftButton,
        ):
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        if self._drag_port is not None and button == Qt.MouseButton.LeftButton:
            self._update_connect(self.mapToScene(event.position().toPoint()), event.position())
            self._finish_connect()
            event.accept()
            return
        rubber = (
            self.dragMode() == QGraphicsView.DragMode.RubberBandDrag and not self._pressed_on_node
        )
        super().mouseReleaseEvent(event)
        if button == Qt.MouseButton.LeftButton:
            if self._pressed_on_node:
                self._commit_moves()
            elif rubber:
                self._trim_band_edges()
                event.accept()  # QGraphicsView leaves the end of a rubber band unaccepted
            self._pressed_on_node = False

    def _trim_band_edges(self) -> None:
        """After a rubber band, keep edges selected only if the band caught no node, or
        caught both of an edge's ends (so Del does not cut edges the band merely crossed)."""
        nodes = set(self.selected_node_ids())
        if not nodes:
            return
        for edge, item in self._edges.items():
            if item.isSelected() and not (edge.src in nodes and edge.dst in nodes):
                item.setSelected(False)

    # --- keyboard -----------------------------------------------------------------------

    def _is_canvas_key(self, event: QKeyEvent) -> bool:
        if event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace, Qt.Key.Key_Escape):
            return event.modifiers() in (
                Qt.KeyboardModifier.NoModifier,
                Qt.KeyboardModifier.KeypadModifier,
            )
        return any(
            event.matches(k)
            for k in (
                QKeySequence.StandardKey.Copy,
                QKeySequence.StandardKey.Paste,
                QKeySequence.StandardKey.SelectAll,
            )
        )

    def event(self, event: QEvent) -> bool:
        # Take these keys before window-wide shortcuts while the canvas has focus, so
        # Del/Ctrl+C/Ctrl+V/Ctrl+A act on the canvas whatever the main window binds.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and self._is_canvas_key(event)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        elif key == Qt.Key.Key_Escape:
            if self._drag_port is not None:
                self._cancel_connect()
            else:
                self.select_nodes([])
                self._scene.clearSelection()
        elif event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selected()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self.paste()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

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


__all__ = ["LAYER_MIME", "NODES_MIME", "EdgeItem", "GraphCanvas", "NodeItem", "PortItem"]
