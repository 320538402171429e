"""The canvas's right-click menus: for a layer (its one-click fix first), for a connection
(insert a layer on it), and for the empty canvas (add a layer there, paste, fit, layout)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QPointF
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from workbench.core import catalog, edits, text
from workbench.core.graph import Edge
from workbench.ui.canvas import transfer
from workbench.ui.canvas.edges import EdgeItem
from workbench.ui.canvas.nodes import NodeItem, PortItem

if TYPE_CHECKING:
    from workbench.ui.canvas.editor import GraphCanvas


def item_under(canvas: GraphCanvas, view_pos: QPoint) -> NodeItem | EdgeItem | None:
    """The node (a port counts as its node) or edge under ``view_pos``, if any."""
    item = canvas.itemAt(view_pos)
    if isinstance(item, PortItem):
        return item.node
    if isinstance(item, NodeItem | EdgeItem):
        return item
    return None


def context_menu(canvas: GraphCanvas, view_pos: QPoint) -> QMenu:
    """The menu for what is under ``view_pos``: a node, a connection or the canvas.

    Right-clicking an unselected node or connection selects it first, as in file
    managers, so the menu's commands act on what the user sees selected.
    """
    menu = QMenu(canvas)
    scene_pos = canvas.mapToScene(view_pos)
    item = item_under(canvas, view_pos)
    if canvas.document is None:
        return menu
    if isinstance(item, NodeItem):
        if not item.isSelected():
            canvas.select_nodes([item.node_id])
        _fill_node_menu(canvas, menu, item.node_id)
    elif isinstance(item, EdgeItem):
        if not item.isSelected():
            canvas.graph_scene.select_edge(item.edge)
        _fill_edge_menu(canvas, menu, item.edge)
    else:
        _fill_canvas_menu(canvas, menu, scene_pos)
    return menu


def _fill_node_menu(canvas: GraphCanvas, menu: QMenu, node_id: str) -> None:
    issue = canvas.fix_for(node_id)
    if issue is not None:
        fix = menu.addAction(issue.fix_label)
        fix.setObjectName("fixAction")
        fix.setToolTip(issue.message)
        fix.setStatusTip(issue.message)
        f = menu.font()
        f.setBold(True)
        fix.setFont(f)
        fix.triggered.connect(lambda _=False: canvas.apply_fix(node_id))
        menu.setDefaultAction(fix)
        menu.addSeparator()
    count = len(canvas.selected_node_ids())
    dup = menu.addAction(text.many_label("Duplicate", count))
    dup.triggered.connect(lambda _=False: canvas.duplicate_selected())
    disc = menu.addAction("Disconnect All")
    disc.setToolTip("Remove every connection into and out of this layer")
    disc.setEnabled(
        edits.is_connected(canvas.document.graph, node_id) if canvas.document else False
    )
    disc.triggered.connect(lambda _=False: canvas.disconnect_node(node_id))
    copy = menu.addAction("Copy")
    copy.setShortcut(QKeySequence(QKeySequence.StandardKey.Copy))
    copy.triggered.connect(lambda _=False: canvas.copy_selected())
    menu.addSeparator()
    delete = menu.addAction(text.many_label("Delete", count))
    delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
    delete.triggered.connect(lambda _=False: canvas.delete_selected())


def _layer_menu(parent: QMenu, title: str, action: Callable[[str], object], on_edge: bool) -> QMenu:
    """A submenu of catalog layers by group; ``action(type_name)`` runs on a pick."""
    sub = parent.addMenu(title)
    for group, names in edits.menu_layers(on_edge).items():
        group_menu = sub.addMenu(group)
        for name in names:
            act = group_menu.addAction(name)
            act.setToolTip(catalog.get(name).doc)
            act.triggered.connect(lambda _=False, n=name: action(n))
    return sub


def _fill_edge_menu(canvas: GraphCanvas, menu: QMenu, edge: Edge) -> None:
    _layer_menu(menu, "Insert Layer Here", lambda name: canvas.insert_on_edge(edge, name), True)
    menu.addSeparator()
    delete = menu.addAction("Delete Connection")
    delete.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
    delete.triggered.connect(lambda _=False: canvas.delete_edge(edge))


def _fill_canvas_menu(canvas: GraphCanvas, menu: QMenu, scene_pos: QPointF) -> None:
    _layer_menu(menu, "Add Layer", lambda name: canvas.add_node_near(name, scene_pos), False)
    paste = menu.addAction("Paste")
    paste.setShortcut(QKeySequence(QKeySequence.StandardKey.Paste))
    paste.setEnabled(transfer.holds_layers())
    paste.triggered.connect(lambda _=False: canvas.paste())
    menu.addSeparator()
    has_nodes = bool(canvas.graph_scene.nodes)
    for label, slot, key in (
        ("Fit to View", canvas.fit_to_view, "Ctrl+Shift+F"),
        ("Auto-layout", canvas.auto_layout, "Ctrl+L"),
        ("Select All", canvas.select_all, QKeySequence.StandardKey.SelectAll),
    ):
        act: QAction = menu.addAction(label)
        act.setShortcut(QKeySequence(key))
        act.setEnabled(has_nodes)
        act.triggered.connect(lambda _=False, f=slot: f())
