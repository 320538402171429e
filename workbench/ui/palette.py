"""The layer palette: a searchable, grouped list of catalog layers to drag onto the canvas."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QMimeData, QObject, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLineEdit,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core import catalog
from workbench.ui.theme import bold, label

#: Mime type of a palette drag; the data is the layer type name in UTF-8.
LAYER_MIME = "application/x-workbench-layer"

_TYPE_ROLE = Qt.ItemDataRole.UserRole


def layer_mime_data(type_name: str) -> QMimeData:
    """The mime data of a drag that carries layer type ``type_name``."""
    mime = QMimeData()
    mime.setData(LAYER_MIME, type_name.encode("utf-8"))
    mime.setText(type_name)
    return mime


def layer_tooltip(layer: catalog.LayerType) -> str:
    """Tooltip text for a layer: its doc plus the ONNX note if there is one."""
    text = layer.doc
    if not layer.onnx:
        note = layer.onnx_note or "this layer cannot be exported to ONNX yet."
        text += f"\n\nONNX export: not supported — {note}"
    elif layer.onnx_note:
        text += f"\n\nONNX: {layer.onnx_note}"
    return text


class _LayerTree(QTreeWidget):
    """A tree whose layer items drag out as :data:`LAYER_MIME`."""

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt override
        return [LAYER_MIME]

    def mimeData(self, items: Sequence[QTreeWidgetItem]) -> QMimeData:  # noqa: N802 - Qt override
        names = [it.data(0, _TYPE_ROLE) for it in items if it.data(0, _TYPE_ROLE)]
        return layer_mime_data(names[0] if names else "")

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802 - Qt override
        return Qt.DropAction.CopyAction


class LayerPalette(QWidget):
    """Search box over the catalog's layers, grouped as in ``catalog.by_group()``.

    Drag an item onto the canvas, or double-click it / press Enter to add it at the
    centre of the view (``layer_activated``).
    """

    layer_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter by name, group or description")
        self.search.textChanged.connect(self.set_filter)
        self.search.returnPressed.connect(self._activate_first)
        self.search.installEventFilter(self)

        self.tree = _LayerTree(self)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.tree.setIndentation(12)
        self.tree.setUniformRowHeights(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.itemActivated.connect(self._on_item_activated)

        self._empty = label("", "muted", wrap=True)
        self._empty.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._empty.setContentsMargins(8, 16, 8, 8)
        self._stack = QStackedWidget(self)
        self._stack.addWidget(self.tree)
        self._stack.addWidget(self._empty)

        hint = label("Drag a layer onto the canvas, or double-click it.", "muted", wrap=True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self._stack, 1)
        layout.addWidget(hint)
        self.rebuild()
        # Never narrower than the longest name ("TransformerEncoderLayer"): a cut-off
        # name is hard to recognise, and the panel is the only place the names are listed.
        self.tree.setMinimumWidth(self._names_width())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(max(230, self._names_width() + 16), 500)

    def _names_width(self) -> int:
        """Width the tree needs to show every layer's full name (and a scroll bar)."""
        fm = self.tree.fontMetrics()
        widest = max(
            (
                fm.horizontalAdvance(layer.name)
                for layers in catalog.by_group().values()
                for layer in layers
            ),
            default=0,
        )
        # Two levels of indentation (group, layer), the item's own padding, the frame
        # and a vertical scroll bar that may appear.
        scroll = self.tree.style().pixelMetric(self.style().PixelMetric.PM_ScrollBarExtent)
        return widest + 2 * self.tree.indentation() + 16 + 2 * self.tree.frameWidth() + scroll

    # --- content -----------------------------------------------------------------------

    def rebuild(self) -> None:
        """Fill the tree from the catalog (keeps the current filter)."""
        self.tree.clear()
        for group, layers in catalog.by_group().items():
            top = QTreeWidgetItem([group])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            top.setFont(0, bold(self.tree.font()))
            top.setData(0, Qt.ItemDataRole.UserRole + 1, group)
            self.tree.addTopLevelItem(top)
            for layer in layers:
                item = QTreeWidgetItem([layer.name])
                item.setData(0, _TYPE_ROLE, layer.name)
                item.setToolTip(0, layer_tooltip(layer))
                item.setFlags(
                    Qt.ItemFlag.ItemIsEnabled
                    | Qt.ItemFlag.ItemIsSelectable
                    | Qt.ItemFlag.ItemIsDragEnabled
                )
                top.addChild(item)
            top.setExpanded(True)
        self.set_filter(self.search.text())

    def mime_data(self, type_name: str) -> QMimeData:
        """The mime data a drag of ``type_name`` carries."""
        return layer_mime_data(type_name)

    # --- filtering ---------------------------------------------------------------------

    def set_filter(self, text: str) -> None:
        """Show only layers whose name, group or doc contains ``text`` (case-insensitive)."""
        if self.search.text() != text:
            self.search.setText(text)  # re-enters through textChanged
            return
        needle = text.strip().casefold()
        any_visible = False
        for top, items in self._groups():
            group_hit = needle in top.text(0).casefold()
            visible = 0
            for item in items:
                layer = catalog.get(item.data(0, _TYPE_ROLE))
                hit = (
                    group_hit
                    or not needle
                    or any(needle in s.casefold() for s in (layer.name, layer.doc, layer.short))
                )
                item.setHidden(not hit)
                visible += hit
            top.setHidden(visible == 0)
            if needle and visible:
                top.setExpanded(True)
            any_visible = any_visible or visible > 0
        if any_visible:
            self._stack.setCurrentWidget(self.tree)
        else:
            self._empty.setText(
                f"No layer matches “{text.strip()}”.\nTry another word, e.g. conv, pool or dense."
            )
            self._stack.setCurrentWidget(self._empty)

    def visible_layers(self) -> list[str]:
        """Type names currently shown, in palette order."""
        names: list[str] = []
        for top, items in self._groups():
            if top.isHidden():
                continue
            names.extend(item.data(0, _TYPE_ROLE) for item in items if not item.isHidden())
        return names

    def _groups(self) -> list[tuple[QTreeWidgetItem, list[QTreeWidgetItem]]]:
        """Each group item of the tree with its layer items, in palette order."""
        groups = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top is None:
                continue
            children = (top.child(j) for j in range(top.childCount()))
            groups.append((top, [c for c in children if c is not None]))
        return groups

    # --- activation --------------------------------------------------------------------

    def _on_item_activated(self, item: QTreeWidgetItem, column: int) -> None:
        name = item.data(0, _TYPE_ROLE)
        if name:
            self.layer_activated.emit(name)

    def _activate_first(self) -> None:
        names = self.visible_layers()
        if self.search.text().strip() and names:
            self.layer_activated.emit(names[0])

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        # Down arrow in the search box moves into the results, as in most search fields.
        if (
            watched is self.search
            and isinstance(event, QKeyEvent)
            and event.type() == QKeyEvent.Type.KeyPress
        ):
            if event.key() == Qt.Key.Key_Down:
                names = self.visible_layers()
                if names:
                    self._select(names[0])
                    self.tree.setFocus()
                return bool(names)
        return super().eventFilter(watched, event)

    def _select(self, type_name: str) -> None:
        for _top, items in self._groups():
            for item in items:
                if item.data(0, _TYPE_ROLE) == type_name:
                    self.tree.setCurrentItem(item)
                    return
