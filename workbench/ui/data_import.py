"""The dataset import dialog, and the preview widgets it shares with the Data tab.

:class:`DatasetImportDialog` scans a file or folder off the GUI thread (with a progress
bar and a Cancel button), then shows a preview, the check's findings, the target
column (tables), the split and the preprocessing options. ``settings()`` and
``source()`` are what the caller imports. Bad data shows as one message naming the
file; nothing is written by the dialog.
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
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
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QGuiApplication,
    QIcon,
    QImage,
    QPainter,
    QPixmap,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QListView,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.core.adapt import FitCheck, check_fit
from workbench.core.graph import Graph
from workbench.core.text import plural
from workbench.data import (
    DataError,
    DatasetInfo,
    DataSettings,
    Problem,
    Source,
    open_dataset,
)
from workbench.data.base import Augment
from workbench.data.describe import (
    DIALOG_PREVIEW_LIMIT,
    MAX_CLASS_ROWS,
    UNUSED_COLUMN_TYPES,
    ScanResult,
    arrays_caption,
    cell_text,
    column_note,
    default_settings,
    describe_source,
    details_text,
    findings_title,
    load_thumbnails,
    missing_note,
    preview_rows,
    retarget,
    size_note,
    split_note,
    summary_text,
    target_note,
)
from workbench.ui import theme
from workbench.ui.theme import label
from workbench.ui.workers import Task, run_task, run_task_with_partial

#: Thumbnails are drawn in squares of this many pixels, in grid cells of THUMB_CELL.
THUMB_SIZE = 72
THUMB_CELL = THUMB_SIZE + 8
#: Findings listed before "… and N more".
MAX_FINDINGS_SHOWN = 500
SEVERITY_COLOR = {"error": theme.ERROR, "warning": theme.WARNING, "info": theme.MUTED}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def scan_dataset(
    path: str,
    target: str | None,
    settings: DataSettings | None,
    progress: Callable[[int, int], None],
    cancelled: Callable[[], bool],
    preview_limit: int = DIALOG_PREVIEW_LIMIT,
    images_per_class: int | None = None,
) -> ScanResult:
    """:func:`workbench.data.describe.scan_dataset` for the window (run off-thread).

    It opens the source through this module's ``open_dataset``, which the UI tests
    replace with slow or fake sources.
    """
    source = open_dataset(path, target, progress, cancelled)
    return describe_source(source, path, settings, cancelled, preview_limit, images_per_class)


# --- small shared widgets ----------------------------------------------------------------------


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
    pm = QPixmap(THUMB_SIZE, THUMB_SIZE)
    pm.fill(QColor("#eef0f3"))
    if text:
        p = QPainter(pm)
        p.setPen(QColor(theme.MUTED))
        p.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter, text)
        p.end()
    return QIcon(pm)


def _thumb_icon(w: int, h: int, data: bytes) -> QIcon:
    img = QImage(data, w, h, w * 4, QImage.Format.Format_RGBA8888).copy()
    # Centre on a fixed square so the grid stays even for any aspect ratio.
    pm = QPixmap(THUMB_SIZE, THUMB_SIZE)
    pm.fill(QColor("#eef0f3"))
    p = QPainter(pm)
    src = QPixmap.fromImage(img)
    if src.width() > THUMB_SIZE or src.height() > THUMB_SIZE:
        src = src.scaled(THUMB_SIZE, THUMB_SIZE, Qt.AspectRatioMode.KeepAspectRatio)
    p.drawPixmap((THUMB_SIZE - src.width()) // 2, (THUMB_SIZE - src.height()) // 2, src)
    p.end()
    return QIcon(pm)


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
                f"<b>{_html(cls)}</b> <span style='color:{theme.MUTED}'>· {plural(count, 'image')}</span>"
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


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


# --- the dialog -------------------------------------------------------------------------------


class DatasetImportDialog(QDialog):
    """Scan a dataset, preview and check it, and choose its split and preprocessing.

    Open it with ``open()`` (window-modal, non-blocking) or ``exec()``. While it scans,
    a progress bar and a Cancel button show; a bad dataset shows one message and
    disables Import. After ``accepted``, :meth:`settings` and :meth:`source` are what
    to import.

    Signals:
        scan_finished(str): After every scan, with its outcome: "ok", "error" or "cancelled".
    """

    scan_finished = Signal(str)

    def __init__(
        self,
        path: str | os.PathLike[str],
        settings: DataSettings | None = None,
        parent: QWidget | None = None,
        model: Graph | None = None,
    ) -> None:
        super().__init__(parent)
        self.path = str(Path(path).resolve())
        self._initial = settings
        #: The model the data will go into (a copy), to check that the data fits it.
        self.model = model.copy() if model is not None else None
        #: What the last check found (None before a scan, or without a model).
        self.fit: FitCheck | None = None
        #: The template chosen with "Use the … template" (None: keep the model).
        self.chosen_template: str | None = None
        self._source: Source | None = None
        self._info: DatasetInfo | None = None
        self._result: ScanResult | None = None
        self._task: Task | None = None
        self._error = ""
        self._loading_controls = False
        self.setWindowTitle(f"Import dataset — {Path(self.path).name}")
        self.setObjectName("importDialog")
        self.resize(1040, 700)
        self.setSizeGripEnabled(True)

        self._split_timer = QTimer(self)
        self._split_timer.setSingleShot(True)
        self._split_timer.setInterval(80)
        self._split_timer.timeout.connect(self._update_split_counts)

        title = QLabel(Path(self.path).name or self.path)
        title.setProperty("role", "heading")
        where = label(self.path, "muted")
        where.setToolTip(self.path)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("summaryLine")
        self.summary_label.setWordWrap(True)
        self.details_label = label("", "muted", wrap=True)

        self.stack = QStackedWidget()
        self.stack.addWidget(self._build_scanning_page())
        self.stack.addWidget(self._build_error_page())
        self.stack.addWidget(self._build_content_page())

        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setMaximumHeight(6)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.hide()
        self.busy_label = label("", "muted")

        self.buttons = QDialogButtonBox()
        self.import_button = self.buttons.addButton(
            "Import", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.import_button.setObjectName("primary")
        self.import_button.setDefault(True)
        # The theme's primary button has no disabled look; a blue button must not seem pressable.
        self.import_button.setStyleSheet(
            "QPushButton#primary:disabled { background: #b9c8ee; color: #f1f4fb; }"
        )
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        bottom = QHBoxLayout()
        bottom.addWidget(self.busy_label, 1)
        bottom.addWidget(self.buttons)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(18, 14, 18, 14)
        lay.setSpacing(6)
        lay.addWidget(title)
        lay.addWidget(where)
        lay.addWidget(self.summary_label)
        lay.addWidget(self.details_label)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.busy_bar)
        lay.addLayout(bottom)
        if QGuiApplication.platformName() == "offscreen":
            # No window manager to take size hints; Qt would warn on every show.
            lay.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)

        self.start_scan(settings.target if settings else None)

    # --- pages -----------------------------------------------------------------------------

    def _build_scanning_page(self) -> QWidget:
        page = QWidget()
        self.scan_label = QLabel("Scanning…")
        self.scan_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 0)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMinimumWidth(360)
        self.progress_label = label("", "muted")
        self.progress_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cancel_scan_button = QPushButton("Cancel")
        self.cancel_scan_button.setObjectName("secondary")
        self.cancel_scan_button.setToolTip("Stop scanning")
        self.cancel_scan_button.clicked.connect(self.cancel_scan)
        self.rescan_button = QPushButton("Scan again")
        self.rescan_button.setObjectName("secondary")
        self.rescan_button.clicked.connect(lambda: self.start_scan(self._target_choice()))
        self.rescan_button.hide()
        col = QVBoxLayout(page)
        col.addStretch(1)
        col.addWidget(self.scan_label)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.progress_bar)
        row.addStretch(1)
        col.addLayout(row)
        col.addWidget(self.progress_label)
        row2 = QHBoxLayout()
        row2.addStretch(1)
        row2.addWidget(self.cancel_scan_button)
        row2.addWidget(self.rescan_button)
        row2.addStretch(1)
        col.addLayout(row2)
        col.addStretch(2)
        return page

    def _build_error_page(self) -> QWidget:
        page = QWidget()
        icon = QLabel()
        icon.setPixmap(severity_icon("error", 28).pixmap(28, 28))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.error_title = QLabel("This dataset cannot be imported")
        self.error_title.setProperty("role", "heading")
        self.error_label = QLabel()
        self.error_label.setObjectName("errorMessage")
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        hint = label(
            "Model Workbench reads a folder of images with one subfolder per class (optionally "
            "inside train/, val/ and test/), a CSV or TSV table, a Parquet file, or NumPy "
            ".npz/.npy arrays. Nothing was imported and no file was changed.",
            "muted",
            wrap=True,
        )
        text = QVBoxLayout()
        text.setSpacing(8)
        text.addWidget(self.error_title)
        text.addWidget(self.error_label)
        text.addWidget(hint)
        text.addStretch(1)
        row = QHBoxLayout(page)
        row.setContentsMargins(24, 32, 24, 24)
        row.setSpacing(14)
        row.addWidget(icon)
        row.addLayout(text, 1)
        return page

    def _build_content_page(self) -> QWidget:
        # Left: preview above the findings. Right: the options, scrolling if needed.
        self.preview_stack = QStackedWidget()
        self.thumbnails = ThumbnailGrid()
        self.table = PagedTable(page_size=50)
        self.preview_stack.addWidget(self.thumbnails)
        self.preview_stack.addWidget(self.table)
        self.findings_label = label("CHECK", "section")
        self.findings = FindingsList()
        self.findings.setMinimumHeight(80)
        self.preview_label = label("PREVIEW", "section")

        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 8, 0)
        lcol.setSpacing(4)
        lcol.addWidget(self.preview_label)
        lcol.addWidget(self.preview_stack, 3)
        lcol.addWidget(self.findings_label)
        lcol.addWidget(self._build_fit_banner())
        lcol.addWidget(self.findings, 1)

        options = QWidget()
        ocol = QVBoxLayout(options)
        ocol.setContentsMargins(8, 0, 4, 0)
        ocol.setSpacing(10)
        ocol.addWidget(self._build_target_box())
        ocol.addWidget(self._build_split_box())
        ocol.addWidget(self._build_image_box())
        ocol.addWidget(self._build_table_box())
        ocol.addWidget(self._build_sequence_box())
        self.input_label = label("", "muted", wrap=True)
        ocol.addWidget(self.input_label)
        ocol.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(options)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(360)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(scroll)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([620, 380])
        return split

    def _build_fit_banner(self) -> QWidget:
        """ "This table does not fit this model …" with the template that fits as one click."""
        banner = QFrame()
        banner.setObjectName("fitBanner")
        banner.setStyleSheet(
            f"QFrame#fitBanner {{ background: {theme.ERROR_TINT}; border: 1px solid {theme.WARNING};"
            " border-radius: 6px; }"
        )
        icon = QLabel()
        icon.setPixmap(severity_icon("warning", 16).pixmap(16, 16))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.fit_label = QLabel()
        self.fit_label.setObjectName("fitMessage")
        self.fit_label.setWordWrap(True)
        self.fit_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.use_template_button = QPushButton()
        self.use_template_button.setObjectName("secondary")
        self.use_template_button.clicked.connect(self.use_fitting_template)
        text = QVBoxLayout()
        text.setSpacing(6)
        text.addWidget(self.fit_label)
        row = QHBoxLayout()
        row.addWidget(self.use_template_button)
        row.addStretch(1)
        text.addLayout(row)
        lay = QHBoxLayout(banner)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.addWidget(icon)
        lay.addLayout(text, 1)
        banner.hide()
        self.fit_banner = banner
        return banner

    def _update_fit(self) -> None:
        """Check that the data, with these settings, fits the model; show it under Check."""
        info, source = self._info, self._source
        if info is None or source is None:
            return
        self.fit = None
        if self.model is not None:
            shape, dtype = source.input_spec(self.settings())
            vocab = info.details.get("vocab_size")
            self.fit = check_fit(
                self.model,
                tuple(shape),
                dtype,
                info.task,
                info.num_classes,
                info.num_targets,
                int(vocab) if vocab else None,
                data_kind=info.kind,
            )
        problems = list(info.problems)
        misfit = self.fit is not None and not self.fit.fits
        if misfit and self.fit is not None:
            # The banner above says why and offers the fix; the list only counts it.
            problems.append(Problem("model", "it does not fit this data (see above)", "warning"))
            self.fit_label.setText(self.fit.problem)
            self.use_template_button.setText(self.fit.action)
            self.use_template_button.setVisible(bool(self.fit.template))
            self.use_template_button.setToolTip(
                f"Replace the model with the “{self.fit.template_title}” template and import "
                "(Undo brings the current model back)"
            )
        self.fit_banner.setVisible(misfit)
        self.findings.set_problems(problems)
        self.findings_label.setText(findings_title(problems))

    def use_fitting_template(self) -> None:
        """Import with the model replaced by the template that fits the data."""
        if self.fit is None or not self.fit.template or not self.is_ready():
            return
        self.chosen_template = self.fit.template
        self.accept()

    def _build_target_box(self) -> QGroupBox:
        self.target_box = QGroupBox("Target column")
        self.target_combo = QComboBox()
        self.target_combo.setToolTip(
            "The column the model learns to predict; the others are its inputs"
        )
        self.target_combo.activated.connect(self._on_target_activated)
        self.target_note = label("", "muted", wrap=True)
        self.target_error = label("", "error", wrap=True)
        self.target_error.setObjectName("targetError")
        self.target_error.hide()
        lay = QVBoxLayout(self.target_box)
        lay.addWidget(self.target_combo)
        lay.addWidget(self.target_note)
        lay.addWidget(self.target_error)
        return self.target_box

    def _slider(self, maximum: int) -> tuple[QSlider, QLabel]:
        s = QSlider(Qt.Orientation.Horizontal)
        s.setRange(0, maximum)
        s.setPageStep(5)
        s.setTickInterval(5)
        value = QLabel()
        value.setMinimumWidth(40)
        value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        s.valueChanged.connect(lambda v: value.setText(f"{v} %"))
        s.valueChanged.connect(self._on_split_changed)
        return s, value

    def _build_split_box(self) -> QGroupBox:
        self.split_box = QGroupBox("Split")
        self.val_slider, self.val_value = self._slider(45)
        self.test_slider, self.test_value = self._slider(45)
        self.val_slider.setToolTip(
            "Share of the samples held out to watch for overfitting while training"
        )
        self.test_slider.setToolTip("Share of the samples kept aside for the final evaluation")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("The same seed gives the same split every time")
        self.seed_spin.valueChanged.connect(self._on_split_changed)
        self.split_counts = QLabel()
        self.split_counts.setObjectName("splitCounts")
        self.split_note = label("", "muted", wrap=True)
        form = QFormLayout(self.split_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for text, slider, value in (
            ("Validation", self.val_slider, self.val_value),
            ("Test", self.test_slider, self.test_value),
        ):
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value)
            form.addRow(text, row)
        form.addRow("Seed", self.seed_spin)
        form.addRow(self.split_counts)
        form.addRow(self.split_note)
        return self.split_box

    def _build_image_box(self) -> QGroupBox:
        self.image_box = QGroupBox("Images")
        self.width_spin = QSpinBox()
        self.height_spin = QSpinBox()
        for s in (self.width_spin, self.height_spin):
            s.setRange(1, 4096)
            s.setSuffix(" px")
            s.valueChanged.connect(self._update_input_label)
        size = QHBoxLayout()
        size.addWidget(self.width_spin)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_spin)
        size.addStretch(1)
        self.size_note = label("", "muted", wrap=True)
        self.color_combo = QComboBox()
        self.color_combo.addItem("RGB (3 channels)", "rgb")
        self.color_combo.addItem("Grayscale (1 channel)", "grayscale")
        self.color_combo.currentIndexChanged.connect(self._update_input_label)
        self.normalize_check = QCheckBox("Normalize with the training split's mean and std")
        self.hflip_check = QCheckBox("Random horizontal flip")
        self.rotation_spin = QSpinBox()
        self.rotation_spin.setRange(0, 180)
        self.rotation_spin.setSuffix("°")
        self.rotation_spin.setSpecialValueText("off")
        self.rotation_spin.setToolTip(
            "Rotate each training image by a random angle up to ± this many degrees"
        )
        self.crop_check = QCheckBox("Random resized crop (80–100 % of the area)")
        self.brightness_spin = QSpinBox()
        self.contrast_spin = QSpinBox()
        for s, what in ((self.brightness_spin, "brightness"), (self.contrast_spin, "contrast")):
            s.setRange(0, 90)
            s.setSingleStep(5)
            s.setPrefix("± ")
            s.setSuffix(" %")
            s.setSpecialValueText("off")
            s.setToolTip(
                f"Change each training image's {what} by a random factor up to ± this much"
            )
        aug = QFormLayout()
        aug.setContentsMargins(0, 0, 0, 0)
        aug.addRow(self.hflip_check)
        aug.addRow(self.crop_check)
        aug.addRow("Rotation", self.rotation_spin)
        aug.addRow("Brightness", self.brightness_spin)
        aug.addRow("Contrast", self.contrast_spin)
        form = QFormLayout(self.image_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Size (W × H)", size)
        form.addRow(self.size_note)
        form.addRow("Color", self.color_combo)
        form.addRow(self.normalize_check)
        form.addRow(label("AUGMENTATION (TRAINING ONLY)", "section"))
        form.addRow(aug)
        return self.image_box

    def _build_table_box(self) -> QGroupBox:
        self.table_box = QGroupBox("Missing values")
        self.missing_combo = QComboBox()
        self.missing_combo.addItem("Fill in (mean, or most frequent value)", "impute")
        self.missing_combo.addItem("Drop rows with missing values", "drop")
        self.missing_note = label("", "muted", wrap=True)
        lay = QVBoxLayout(self.table_box)
        lay.addWidget(self.missing_combo)
        lay.addWidget(self.missing_note)
        return self.table_box

    def _build_sequence_box(self) -> QGroupBox:
        self.sequence_box = QGroupBox("Sequences")
        self.seq_keep_check = QCheckBox("Keep the data's length")
        self.seq_len_spin = QSpinBox()
        self.seq_len_spin.setRange(1, 100_000)
        self.seq_len_spin.setSuffix(" steps")
        self.seq_len_spin.setToolTip(
            "Shorter sequences are padded and longer ones truncated to this length"
        )
        self.seq_keep_check.toggled.connect(lambda on: self.seq_len_spin.setEnabled(not on))
        self.seq_keep_check.toggled.connect(self._update_input_label)
        self.seq_len_spin.valueChanged.connect(self._update_input_label)
        form = QFormLayout(self.sequence_box)
        form.addRow(self.seq_keep_check)
        form.addRow("Pad or truncate to", self.seq_len_spin)
        return self.sequence_box

    # --- scanning ----------------------------------------------------------------------------

    def start_scan(self, target: str | None = None) -> None:
        """Scan (or rescan, e.g. with another target column) off the GUI thread."""
        self._cancel_task()
        self._error = ""
        self.import_button.setEnabled(False)
        first = self._result is None
        self.rescan_button.hide()
        self.cancel_scan_button.show()
        if first:
            self.stack.setCurrentIndex(0)
            self.scan_label.setText(f"Scanning {Path(self.path).name}…")
            self.progress_bar.setRange(0, 0)
            self.progress_label.setText("")
            self.summary_label.setText("")
        else:
            self.busy_bar.show()
            self.busy_label.setText(
                f"Scanning again with target “{target}”…" if target else "Scanning again…"
            )
        path = self.path
        initial = self._initial if first else self.settings()
        settings = replace(initial, path=path, target=target) if initial else None
        source = self._source
        if target and source is not None and source.kind == "table":
            fn: Callable[..., ScanResult] = lambda p, c: retarget(source, target, settings, p, c)  # noqa: E731
        else:
            fn = lambda p, c: scan_dataset(path, target, settings, p, c)  # noqa: E731
        task = run_task(fn, name="scan")
        task.progressed.connect(self._on_progress)
        task.succeeded.connect(lambda result: self._on_scanned(task, result))
        task.failed.connect(lambda error: self._on_failed(task, error))
        task.cancelled.connect(lambda: self._on_cancelled(task))
        self._task = task

    def is_scanning(self) -> bool:
        """True while a scan runs."""
        return self._task is not None

    def is_ready(self) -> bool:
        """True when a scan succeeded and Import can be pressed."""
        return self._result is not None and self._task is None and self.import_button.isEnabled()

    def cancel_scan(self) -> None:
        """Stop the running scan (its thread ends by itself)."""
        if self._task is not None:
            self._task.cancel()
            self.cancel_scan_button.setEnabled(False)
            self.progress_label.setText("Cancelling…")

    def _cancel_task(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _on_progress(self, done: int, total: int) -> None:
        if total > 0:
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
            self.progress_label.setText(f"{done:,} of {total:,} files")
        else:
            self.progress_bar.setRange(0, 0)
            self.progress_label.setText(f"{done:,} files" if done else "")

    def _scan_done(self, task: Task) -> bool:
        if task is not self._task:
            return False  # a scan that was replaced or cancelled
        self._task = None
        self.cancel_scan_button.setEnabled(True)
        self.busy_bar.hide()
        self.busy_label.setText("")
        return True

    def _on_failed(self, task: Task, error: BaseException) -> None:
        if not self._scan_done(task):
            return
        if isinstance(error, DataError):
            message = str(error)
        else:
            # A bug, not bad data: say so in one line and keep the details for a report.
            detail = "".join(traceback.format_exception_only(type(error), error)).strip()
            message = f"{Path(self.path).name}: could not be read ({detail})"
            traceback.print_exception(type(error), error, error.__traceback__)
        self._error = message
        if self._result is not None and self._result.info.kind == "table":
            # Another target column did not work: keep the table so another can be picked.
            self.target_error.setText(message)
            self.target_error.show()
            self._update_import_enabled()
            self.scan_finished.emit("error")
            return
        self._result = None
        self._source = self._info = None
        self.error_label.setText(message)
        self.summary_label.setText("")
        self.details_label.setText("")
        self.stack.setCurrentIndex(1)
        self.import_button.setEnabled(False)
        self.close_button.setText("Close")
        self.scan_finished.emit("error")

    def _on_cancelled(self, task: Task) -> None:
        if not self._scan_done(task):
            return
        if self._result is None:
            self.stack.setCurrentIndex(0)
            self.scan_label.setText("Scanning was cancelled.")
            self.progress_bar.setRange(0, 1)
            self.progress_bar.setValue(0)
            self.progress_label.setText("Nothing was imported.")
            self.cancel_scan_button.hide()
            self.rescan_button.show()
        else:
            self._update_import_enabled()
        self.scan_finished.emit("cancelled")

    def _on_scanned(self, task: Task, result: ScanResult) -> None:
        if not self._scan_done(task):
            return
        first = self._result is None
        self._result, self._source, self._info = result, result.source, result.info
        info = result.info
        if first:
            base = self._initial or default_settings(result.source, info, self.path)
            self._load_settings(base)
        self._show_result(result)
        self.stack.setCurrentIndex(2)
        self._update_import_enabled()
        self.scan_finished.emit("ok")

    # --- showing a result ----------------------------------------------------------------

    def _show_result(self, result: ScanResult) -> None:
        info, preview = result.info, result.preview
        self.summary_label.setText(summary_text(info))
        self.details_label.setText(details_text(info))
        self.details_label.setVisible(bool(self.details_label.text()))
        if info.kind == "images":
            self.preview_stack.setCurrentWidget(self.thumbnails)
            self.thumbnails.set_items(preview.get("items", []), info.class_counts)
            self.preview_label.setText("PREVIEW: A FEW IMAGES PER CLASS")
        else:
            self.thumbnails.cancel()
            self.preview_stack.setCurrentWidget(self.table)
            columns, rows, hl = preview_rows(info, preview)
            caption = (
                f"The first {len(rows):,} rows" if info.kind == "table" else arrays_caption(preview)
            )
            self.table.set_rows(columns, rows, hl, caption, preview.get("types"))
            self.preview_label.setText(
                "PREVIEW: THE FIRST ROWS" if info.kind == "table" else "PREVIEW"
            )
        self.findings.set_problems(info.problems)
        self.findings_label.setText(findings_title(info.problems))

        is_table = info.kind == "table"
        self.target_box.setVisible(is_table)
        self.target_error.hide()
        if is_table:
            columns = [str(c) for c in preview.get("columns", [])]
            target = info.details.get("target")
            self.target_combo.blockSignals(True)
            self.target_combo.clear()
            self.target_combo.addItems(columns)
            if isinstance(target, str) and target in columns:
                self.target_combo.setCurrentIndex(columns.index(target))
            self.target_combo.blockSignals(False)
            self.target_note.setText(target_note(info))
        self.image_box.setVisible(info.kind == "images")
        self.table_box.setVisible(is_table)
        self.missing_note.setText(missing_note(info))
        self.missing_note.setVisible(bool(self.missing_note.text()))
        seq = bool(info.details.get("sequence"))
        self.sequence_box.setVisible(seq)
        if seq:
            natural = info.sample_shape[0] if info.sample_shape else 1
            self.seq_keep_check.setText(f"Keep the data's length ({natural} steps)")
        if info.kind == "images":
            note = size_note(info.details.get("sizes"), info.details.get("suggested_size"))
            self.size_note.setText(note)
            self.size_note.setVisible(bool(note))
        if info.splits_given:
            self.test_slider.setEnabled(False)
            self.val_slider.setEnabled(not result.given_has_val)
        else:
            self.test_slider.setEnabled(True)
            self.val_slider.setEnabled(True)
        self.split_note.setText(split_note(info, result.given_has_val))
        self._show_split_counts(result.split_sizes)
        self._update_input_label()

    def _update_import_enabled(self) -> None:
        ok = self._result is not None and self._task is None and not self._error
        tip = "" if ok else "Scan a readable dataset first"
        if (
            ok
            and self._info is not None
            and any(p.severity == "error" for p in self._info.problems)
        ):
            ok = False
            tip = "Fix the errors listed under Check before importing"
        self.import_button.setEnabled(ok)
        self.import_button.setToolTip(tip)

    # --- settings ------------------------------------------------------------------------

    def _load_settings(self, s: DataSettings) -> None:
        self._loading_controls = True
        try:
            self.val_slider.setValue(round(s.val_ratio * 100))
            self.test_slider.setValue(round(s.test_ratio * 100))
            self.val_value.setText(f"{self.val_slider.value()} %")
            self.test_value.setText(f"{self.test_slider.value()} %")
            self.seed_spin.setValue(int(s.seed))
            h, w = s.image_size
            self.width_spin.setValue(int(w))
            self.height_spin.setValue(int(h))
            self.color_combo.setCurrentIndex(max(0, self.color_combo.findData(s.color)))
            self.normalize_check.setChecked(bool(s.normalize))
            a = s.augment
            self.hflip_check.setChecked(bool(a.hflip))
            self.rotation_spin.setValue(round(a.rotation))
            self.crop_check.setChecked(bool(a.resized_crop))
            self.brightness_spin.setValue(round(a.brightness * 100))
            self.contrast_spin.setValue(round(a.contrast * 100))
            self.missing_combo.setCurrentIndex(max(0, self.missing_combo.findData(s.missing)))
            info = self._info
            natural = info.sample_shape[0] if info is not None and info.sample_shape else 1
            self.seq_keep_check.setChecked(s.seq_len is None)
            self.seq_len_spin.setValue(int(s.seq_len or natural))
            self.seq_len_spin.setEnabled(s.seq_len is not None)
        finally:
            self._loading_controls = False

    def settings(self) -> DataSettings:
        """The settings chosen in the dialog (``path`` is absolute)."""
        base = self._initial or DataSettings()
        target = (
            self._target_choice() if self._info is not None and self._info.kind == "table" else None
        )
        return replace(
            base,
            path=self.path,
            target=target,
            val_ratio=self.val_slider.value() / 100,
            test_ratio=self.test_slider.value() / 100,
            seed=self.seed_spin.value(),
            image_size=(self.height_spin.value(), self.width_spin.value()),
            color=self.color_combo.currentData(),
            normalize=self.normalize_check.isChecked(),
            augment=Augment(
                hflip=self.hflip_check.isChecked(),
                rotation=float(self.rotation_spin.value()),
                resized_crop=self.crop_check.isChecked(),
                brightness=self.brightness_spin.value() / 100,
                contrast=self.contrast_spin.value() / 100,
            ),
            missing=self.missing_combo.currentData(),
            seq_len=None if self.seq_keep_check.isChecked() else self.seq_len_spin.value(),
        )

    def source(self) -> Source | None:
        """The scanned source (None until a scan succeeded)."""
        return self._source

    def info(self) -> DatasetInfo | None:
        """What the last successful scan found."""
        return self._info

    def error_message(self) -> str:
        """The message shown for a dataset that cannot be used ('' if none)."""
        return self._error

    def _target_choice(self) -> str | None:
        text = self.target_combo.currentText()
        return text or None

    def set_target(self, column: str) -> None:
        """Choose ``column`` as the table's target and rescan (off-thread)."""
        i = self.target_combo.findText(column)
        if i < 0:
            raise KeyError(column)
        self.target_combo.setCurrentIndex(i)
        self._on_target_activated(i)

    def _on_target_activated(self, index: int) -> None:
        column = self.target_combo.itemText(index)
        current = self._info.details.get("target") if self._info is not None else None
        if column and (column != current or self._error):
            self.start_scan(column)

    def _on_split_changed(self, *_: Any) -> None:
        if not self._loading_controls and self._source is not None:
            self._split_timer.start()

    def _update_split_counts(self) -> None:
        if self._source is None:
            return
        try:
            sizes = self._source.split(self.settings()).sizes()
        except (DataError, ValueError) as e:
            self.split_counts.setText(f"<span style='color:{theme.ERROR}'>{_html(str(e))}</span>")
            return
        self._show_split_counts(sizes)

    def _show_split_counts(self, sizes: dict[str, int]) -> None:
        self.split_counts.setText(
            f"Train <b>{sizes['train']:,}</b> · Validation <b>{sizes['val']:,}</b> · Test <b>{sizes['test']:,}</b>"
        )
        self.split_counts.setToolTip("Samples in each split with these settings")

    def _update_input_label(self, *_: Any) -> None:
        if self._source is None or self._loading_controls:
            return
        from workbench.core.catalog import format_shape

        shape, dtype = self._source.input_spec(self.settings())
        self.input_label.setText(
            f"The model will see one sample as {format_shape(list(shape))} {dtype}."
        )
        self._update_fit()

    # --- closing -------------------------------------------------------------------------

    def done(self, result: int) -> None:  # noqa: D102 - Qt override
        if result == QDialog.DialogCode.Accepted and not self.is_ready():
            return
        self._cancel_task()
        self.thumbnails.cancel()
        super().done(result)
