"""The samples behind a figure: the list the Evaluate tab shows beside its plots.

:class:`SamplesPanel` lists samples of an evaluation (a confusion-matrix cell, the most
confident mistakes, the largest errors, the point nearest a click), one row each with
its true and predicted label and its probabilities, a thumbnail for an image (decoded off
the GUI thread as the rows appear) and a table's feature values. The list starts sorted by
confidence, most confident first, so a cell of mistakes shows its worst ones at the top; a
click on a column header sorts by that column. Under the list, every field of the chosen
sample, one per line.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from workbench.engine.evaluation.explore import (
    MAX_LISTED,
    SampleRows,
    TableRows,
    sample_rows,
    shown_note,
)
from workbench.engine.evaluation.result import Evaluation
from workbench.ui import theme
from workbench.ui.theme import label
from workbench.ui.thumbnails import blank_icon, thumbnail_icon
from workbench.ui.workers import Task, run_task_with_partial

#: Thumbnails in the list are drawn in squares of this many pixels.
THUMB = 48
#: The role that sorts: the raw number (or text) of a cell.
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


def _thumb_icon(w: int, h: int, data: bytes, background: str) -> QIcon:
    return thumbnail_icon(w, h, data, THUMB, background, smooth=True)


def _blank_icon(background: str, text: str = "") -> QIcon:
    return blank_icon(THUMB, background, text)


def _cell_text(v: Any, column: str) -> str:
    if isinstance(v, float):
        if not math.isfinite(v):
            return "—"
        if column == "confidence" or column.startswith("p("):
            return f"{v:.3f}"
        return f"{v:.4g}"
    return str(v)


class SamplesModel(QAbstractTableModel):
    """The rows of :class:`~workbench.engine.evaluation.explore.SampleRows`, with an icon per
    row for images."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows = SampleRows([], np.zeros(0, np.int64), [], 0)
        self.icons: list[QIcon | None] = []
        #: The column that shows whether a prediction is right (coloured), or -1.
        self.predicted_column = -1

    def set_rows(self, rows: SampleRows, icons: bool) -> None:
        """Show ``rows``; ``icons`` leaves room for a thumbnail in each."""
        self.beginResetModel()
        self.rows = rows
        self.icons = [None] * len(rows.values) if icons else []
        self.predicted_column = rows.columns.index("predicted") if rows.correct else -1
        self.endResetModel()

    def set_icon(self, row: int, icon: QIcon) -> None:
        """Give row ``row`` its thumbnail."""
        if 0 <= row < len(self.icons):
            self.icons[row] = icon
            index = self.index(row, 0)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802 - Qt override
        return 0 if parent.isValid() else len(self.rows.values)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802 - Qt override
        return 0 if parent.isValid() else len(self.rows.columns)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        row = self.rows.values[r]
        v = row[c] if c < len(row) else ""
        if role == Qt.ItemDataRole.DisplayRole:
            return _cell_text(v, self.rows.columns[c])
        if role == SORT_ROLE:
            return v if isinstance(v, int | float) else str(v).lower()
        if role == Qt.ItemDataRole.DecorationRole and c == 0 and self.icons:
            return self.icons[r]
        if role == Qt.ItemDataRole.ToolTipRole and r < len(self.rows.tips):
            return self.rows.tips[r]
        if role == Qt.ItemDataRole.ForegroundRole and c == self.predicted_column:
            right = self.rows.correct[r] if r < len(self.rows.correct) else True
            return QBrush(QColor(theme.OK if right else theme.ERROR))
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(v, int | float) and c:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802 - Qt override
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.rows.columns[section] if section < len(self.rows.columns) else ""
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.ToolTipRole:
            name = self.rows.columns[section] if section < len(self.rows.columns) else ""
            if name == "confidence":
                return "The probability the model gave its predicted class"
            if name == "p(true)":
                return "The probability the model gave the true class"
            if name.startswith("p("):
                return f"The probability the model gave class {name[2:-1]}"
            if name == "error":
                return "true − predicted"
        return None


