"""The model summary: every layer's output shape, parameters and FLOPs, with the totals."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.core.document import Document
from workbench.core.text import human_bytes, human_count, human_flops
from workbench.ui import theme

#: Batch size for the activation-memory estimate.
MEMORY_BATCH = 32
#: The layer's type is in its id and its tooltip; a Type column would push FLOPs out of the dock.
COLUMNS = ("Layer", "Output shape", "Params", "FLOPs")
_ID_ROLE = Qt.ItemDataRole.UserRole


class SummaryPanel(QWidget):
    """A table of the layers in topological order plus the model's totals.

    Clicking a row emits ``node_clicked(id)`` (the window selects that node).
    """

    node_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(24)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        # Columns fit their contents so the panel works at the narrow width of a side dock.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(40)
        self.table.cellClicked.connect(self._on_cell_clicked)

        #: The totals as shown, by key: params, flops, activations, weights, errors.
        self.totals: dict[str, str] = {}
        # One wrapping label, so the panel can be narrower than the whole strip.
        self.totals_label = QLabel()
        self.totals_label.setObjectName("summaryTotals")
        self.totals_label.setTextFormat(Qt.TextFormat.RichText)
        self.totals_label.setWordWrap(True)
        self.totals_label.setContentsMargins(10, 6, 10, 6)
        self.totals_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.totals_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.totals_label)
        layout.addWidget(self.table, 1)
        self._updating = False
        self.refresh()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(720, 180)

    def set_document(self, document: Document | None) -> None:
        """Show ``document`` and follow its changes."""
        if self.document is not None:
            self.document.unsubscribe(self._on_changed)
        self.document = document
        if document is not None:
            document.subscribe(self._on_changed)
        self.refresh()

    def _on_changed(self, document: Document) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the table and totals from the document's analysis."""
        doc = self.document
        selected = set(self.selected_ids())
        self._updating = True
        try:
            self.table.setRowCount(0)
            if doc is None:
                self.totals = {}
                self.totals_label.setText("")
                return
            a = doc.analysis
            order = [n for n in a.order if n in doc.graph.nodes]
            self.table.setRowCount(len(order))
            error_nodes = {i.node for i in a.errors if i.node is not None}
            warn_nodes = {
                i.node for i in a.issues if i.severity == "warning" and i.node is not None
            }
            tint = QBrush(QColor(theme.ERROR_TINT))
            for row, nid in enumerate(order):
                node = doc.graph.nodes[nid]
                info = a.nodes.get(nid)
                out = str(info.output) if info is not None and info.output is not None else "?"
                params = info.params if info is not None else 0
                flops = info.flops if info is not None else 0
                cells = [nid, out, f"{params:,}", human_count(flops) if flops else "0"]
                issues = a.issues_for(nid)
                tip = "\n".join(
                    [f"{nid}: {node.type}, {human_flops(flops)} per sample"]
                    + [f"{i.severity.capitalize()}: {i.message}" for i in issues]
                )
                for col, text in enumerate(cells):
                    item = QTableWidgetItem(text)
                    item.setData(_ID_ROLE, nid)
                    if col >= 2:
                        item.setTextAlignment(
                            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                        )
                    if nid in error_nodes:
                        item.setBackground(tint)
                        item.setForeground(QBrush(QColor(theme.ERROR)))
                    elif nid in warn_nodes and col == 0:
                        item.setForeground(QBrush(QColor(theme.WARNING)))
                    if tip:
                        item.setToolTip(tip)
                    self.table.setItem(row, col, item)
                if nid in selected:
                    self._select_row(row)
            errors = len(a.errors)
            self.totals = {
                "params": human_count(a.total_params),
                "flops": human_flops(a.total_flops),
                "activations": human_bytes(a.activation_bytes(MEMORY_BATCH)),
                "weights": human_bytes(a.parameter_bytes()),
                "errors": str(errors),
            }
            color = theme.ERROR if errors else theme.OK
            parts = [
                ("Parameters", self.totals["params"], f"{a.total_params:,} trainable parameters"),
                ("FLOPs / sample", self.totals["flops"], ""),
                (f"Activations (batch {MEMORY_BATCH})", self.totals["activations"], ""),
                ("Weights", self.totals["weights"], ""),
                ("Errors", f'<span style="color:{color}">{errors}</span>', ""),
            ]
            self.totals_label.setText(
                "&nbsp;&nbsp;&nbsp; ".join(
                    f'<span style="color:{theme.MUTED}">{_nb(k)}</span>&nbsp;<b>{_nb(v)}</b>'
                    for k, v, _ in parts
                )
            )
            self.totals_label.setToolTip(
                f"{a.total_params:,} trainable parameters · {a.total_flops:,} FLOPs per sample\n"
                f"Activations: estimated forward memory of one training batch of {MEMORY_BATCH} (float32)\n"
                "Weights: memory held by the trainable parameters (float32)"
                + ("\n\nErrors:\n" + "\n".join(i.message for i in a.errors) if errors else "")
            )
        finally:
            self._updating = False

    # --- selection ---------------------------------------------------------------------

    def row_ids(self) -> list[str]:
        """Node ids in table order."""
        return [self._row_id(r) for r in range(self.table.rowCount())]

    def selected_ids(self) -> list[str]:
        """Ids of the selected rows."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self._row_id(r) for r in rows if self.table.item(r, 0)]

    def _row_id(self, row: int) -> str:
        item = self.table.item(row, 0)
        return item.data(_ID_ROLE) if item is not None else ""

    def set_selection(self, node_ids: list[str]) -> None:
        """Highlight the rows of ``node_ids`` (the canvas selection) without emitting."""
        wanted = set(node_ids)
        self._updating = True
        try:
            self.table.clearSelection()
            for r, nid in enumerate(self.row_ids()):
                if nid in wanted:
                    self._select_row(r)
        finally:
            self._updating = False

    def _select_row(self, row: int) -> None:
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        self.table.selectionModel().select(self.table.model().index(row, 0), flags)

    def _on_cell_clicked(self, row: int, column: int) -> None:
        item = self.table.item(row, 0)
        if item is not None and not self._updating:
            self.node_clicked.emit(item.data(_ID_ROLE))


def _nb(text: str) -> str:
    """Keep a label and its value on one line when the totals wrap."""
    return text if "<" in text else text.replace(" ", "&nbsp;")
