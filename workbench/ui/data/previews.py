"""The preview widgets the import dialog and the Data tab share.

:class:`SamplePreview` shows a scanned dataset's samples: a :class:`ThumbnailGrid` of
images per class (decoded off the GUI thread) or a :class:`PagedTable` of rows. The
:class:`FindingsList` shows the check's findings with a :func:`severity_icon` each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.core.text import plural
from workbench.data import DatasetInfo, Problem
from workbench.data.describe import (
    MAX_CLASS_ROWS,
    UNUSED_COLUMN_TYPES,
    cell_text,
    column_note,
    load_thumbnails,
    preview_caption,
    preview_rows,
)
from workbench.ui import theme
from workbench.ui.theme import label
from workbench.ui.thumbnails import blank_icon, thumbnail_icon
from workbench.ui.workers import Task, run_task_with_partial

#: Thumbnails are drawn in squares of this many pixels, in grid cells of THUMB_CELL.
THUMB_SIZE = 72
#: The square behind a thumbnail.
PLACEHOLDER = "#eef0f3"
THUMB_CELL = THUMB_SIZE + 8
#: Findings listed before "… and N more".
MAX_FINDINGS_SHOWN = 500
SEVERITY_COLOR = {"error": theme.ERROR, "warning": theme.WARNING, "info": theme.MUTED}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def severity_icon(severity: str, size: int = 12) -> QIcon:
    """A filled dot in the severity's colour (error red, warning amber, info grey)."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(SEVERITY_COLOR.get(severity, theme.MUTED) if severity != "ok" else theme.OK))
    p.drawEllipse(1, 1, size - 2, size - 2)
    p.end()
    return QIcon(pm)


def _placeholder_icon(text: str = "") -> QIcon:
    return blank_icon(THUMB_SIZE, PLACEHOLDER, text)


def _thumb_icon(w: int, h: int, data: bytes) -> QIcon:
    return thumbnail_icon(w, h, data, THUMB_SIZE, PLACEHOLDER)