class SamplesPanel(QWidget):
    """A caption, the list of samples and the buttons that choose which samples it lists.

    Signals:
        mistakes_requested(): "Most confident mistakes" (classification) or "Largest
            errors" (regression) was pressed.
        loaded(): The listed samples' thumbnails are all decoded (or there are none).
    """

    mistakes_requested = Signal()
    loaded = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluateSamples")
        self.evaluation: Evaluation | None = None
        self.indices = np.zeros(0, np.int64)
        self.total = 0
        self._task: Task | None = None
        self.caption = label("", "")
        self.caption.setObjectName("samplesCaption")
        self.caption.setFont(theme.bold(self.caption.font()))
        self.caption.setWordWrap(True)
        self.note = label("", "muted")
        self.note.setObjectName("samplesNote")
        self.mistakes_button = QPushButton("Most confident mistakes")
        self.mistakes_button.setObjectName("secondary")
        self.mistakes_button.setToolTip(
            "List every wrong prediction of the split, the most confident first"
        )
        self.mistakes_button.clicked.connect(lambda: self.mistakes_requested.emit())
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.caption, 1)
        head.addWidget(self.note)
        head.addWidget(self.mistakes_button)
        self.model = SamplesModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.view = QTableView()
        self.view.setObjectName("samplesView")
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.setAlternatingRowColors(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.horizontalHeader().setHighlightSections(False)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.selectionModel().currentRowChanged.connect(lambda cur, _prev: self._detail(cur))
        # Every field of the chosen sample, one per line: the list's columns do not all fit.
        self.details = QTableWidget(0, 2)
        self.details.setObjectName("sampleDetails")
        self.details.setHorizontalHeaderLabels(["field", "value"])
        self.details.verticalHeader().setVisible(False)
        self.details.verticalHeader().setDefaultSectionSize(20)
        self.details.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.details.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.details.setAlternatingRowColors(True)
        self.details.horizontalHeader().setStretchLastSection(True)
        self.details.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.ResizeToContents
        )
        self.split = QSplitter(Qt.Orientation.Vertical)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.view)
        self.split.addWidget(self.details)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 4, 0, 0)
        col.setSpacing(4)
        col.addLayout(head)
        col.addWidget(self.split, 1)

    # --- what is listed ------------------------------------------------------------------------

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        """A new evaluation: nothing listed yet; the button says what it lists."""
        self.cancel()
        self.evaluation = evaluation
        regression = evaluation is not None and evaluation.proba is None
        self.mistakes_button.setText("Largest errors" if regression else "Most confident mistakes")
        self.mistakes_button.setToolTip(
            "List the samples by the size of their error, the largest first"
            if regression
            else "List every wrong prediction of the split, the most confident first"
        )
        self.show_samples(np.zeros(0, np.int64), "")

    def show_samples(
        self,
        indices: np.ndarray,
        caption: str,
        table: TableRows | None = None,
    ) -> None:
        """List samples ``indices`` of the evaluation (at most :data:`MAX_LISTED`), sorted
        as given: the first one first."""
        self.cancel()
        ev = self.evaluation
        self.indices = np.asarray(indices, dtype=np.int64)
        self.total = len(self.indices)
        self.caption.setText(caption)
        self.note.setText(shown_note(min(self.total, MAX_LISTED), self.total))
        if ev is None:
            self.model.set_rows(SampleRows([], np.zeros(0, np.int64), [], 0), False)
            return
        rows = sample_rows(ev, self.indices, table)
        images = not ev.id_label and len(rows.values) > 0
        # Unsorted first, so the rows keep the order they were given in...
        self.proxy.sort(-1)
        self.model.set_rows(rows, images)
        # ...then sorted the same way by their confidence (or error), shown by the header.
        self.view.horizontalHeader().setSortIndicator(
            rows.sort_column, Qt.SortOrder.DescendingOrder
        )
        self._size_columns(rows, images)
        if rows.values:
            self.view.selectRow(0)
        else:
            self.details.setRowCount(0)
        if images:
            self._load_thumbnails([str(ev.ids[int(i)]) for i in rows.indices])
        else:
            self.loaded.emit()

    def _detail(self, current: QModelIndex) -> None:
        """Show every field of the sample in row ``current`` (of the list as sorted)."""
        ev = self.evaluation
        if ev is None or not current.isValid():
            self.details.setRowCount(0)
            return
        r = self.proxy.mapToSource(current).row()
        rows = self.model.rows
        if not 0 <= r < len(rows.values):
            return
        index = int(rows.indices[r])
        fields = [("sample", ev.sample_name(index))]
        fields += [
            (name, _cell_text(v, name))
            for name, v in zip(rows.columns[1:], rows.values[r][1:], strict=False)
        ]
        self.details.setRowCount(len(fields))
        for i, (name, text) in enumerate(fields):
            key = QTableWidgetItem(name)
            key.setForeground(QBrush(QColor(theme.MUTED)))
            value = QTableWidgetItem(text)
            value.setToolTip(text)
            self.details.setItem(i, 0, key)
            self.details.setItem(i, 1, value)

    def detail_texts(self) -> dict[str, str]:
        """The chosen sample's fields as the details show them."""
        out = {}
        for i in range(self.details.rowCount()):
            key, value = self.details.item(i, 0), self.details.item(i, 1)
            if key is not None and value is not None:
                out[key.text()] = value.text()
        return out

    def set_table(self, table: TableRows | None) -> None:
        """A table's feature values arrived: list the same samples again, with them."""
        if self.evaluation is None:
            return
        caption, note = self.caption.text(), self.note.text()
        self.show_samples(self.indices, caption, table)
        self.note.setText(note)

    def _size_columns(self, rows: SampleRows, images: bool) -> None:
        self.view.verticalHeader().setDefaultSectionSize(THUMB + 6 if images else 22)
        self.view.setIconSize(QSize(THUMB, THUMB) if images else QSize(16, 16))
        self.view.resizeColumnsToContents()
        header = self.view.horizontalHeader()
        for c in range(len(rows.columns)):
            header.resizeSection(c, min(max(header.sectionSize(c) + 10, 56), 260))
        if images:  # room for the thumbnail and a file name
            header.resizeSection(0, max(header.sectionSize(0), THUMB + 150))

    def listed(self) -> list[int]:
        """The sample indices of the rows, in the order the list shows them."""
        out = []
        for r in range(self.proxy.rowCount()):
            source = self.proxy.mapToSource(self.proxy.index(r, 0)).row()
            out.append(int(self.model.rows.indices[source]))
        return out

    def column_values(self, name: str) -> list[Any]:
        """The cells of column ``name``, in the order the list shows them."""
        c = self.model.rows.columns.index(name)
        return [self.proxy.index(r, c).data(SORT_ROLE) for r in range(self.proxy.rowCount())]

    # --- thumbnails ------------------------------------------------------------------------------

    def _load_thumbnails(self, paths: list[str]) -> None:
        from workbench.data.describe import load_thumbnails

        background = theme.WINDOW
        self._blank = _blank_icon(background)
        for r in range(len(paths)):
            self.model.icons[r] = self._blank

        def work(progress: Any, cancelled: Any, publish: Any) -> None:
            load_thumbnails(paths, THUMB, progress, cancelled, publish)

        task = run_task_with_partial(work, name="evaluate-thumbnails")
        task.partial.connect(lambda batch: self._on_thumbnails(batch, background))
        task.finished.connect(lambda: self._on_finished(task))
        self._task = task

    def _on_thumbnails(self, batch: list[tuple[int, int, int, bytes]], background: str) -> None:
        for i, w, h, data in batch:
            icon = _thumb_icon(w, h, data, background) if w else _blank_icon(background, "?")
            self.model.set_icon(i, icon)

    def _on_finished(self, task: Task) -> None:
        if self._task is task:
            self._task = None
            self.loaded.emit()

    def is_loading(self) -> bool:
        """True while thumbnails are being decoded."""
        return self._task is not None

    def cancel(self) -> None:
        """Stop decoding thumbnails (the thread ends by itself soon after)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None


__all__ = ["THUMB", "SamplesModel", "SamplesPanel"]
