"""The scene of the builder canvas: one item per node and edge of a Document's graph, kept
in line with the document as it changes (items are updated in place, not made anew)."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QPointF, QRectF, Signal
from PySide6.QtWidgets import QGraphicsScene

from workbench.core.document import Document
from workbench.core.graph import Edge
from workbench.core.layout import nearest
from workbench.ui.canvas.edges import EdgeItem
from workbench.ui.canvas.nodes import NodeItem, PortItem, node_fonts

SCENE_EXTENT = 50_000.0


class GraphScene(QGraphicsScene):
    """Shows a Document's graph as node, port and edge items, following its changes."""

    #: The ids of the selected nodes, whenever they change.
    node_selection_changed = Signal(list)
    #: The views should repaint all of themselves: the scene gained its first node or lost
    #: its last (an empty canvas shows a hint).
    repaint_needed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSceneRect(-SCENE_EXTENT, -SCENE_EXTENT, 2 * SCENE_EXTENT, 2 * SCENE_EXTENT)
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.document: Document | None = None
        self.fonts = node_fonts()
        #: The item of each node and of each edge, in graph order.
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[Edge, EdgeItem] = {}
        #: Set while moved nodes are committed: the next refresh reroutes every edge, since
        #: a moved node may now block, or clear, a long edge's way.
        self.reroute = False
        self._listener: Any = None
        self._last_selection: list[str] = []
        self._refreshing = False
        self.selectionChanged.connect(self._on_selection_changed)

    # --- document -----------------------------------------------------------------------

    def set_document(self, doc: Document | None) -> None:
        """Show ``doc`` (or nothing), following its changes from now on."""
        if self.document is not None and self._listener is not None:
            self.document.unsubscribe(self._listener)
        self.document = doc
        self._clear()
        self._listener = None
        if doc is not None:
            ref = weakref.ref(self)

            def listener(d: Document) -> None:
                scene = ref()
                if scene is None or not shiboken6.isValid(scene):
                    d.unsubscribe(listener)
                    return
                scene.refresh()

            self._listener = listener
            doc.subscribe(listener)
        self.refresh()

    def _clear(self) -> None:
        self._refreshing = True
        try:
            for item in self.edges.values():
                item.detach()
            self.clear()
            self.nodes.clear()
            self.edges.clear()
        finally:
            self._refreshing = False
        self._emit_selection()

    def refresh(self) -> None:
        """Bring the items in line with the document, updating existing items in place."""
        doc = self.document
        if doc is None:
            if self.nodes:
                self._clear()
            self.repaint_needed.emit()
            return
        graph = doc.graph
        analysis = doc.analysis
        was_empty = not self.nodes
        by_node = analysis.issues_by_node()
        by_edge = analysis.edge_errors()
        edges = set(graph.edges)

        self._refreshing = True
        try:
            removed = False
            for key in [
                k
                for k in self.edges
                if k not in edges or k.src not in graph.nodes or k.dst not in graph.nodes
            ]:
                dead_edge = self.edges.pop(key)
                dead_edge.detach()
                self.removeItem(dead_edge)
            for nid in [n for n in self.nodes if n not in graph.nodes]:
                dead_node = self.nodes.pop(nid)
                for e in list(dead_node.edges):  # defensive: an edge the graph lost with its node
                    e.detach()
                    self.edges.pop(e.edge, None)
                    self.removeItem(e)
                self.removeItem(dead_node)
                removed = True

            geometry = removed or self.reroute
            self.reroute = False
            connected_in: set[tuple[str, int]] = {(e.dst, e.port) for e in edges}
            connected_out: set[str] = {e.src for e in edges}
            for nid, node in graph.nodes.items():
                node_item = self.nodes.get(nid)
                if node_item is None:
                    node_item = NodeItem(nid, self.fonts)
                    self.nodes[nid] = node_item
                    self.addItem(node_item)
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
                item = self.edges.get(edge)
                if item is None:
                    src, dst = self.nodes.get(edge.src), self.nodes.get(edge.dst)
                    if src is None or dst is None:
                        continue
                    item = EdgeItem(edge, src, dst, self.node_items)
                    self.edges[edge] = item
                    self.addItem(item)
                elif geometry:
                    item.update_path()  # a moved, added or resized node may be in its way
                src_info = analysis.nodes.get(edge.src)
                item.set_error(
                    by_edge.get(edge), str(src_info.output) if src_info and src_info.output else ""
                )
        finally:
            self._refreshing = False
        if was_empty != (not self.nodes):
            self.repaint_needed.emit()
        self._emit_selection()

    # --- lookups ------------------------------------------------------------------------

    def node_items(self) -> Iterable[NodeItem]:
        """Every node item."""
        return self.nodes.values()

    def nodes_rect(self) -> QRectF:
        """The scene rectangle that holds every node item (empty when there are none)."""
        rect = QRectF()
        for item in self.nodes.values():
            rect = rect.united(item.sceneBoundingRect())
        return rect

    def port_near(self, scene_pos: QPointF, radius: float) -> PortItem | None:
        """The port nearest to ``scene_pos``, within ``radius`` (scene units)."""
        area = QRectF(scene_pos.x() - radius, scene_pos.y() - radius, 2 * radius, 2 * radius)
        ports = (
            (item, (item.scenePos().x(), item.scenePos().y()))
            for item in self.items(area)
            if isinstance(item, PortItem)
        )
        return nearest(ports, (scene_pos.x(), scene_pos.y()), radius)

    # --- selection ----------------------------------------------------------------------

    def selected_node_ids(self) -> list[str]:
        """Ids of the selected nodes, in graph order."""
        return [nid for nid, item in self.nodes.items() if item.isSelected()]

    def selected_edges(self) -> list[Edge]:
        """The selected edges."""
        return [e for e, item in self.edges.items() if item.isSelected()]

    def select_nodes(self, ids: Iterable[str]) -> None:
        """Select exactly these nodes (unknown ids are ignored)."""
        wanted = set(ids)
        self._refreshing = True
        try:
            for item in self.selectedItems():
                if not (isinstance(item, NodeItem) and item.node_id in wanted):
                    item.setSelected(False)
            for nid in wanted:
                node = self.nodes.get(nid)
                if node is not None:
                    node.setSelected(True)
        finally:
            self._refreshing = False
        self._emit_selection()

    def select_edge(self, edge: Edge) -> None:
        """Select exactly this edge."""
        self.clearSelection()
        self.edges[edge].setSelected(True)

    def trim_band_edges(self) -> None:
        """After a rubber band, keep edges selected only if the band caught no node, or
        caught both of an edge's ends (so Del does not cut edges the band merely crossed)."""
        nodes = set(self.selected_node_ids())
        if not nodes:
            return
        for edge, item in self.edges.items():
            if item.isSelected() and not (edge.src in nodes and edge.dst in nodes):
                item.setSelected(False)

    def _on_selection_changed(self) -> None:
        if not self._refreshing:
            self._emit_selection()

    def _emit_selection(self) -> None:
        ids = self.selected_node_ids()
        if ids != self._last_selection:
            self._last_selection = ids
            self.node_selection_changed.emit(ids)

    # --- theme --------------------------------------------------------------------------

    def restyle(self) -> None:
        """Redraw every item in the current theme's colours."""
        for node in self.nodes.values():
            node.update()
            for port in node.ports():
                port.update()
        for edge in self.edges.values():
            edge.restyle()