class FindingsList(QListWidget):
    """The check's findings, one row each, worst first, with a severity dot."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findings")
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setWordWrap(True)
        self.setUniformItemSizes(False)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self.problems: list[Problem] = []

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        # As tall as the findings (a few lines at least, a dozen at most), so a clean
        # dataset does not leave a large empty box.
        rows = sum(max(18, self.sizeHintForRow(i)) for i in range(min(self.count(), 12)))
        return QSize(super().sizeHint().width(), max(3 * 20, rows) + 2 * self.frameWidth() + 6)

    def set_problems(self, problems: Sequence[Problem]) -> None:
        """Show ``problems`` (an empty list shows "No problems found")."""
        self.clear()
        self.problems = sorted(problems, key=lambda p: SEVERITY_ORDER.get(p.severity, 3))
        if not self.problems:
            item = QListWidgetItem(severity_icon("ok"), "No problems found.")
            item.setForeground(QBrush(QColor(theme.OK)))
            self.addItem(item)
            return
        for p in self.problems[:MAX_FINDINGS_SHOWN]:
            text = f"{p.item}: {p.reason}" if p.item else p.reason
            item = QListWidgetItem(severity_icon(p.severity), text)
            item.setToolTip(f"{p.severity.capitalize()}: {text}")
            item.setData(Qt.ItemDataRole.UserRole, p.severity)
            if p.severity == "error":
                item.setForeground(QBrush(QColor(theme.ERROR)))
            self.addItem(item)
        if len(self.problems) > MAX_FINDINGS_SHOWN:
            more = QListWidgetItem(f"… and {len(self.problems) - MAX_FINDINGS_SHOWN:,} more")
            more.setForeground(QBrush(QColor(theme.MUTED)))
            self.addItem(more)
        self.updateGeometry()

    def texts(self) -> list[str]:
        """The rows as shown (for tests and screen readers)."""
        return [self.item(i).text() for i in range(self.count())]


class ThumbnailGrid(QScrollArea):
    """Thumbnails grouped by class: one row per class with its name and count.

    Thumbnails are decoded off the GUI thread and appear as they arrive.
    """

    thumbnails_loaded = Signal()

    def __init__(self, max_rows: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: Rows of thumbnails shown per class (the rest of a class's samples are not shown).
        self.max_rows = max_rows
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._holder = QWidget()
        self._rows = QVBoxLayout(self._holder)
        self._rows.setContentsMargins(0, 0, 0, 0)
        self._rows.setSpacing(4)
        self._rows.addStretch(1)
        self.setWidget(self._holder)
        self._items: list[QListWidgetItem] = []
        self._task: Task | None = None
        self.headers: dict[str, QLabel] = {}
        self.lists: dict[str, QListWidget] = {}
        self._placeholder = _placeholder_icon()

    def set_items(
        self, items: Sequence[tuple[str, str]], counts: dict[str, int] | None = None
    ) -> None:
        """Show ``(path, class_name)`` items grouped by class; ``counts`` label the rows."""
        self.cancel()
        while self._rows.count() > 1:
            taken = self._rows.takeAt(0)
            w = taken.widget() if taken is not None else None
            if w is not None:
                w.hide()
                w.deleteLater()
        self.headers, self.lists, self._items = {}, {}, []
        order = list(counts) if counts else []
        for _, c in items:
            if c not in order:
                order.append(c)
        by_class: dict[str, list[str]] = {c: [] for c in order}
        for p, c in items:
            by_class[c].append(p)
        paths: list[str] = []
        for n, cls in enumerate(order):
            if n == MAX_CLASS_ROWS:
                more = label(
                    f"… and {plural(len(order) - MAX_CLASS_ROWS, 'more class', 'more classes')}",
                    "muted",
                )
                self._rows.insertWidget(self._rows.count() - 1, more)
                break
            count = (counts or {}).get(cls, len(by_class[cls]))
            header = QLabel(
                f"<b>{escape(cls, quote=False)}</b> <span style='color:{theme.MUTED}'>· {plural(count, 'image')}</span>"
            )
            header.setAccessibleName(f"{cls}: {plural(count, 'image')}")
            strip = QListWidget()
            strip.setObjectName("thumbStrip")
            strip.setViewMode(QListView.ViewMode.IconMode)
            strip.setFlow(QListView.Flow.LeftToRight)
            strip.setWrapping(True)
            strip.setResizeMode(QListView.ResizeMode.Adjust)
            strip.setMovement(QListView.Movement.Static)
            strip.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
            strip.setGridSize(QSize(THUMB_CELL, THUMB_CELL))
            strip.setFrameShape(QFrame.Shape.NoFrame)
            strip.setStyleSheet("QListWidget#thumbStrip { background: transparent; }")
            strip.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
            strip.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            # Whole rows only: no scroll bars inside the (scrolling) grid.
            strip.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            strip.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            for p in by_class[cls]:
                item = QListWidgetItem(self._placeholder, "")
                item.setToolTip(f"{cls}\n{p}")
                strip.addItem(item)
                self._items.append(item)
                paths.append(p)
            if not by_class[cls]:
                strip.hide()
            self._rows.insertWidget(self._rows.count() - 1, header)
            self._rows.insertWidget(self._rows.count() - 1, strip)
            self.headers[cls] = header
            self.lists[cls] = strip
        self._fit_strips()
        if paths:
            task = run_task_with_partial(
                lambda progress, cancelled, publish: load_thumbnails(
                    paths, THUMB_SIZE, progress, cancelled, publish
                ),
                name="thumbnails",
            )
            task.partial.connect(self._on_thumbnails)
            task.finished.connect(lambda: self._on_finished(task))
            self._task = task

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_strips()

    def _fit_strips(self) -> None:
        """Give each class row the height of the thumbnail rows that fit the width."""
        per_row = max(1, (self.viewport().width() - 4) // THUMB_CELL)
        for strip in self.lists.values():
            rows = min(self.max_rows, max(1, math.ceil(strip.count() / per_row)))
            strip.setFixedHeight(rows * THUMB_CELL + 4)

    def _on_thumbnails(self, batch: list[tuple[int, int, int, bytes]]) -> None:
        for i, w, h, data in batch:
            if i < len(self._items):
                self._items[i].setIcon(_thumb_icon(w, h, data) if w else _placeholder_icon("?"))

    def _on_finished(self, task: Task) -> None:
        if self._task is task:
            self._task = None
            self.thumbnails_loaded.emit()

    def is_loading(self) -> bool:
        """True while thumbnails are still being decoded."""
        return self._task is not None

    def cancel(self) -> None:
        """Stop decoding thumbnails (the thread ends by itself soon after)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def class_names(self) -> list[str]:
        """The classes shown, in order."""
        return list(self.headers)

    def header_texts(self) -> list[str]:
        """Each class row's heading as plain text, e.g. ``"circle · 5 images"``."""
        out = []
        for cls, lab in self.headers.items():
            rest = lab.text().split("· ", 1)[1].split("<", 1)[0]
            out.append(f"{cls} · {rest}")
        return out


