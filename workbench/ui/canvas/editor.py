"""The builder canvas's editing: :class:`GraphCanvas` turns mouse, keyboard, menu, drop and
clipboard gestures into edits of a Document.

Every change goes through ``Document.edit`` (so it is undoable); the scene redraws from
the document when the document notifies it. A layer dropped from the palette is centred on
the drop point.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import QContextMenuEvent, QKeyEvent, QKeySequence, QMouseEvent
from PySide6.QtWidgets import QGraphicsView, QMenu, QWidget

from workbench.core import edits, text
from workbench.core.document import Document
from workbench.core.graph import Edge, Graph, GraphError
from workbench.core.layout import (
    NODE_SIZE,
    PasteCascade,
    auto_layout,
    free_position,
    moved_nodes,
    snap_radius,
)
from workbench.core.layout import find_nodes as core_find_nodes
from workbench.core.shapes import Issue
from workbench.ui.canvas import menus, transfer
from workbench.ui.canvas.connect import ConnectDrag
from workbench.ui.canvas.edges import EdgeItem
from workbench.ui.canvas.nodes import NodeItem, PortItem
from workbench.ui.canvas.view import CanvasView

_R = TypeVar("_R")


class GraphCanvas(CanvasView):
    """Shows a Document's graph and turns mouse and keyboard gestures into edits."""

    #: The ids of the selected nodes, whenever they change.
    selection_changed = Signal(list)
    #: A message for the status bar (e.g. why a connection was refused).
    status_message = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._connect = ConnectDrag(self.graph_scene)
        self._pressed_on_node = False
        self._pastes = PasteCascade()
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAcceptDrops(True)
        self.graph_scene.node_selection_changed.connect(self.selection_changed)

    @property
    def document(self) -> Document | None:
        """The document shown, if any."""
        return self.graph_scene.document

    def set_document(self, doc: Document | None) -> None:
        """Show ``doc`` (or nothing), following its changes from now on."""
        self._connect.cancel()
        self.graph_scene.set_document(doc)
        self._pastes.restart()
        self.show_new_model()

    # --- lookups and selection ----------------------------------------------------------

    def node_items(self) -> Iterable[NodeItem]:
        """Every node item."""
        return self.graph_scene.node_items()

    def node_item(self, node_id: str) -> NodeItem:
        """The item showing node ``node_id`` (KeyError if none)."""
        return self.graph_scene.nodes[node_id]

    def edge_item(self, edge: Edge) -> EdgeItem:
        """The item showing ``edge`` (KeyError if none)."""
        return self.graph_scene.edges[edge]

    def port_scene_pos(self, node_id: str, kind: str = "out", port: int = 0) -> QPointF:
        """Scene centre of a port; ``kind`` is "in" or "out"."""
        return self.node_item(node_id).port(kind, port).scenePos()

    def selected_node_ids(self) -> list[str]:
        """Ids of the selected nodes, in graph order."""
        return self.graph_scene.selected_node_ids()

    def selected_edges(self) -> list[Edge]:
        """The selected edges."""
        return self.graph_scene.selected_edges()

    def select_nodes(self, ids: Iterable[str]) -> None:
        """Select exactly these nodes (unknown ids are ignored)."""
        self.graph_scene.select_nodes(ids)

    def select_all(self) -> None:
        """Select every node."""
        self.select_nodes(list(self.graph_scene.nodes))

    def center_on_node(self, node_id: str) -> None:
        """Scroll so that a node is in the middle of the view."""
        item = self.graph_scene.nodes.get(node_id)
        if item is not None:
            self.centerOn(item)

    def find_nodes(self, search: str) -> list[str]:
        """Ids of nodes whose id or type contains ``search`` (case-insensitive); exact first."""
        if self.document is None:
            return []
        return core_find_nodes(self.document.graph, search)

    def find_node(self, search: str) -> str:
        """Select and centre the first node matching ``search``; return its id ('' if none)."""
        ids = self.find_nodes(search)
        if not ids:
            self.status_message.emit(text.no_match_status(search))
            return ""
        self.select_nodes([ids[0]])
        self.center_on_node(ids[0])
        self.setFocus()
        return ids[0]

    # --- edits --------------------------------------------------------------------------

    def _edit(self, label: str, fn: Callable[[Graph], _R]) -> _R | None:
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
        x, y = free_position(self.document.graph, (scene_pos.x(), scene_pos.y()), NODE_SIZE)
        return self.add_node_at(type_name, QPointF(x, y))

    def delete_selected(self) -> None:
        """Delete the selected nodes and edges as one edit.

        A deleted layer in the middle of a chain (one input, feeding others) leaves its
        neighbours joined when their shapes fit, in the same undo step.
        """
        nodes, edges = self.selected_node_ids(), self.selected_edges()
        if not nodes and not edges:
            return
        label = text.delete_label(nodes, len(edges))
        outcome = self._edit(label, lambda g: edits.delete(g, nodes, edges))
        if outcome is not None:
            message = text.delete_status(label, *outcome)
            if message:
                self.status_message.emit(message)

    def delete_edge(self, edge: Edge) -> None:
        """Delete one connection (one edit)."""
        self._edit("Delete connection", lambda g: g.disconnect(edge))

    def duplicate_selected(self) -> list[str]:
        """Copy the selected nodes (and the edges among them) beside them, as one edit."""
        ids = self.selected_node_ids()
        if not ids:
            return []
        new = self._edit(text.duplicate_label(ids), lambda g: edits.duplicate_beside(g, ids))
        if new:
            self.select_nodes(new)
        return list(new or [])

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
        return edits.first_fix(self.document.analysis, node_id)

    def apply_fix(self, node_id: str) -> str:
        """Apply the node's one-click fix (e.g. insert a Flatten before it) as one edit."""
        issue = self.fix_for(node_id)
        if issue is None or issue.fix is None or issue.edge is None:
            return ""
        return self.insert_on_edge(issue.edge, issue.fix)

    def copy_selected(self) -> None:
        """Put the selected nodes (and the edges among them) on the clipboard."""
        if self.document is None:
            return
        ids = self.selected_node_ids()
        if not ids:
            return
        transfer.put_layers(edits.copy_data(self.document.graph, ids))
        self._pastes.restart()
        self.status_message.emit(text.copied_status(len(ids)))

    def paste(self) -> list[str]:
        """Paste copied nodes (one edit) with fresh ids, select them and return the ids."""
        if self.document is None:
            return []
        raw = transfer.copied_layers()
        if raw is None:
            return []
        try:
            data = edits.read_copy_data(raw)
        except GraphError as e:
            self.status_message.emit(str(e))
            return []
        offset = self._pastes.offset(raw)
        ids = self._edit("Paste", lambda g: edits.paste(g, data, offset)) or []
        if ids:
            self.select_nodes(ids)
        return list(ids)

    def auto_layout(self) -> None:
        """Arrange every node by depth (one undoable edit), then fit the view (readably)."""
        if self.document is None or not self.document.graph.nodes:
            return
        self._edit("Auto layout", auto_layout)
        # Fit, but never so small the text cannot be read: a tall model shows its top.
        self.initial_view()

    def _commit_moves(self) -> None:
        if self.document is None:
            return
        shown = {
            nid: (item.pos().x(), item.pos().y()) for nid, item in self.graph_scene.nodes.items()
        }
        moved = moved_nodes(self.document.graph, shown)
        if not moved:
            return

        def move(g: Graph) -> None:
            for nid, pos in moved.items():
                g.move_node(nid, pos)

        self.graph_scene.reroute = True
        self._edit("Move", move)
        self.graph_scene.reroute = False

    # --- context menus ------------------------------------------------------------------

    def context_menu(self, view_pos: QPoint) -> QMenu:
        """The menu for what is under ``view_pos``: a node, a connection or the canvas."""
        return menus.context_menu(self, view_pos)

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        if self._connect.active:
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
        self.dragMoveEvent(event)

    def dragMoveEvent(self, event: Any) -> None:
        if transfer.is_layer_drag(event.mimeData()) and self.document is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: Any) -> None:
        event.accept()

    def dropEvent(self, event: Any) -> None:
        mime = event.mimeData()
        if not transfer.is_layer_drag(mime) or self.document is None:
            event.ignore()
            return
        type_name = transfer.dragged_layer(mime)
        pos = self.mapToScene(event.position().toPoint())
        event.acceptProposedAction()
        self.add_node_at(type_name, pos)
        self.setFocus()

    # --- mouse --------------------------------------------------------------------------

    def _port_at(self, view_pos: QPointF) -> PortItem | None:
        """The port nearest to a viewport position, within ``SNAP_PIXELS`` on screen."""
        scene_pos = self.mapToScene(view_pos.toPoint())
        return self.graph_scene.port_near(scene_pos, snap_radius(self.zoom()))

    def _drag_connection_to(self, view_pos: QPointF) -> None:
        graph = self.document.graph if self.document else None
        self._connect.update(self.mapToScene(view_pos.toPoint()), self._port_at(view_pos), graph)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self._pan_press(event):
            return
        if event.button() == Qt.MouseButton.LeftButton and not self._connect.active:
            item = self.itemAt(event.position().toPoint())
            port = item if isinstance(item, PortItem) else None
            if port is None and not isinstance(item, NodeItem | EdgeItem):
                port = self._port_at(event.position())
            if port is not None:
                self._connect.start(port)
                event.accept()
                return
            self._pressed_on_node = isinstance(item, NodeItem)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_move(event):
            return
        if self._connect.active:
            self._drag_connection_to(event.position())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_release(event):
            return
        button = event.button()
        if self._connect.active and button == Qt.MouseButton.LeftButton:
            self._drag_connection_to(event.position())
            edge = self._connect.finish()
            if edge is not None:
                self._edit("Connect", lambda g: g.connect(edge.src, edge.dst, edge.port))
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
                self.graph_scene.trim_band_edges()
                event.accept()  # QGraphicsView leaves the end of a rubber band unaccepted
            self._pressed_on_node = False

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
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.delete_selected()
        elif key == Qt.Key.Key_Escape:
            if self._connect.active:
                self._connect.cancel()
            else:
                self.select_nodes([])
                self.graph_scene.clearSelection()
        elif event.matches(QKeySequence.StandardKey.Copy):
            self.copy_selected()
        elif event.matches(QKeySequence.StandardKey.Paste):
            self.paste()
        elif event.matches(QKeySequence.StandardKey.SelectAll):
            self.select_all()
        else:
            super().keyPressEvent(event)  # Space for panning is the view's
            return
        event.accept()
