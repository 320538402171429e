"""Dragging a connection out of a port: the dashed line that follows the pointer, the
ports it may end on (green where it can, red where it would make a cycle), and the
connection it asks for when it is dropped."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPen
from PySide6.QtWidgets import QGraphicsPathItem

from workbench.core.edits import connection, makes_cycle
from workbench.core.graph import Edge, Graph
from workbench.ui import theme
from workbench.ui.canvas.edges import curve
from workbench.ui.canvas.nodes import PortItem
from workbench.ui.canvas.scene import GraphScene


class ConnectDrag:
    """One connection being dragged on a :class:`GraphScene` (or none)."""

    def __init__(self, scene: GraphScene) -> None:
        self.scene = scene
        #: The port the drag started at, while a drag is on.
        self.port: PortItem | None = None
        #: The dashed line, while a drag is on.
        self.line: QGraphicsPathItem | None = None
        #: The port the drag would connect to if dropped now.
        self.target: PortItem | None = None
        self._candidates: list[PortItem] = []

    @property
    def active(self) -> bool:
        """Whether a connection is being dragged."""
        return self.port is not None

    def start(self, port: PortItem) -> None:
        """Start dragging from ``port``: draw the line and mark the ports it may end on."""
        self.port = port
        line = QGraphicsPathItem()
        pen = QPen(QColor(theme.ACCENT), 1.6, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        line.setPen(pen)
        line.setZValue(100)
        self.scene.addItem(line)
        self.line = line
        want = "in" if port.kind == "out" else "out"
        self._candidates = []
        for item in self.scene.node_items():
            if item is port.node:
                continue
            ports = item.in_ports if want == "in" else [item.out_port]
            for p in ports:
                p.set_state(PortItem.CANDIDATE)
                self._candidates.append(p)
        self.update(port.scenePos(), None, None)

    def update(self, scene_pos: QPointF, target: PortItem | None, graph: Graph | None) -> None:
        """Follow the pointer at ``scene_pos``; ``target`` is the port under it, if any, and
        ``graph`` the graph the connection would go into (to show a cycle in red)."""
        port = self.port
        if port is None or self.line is None:
            return
        conn = self._connection(port, target)
        if self.target is not None and self.target is not target:
            self.target.set_state(PortItem.CANDIDATE)
        self.target = target if conn else None
        end = scene_pos
        if target is not None and conn is not None:
            end = target.scenePos()
            cycle = graph is not None and makes_cycle(graph, conn)
            target.set_state(PortItem.BAD if cycle else PortItem.GOOD)
        if port.kind == "out":
            self.line.setPath(curve(port.scenePos(), end))
        else:
            self.line.setPath(curve(end, port.scenePos()))

    def cancel(self) -> None:
        """Stop dragging: remove the line and unmark the ports."""
        for p in self._candidates:
            if shiboken6.isValid(p):
                p.set_state(PortItem.NORMAL)
        self._candidates = []
        if self.line is not None and shiboken6.isValid(self.line):
            self.scene.removeItem(self.line)
        self.line = None
        self.port = None
        self.target = None

    def finish(self) -> Edge | None:
        """Stop dragging; return the connection the drop asks for, if any."""
        start, target = self.port, self.target
        self.cancel()
        return self._connection(start, target)

    @staticmethod
    def _connection(a: PortItem | None, b: PortItem | None) -> Edge | None:
        if a is None or b is None:
            return None
        return connection(a.ref, b.ref)
