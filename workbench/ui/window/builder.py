"""The Model page: the canvas with the layer palette, inspector and summary docked around it.

The builder is a main window of its own inside the Model tab, so its docks belong to that
page and the other pages (Data, Train, …) get the window's full width. It also holds the
commands the Edit and View menus start on the model (cut, find a layer, add a layer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from workbench.core.document import Document
from workbench.core.text import chosen_layer, is_selection_status, layer_choice, selection_status
from workbench.ui.canvas import GraphCanvas
from workbench.ui.inspector import Inspector
from workbench.ui.palette import LayerPalette
from workbench.ui.summary import SummaryPanel

if TYPE_CHECKING:
    from workbench.ui.window.main import MainWindow

_LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
_RIGHT = Qt.DockWidgetArea.RightDockWidgetArea


class ModelBuilder(QMainWindow):
    """The Model page; see the module docstring.

    Attributes:
        canvas, layer_palette, inspector, summary: The builder's parts.
        palette_dock, inspector_dock, summary_dock: The docks that hold the panels.
    """

    def __init__(self, main_window: MainWindow) -> None:
        super().__init__()
        self.main_window = main_window
        self.setObjectName("builder")
        self.setWindowFlags(Qt.WindowType.Widget)
        self.setDockNestingEnabled(True)
        self.setCorner(Qt.Corner.BottomLeftCorner, _LEFT)
        self.setCorner(Qt.Corner.BottomRightCorner, _RIGHT)
        self.canvas = GraphCanvas()
        self.setCentralWidget(self.canvas)
        self.layer_palette = LayerPalette()
        self.inspector = Inspector()
        self.summary = SummaryPanel()
        self.palette_dock = self._dock("Layers", "paletteDock", self.layer_palette, _LEFT)
        self.inspector_dock = self._dock("Inspector", "inspectorDock", self.inspector, _RIGHT)
        # Inspector above summary on the right leaves the canvas the full height,
        # which tall models (one row per layer) need to stay readable.
        self.summary_dock = self._dock("Summary", "summaryDock", self.summary, _RIGHT)
        self.splitDockWidget(self.inspector_dock, self.summary_dock, Qt.Orientation.Vertical)

        self.canvas.selection_changed.connect(self.on_selection_changed)
        self.canvas.status_message.connect(main_window.show_status)
        self.layer_palette.layer_activated.connect(self.add_layer_at_center)
        self.summary.node_clicked.connect(self._on_summary_clicked)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.addDockWidget(area, dock)
        return dock

    def docks(self) -> list[tuple[QDockWidget, Qt.DockWidgetArea]]:
        """The panels' docks with the area each starts in, in the Panels menu's order."""
        return [
            (self.palette_dock, _LEFT),
            (self.inspector_dock, _RIGHT),
            (self.summary_dock, _RIGHT),
        ]

    def default_dock_sizes(self) -> None:
        """Give the panels their starting sizes (once the window has its real size)."""
        self.resizeDocks(
            [self.palette_dock, self.inspector_dock], [220, 390], Qt.Orientation.Horizontal
        )
        self.resizeDocks(
            [self.inspector_dock, self.summary_dock], [380, 320], Qt.Orientation.Vertical
        )

    def reset_layout(self) -> None:
        """Put the panels back where they start."""
        for dock, area in self.docks():
            dock.setFloating(False)
            self.addDockWidget(area, dock)
            dock.show()
        self.splitDockWidget(self.inspector_dock, self.summary_dock, Qt.Orientation.Vertical)
        self.default_dock_sizes()

    # --- the document and the selection -----------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Show ``document`` on the canvas and in the panels."""
        self.canvas.set_document(document)
        self.inspector.set_document(document)
        self.summary.set_document(document)
        self.on_selection_changed(self.canvas.selected_node_ids())

    def on_selection_changed(self, ids: list[str]) -> None:
        """Show the canvas selection in the inspector, the summary and the status bar."""
        self.inspector.set_selection(list(ids))
        self.summary.set_selection(list(ids))
        types = {nid: node.type for nid, node in self.main_window.document.graph.nodes.items()}
        message = selection_status(ids, types)
        status_bar = self.main_window.statusBar()
        if message:
            self.main_window.show_status(message, 0)
        elif is_selection_status(status_bar.currentMessage()):
            status_bar.clearMessage()

    def _on_summary_clicked(self, node_id: str) -> None:
        self.canvas.select_nodes([node_id])
        self.canvas.center_on_node(node_id)

    # --- edits ------------------------------------------------------------------------------

    def cut(self) -> None:
        """Copy the selected layers, then delete them."""
        self.canvas.copy_selected()
        self.canvas.delete_selected()

    def add_layer_at_center(self, type_name: str) -> str:
        """Add a ``type_name`` layer in the middle of the canvas view; return its id."""
        self.main_window.show_page("model")
        center = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        # On the free spot nearest the middle, so a new layer never hides another.
        node_id = self.canvas.add_node_near(type_name, QPointF(center))
        if node_id:
            self.canvas.setFocus()
        return node_id

    def focus_palette_search(self) -> None:
        """View ▸ Search Layers to Add: show the palette and put the cursor in its search."""
        self.main_window.show_page("model")
        self.palette_dock.show()
        self.palette_dock.raise_()
        self.layer_palette.search.setFocus()
        self.layer_palette.search.selectAll()

    def find_layer_dialog(self) -> str:
        """View ▸ Find Layer: ask for a layer and select and centre it on the canvas."""
        self.main_window.show_page("model")
        choices = [layer_choice(n.id, n.type) for n in self.main_window.document.graph]
        if not choices:
            self.main_window.show_status("The model has no layers yet", 6000)
            return ""
        answer = self.main_window._ask_find_layer(choices)
        if not answer:
            return ""
        return self.canvas.find_node(chosen_layer(answer))