class RowsModel(QAbstractTableModel):
    """A read-only page of rows with named columns; one column may be highlighted."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns: list[str] = []
        self.rows: list[list[Any]] = []
        self.highlight: int | None = None
        #: Per-column tooltip text (for example the column's inferred type).
        self.notes: list[str] = []
        #: Columns drawn greyed out (for example dropped ones).
        self.dimmed: set[int] = set()
        self.first_row = 0  # number of the first row shown (for the vertical header)
        self._bold = QFont()
        self._bold.setBold(True)

    def set_rows(
        self,
        columns: list[str],
        rows: list[list[Any]],
        highlight: int | None = None,
        first_row: int = 0,
        notes: list[str] | None = None,
        dimmed: set[int] | None = None,
    ) -> None:
        """Replace the content."""
        self.beginResetModel()
        self.columns, self.rows, self.highlight, self.first_row = (
            list(columns),
            [list(r) for r in rows],
            highlight,
            first_row,
        )
        self.notes = list(notes or [])
        self.dimmed = set(dimmed or ())
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802 - Qt override
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802 - Qt override
        return 0 if parent.isValid() else len(self.columns)

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        r, c = index.row(), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            row = self.rows[r]
            return cell_text(row[c]) if c < len(row) else ""
        if role == Qt.ItemDataRole.BackgroundRole and c == self.highlight:
            return QBrush(QColor(theme.PRESSED_TINT))
        if role == Qt.ItemDataRole.FontRole and c == self.highlight:
            return self._bold
        if role == Qt.ItemDataRole.ForegroundRole and c in self.dimmed:
            return QBrush(QColor("#a0a6ae"))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            row = self.rows[r]
            v = row[c] if c < len(row) else ""
            if isinstance(v, int | float) and not isinstance(v, bool):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:  # noqa: N802 - Qt override
        if role == Qt.ItemDataRole.DisplayRole:
            if orientation == Qt.Orientation.Horizontal:
                name = self.columns[section] if section < len(self.columns) else ""
                return f"{name} (target)" if section == self.highlight else name
            return str(self.first_row + section + 1)
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.ForegroundRole and section == self.highlight:
                return QBrush(QColor(theme.ACCENT))
            if role == Qt.ItemDataRole.ForegroundRole and section in self.dimmed:
                return QBrush(QColor("#a0a6ae"))
            if role == Qt.ItemDataRole.ToolTipRole and section < len(self.notes):
                return self.notes[section] or None
        return None


class PagedTable(QWidget):
    """A table view over :class:`RowsModel` with previous/next page controls."""

    def __init__(self, page_size: int = 50, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.page_size = page_size
        self.page = 0
        self._columns: list[str] = []
        self._rows: list[list[Any]] = []
        self._highlight: int | None = None
        self._notes: list[str] = []
        self._dimmed: set[int] = set()
        self.model = RowsModel(self)
        self.view = QTableView()
        self.view.setModel(self.model)
        self.view.setAlternatingRowColors(True)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setHighlightSections(False)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.caption = label("", "muted")
        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.page_label = QLabel()
        for b in (self.prev_button, self.next_button):
            b.setObjectName("secondary")
        self.prev_button.clicked.connect(lambda: self.set_page(self.page - 1))
        self.next_button.clicked.connect(lambda: self.set_page(self.page + 1))
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.caption, 1)
        bar.addWidget(self.prev_button)
        bar.addWidget(self.page_label)
        bar.addWidget(self.next_button)
        self._bar = QWidget()
        self._bar.setLayout(bar)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.view, 1)
        lay.addWidget(self._bar)

    def set_rows(
        self,
        columns: list[str],
        rows: list[list[Any]],
        highlight: int | None = None,
        caption: str = "",
        types: dict[str, str] | None = None,
    ) -> None:
        """Show ``rows`` a page at a time; ``highlight`` marks the target column.

        ``types`` (column name -> numeric, categorical, id, …) become header tooltips;
        columns that will not be used are greyed out.
        """
        self._columns, self._rows, self._highlight = list(columns), list(rows), highlight
        types = types or {}
        self._notes = [column_note(types.get(c)) for c in columns]
        self._dimmed = {
            i
            for i, c in enumerate(columns)
            if types.get(c) in UNUSED_COLUMN_TYPES and i != highlight
        }
        self.caption.setText(caption)
        # A "#" column already numbers the rows.
        self.view.verticalHeader().setVisible(not (columns and columns[0] == "#"))
        self.set_page(0)
        self.view.resizeColumnsToContents()
        header = self.view.horizontalHeader()
        for c in range(len(columns)):
            # Slack for the bold header font, which the size hint underestimates.
            header.resizeSection(c, min(max(header.sectionSize(c) + 12, 60), 240))
        if highlight is not None and self.model.rowCount():
            # After the layout has settled, so the target column really ends up in view.
            QTimer.singleShot(0, self, lambda: self.view.scrollTo(self.model.index(0, highlight)))

    def page_count(self) -> int:
        """Number of pages (at least 1)."""
        return max(1, math.ceil(len(self._rows) / self.page_size))

    def set_page(self, page: int) -> None:
        """Show page ``page`` (0-based, clamped)."""
        self.page = max(0, min(page, self.page_count() - 1))
        start = self.page * self.page_size
        self.model.set_rows(
            self._columns,
            self._rows[start : start + self.page_size],
            self._highlight,
            start,
            self._notes,
            self._dimmed,
        )
        many = self.page_count() > 1
        for w in (self.prev_button, self.next_button, self.page_label):
            w.setVisible(many)
        self.page_label.setText(f"Page {self.page + 1} of {self.page_count()}")
        self.prev_button.setEnabled(self.page > 0)
        self.next_button.setEnabled(self.page < self.page_count() - 1)


class SamplePreview(QStackedWidget):
    """A scanned dataset's samples: thumbnails per class for images, a paged table otherwise."""

    def __init__(self, thumbnail_rows: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumbnails = ThumbnailGrid(max_rows=thumbnail_rows)
        self.table = PagedTable(page_size=50)
        self.addWidget(self.thumbnails)
        self.addWidget(self.table)

    def show_samples(
        self, info: DatasetInfo, preview: dict[str, Any], with_total: bool = False
    ) -> None:
        """Show a scan's ``preview``; ``with_total`` counts a table's rows in the caption."""
        if info.kind == "images":
            self.setCurrentWidget(self.thumbnails)
            self.thumbnails.set_items(preview.get("items", []), info.class_counts)
            return
        self.thumbnails.cancel()
        self.setCurrentWidget(self.table)
        columns, rows, hl = preview_rows(info, preview)
        caption = preview_caption(info, preview, with_total)
        self.table.set_rows(columns, rows, hl, caption, preview.get("types"))

    def cancel(self) -> None:
        """Stop decoding thumbnails."""
        self.thumbnails.cancel()
