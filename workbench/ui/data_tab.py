"""The Data tab, and the controller that imports datasets into the open project.

:class:`DataTab` shows the project's dataset: where it is, what kind, how many samples
and classes, the split sizes, thumbnails per class (images) or a paged table (tables
and arrays), a class-count chart, the check's findings and what importing changed in
the model. :class:`DataController` connects it to the window: it opens the import
dialog, stores the chosen settings in the project, fits the model to the data as one
undoable edit, rescans a project's dataset in the background when the project opens,
and builds ready-to-train projects from the sample datasets.
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.data.samples import SAMPLES
from workbench.ui import theme
from workbench.ui.theme import label
from workbench.ui.workers import Task, run_task

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.data import DataSettings, Source
    from workbench.data.describe import ScanResult
    from workbench.ui.data_import import DatasetImportDialog
    from workbench.ui.window import MainWindow

#: Thumbnails per class in the Data tab.
TAB_IMAGES_PER_CLASS = 12
#: Table rows fetched for the Data tab's paged table.
TAB_TABLE_ROWS = 500
EMPTY_HINT = "Drop a folder of images or a CSV/NPZ file here, or File ▸ Import Dataset…"


_pyqtgraph_warmup: threading.Thread | None = None


def warm_up_pyqtgraph() -> None:
    """Import pyqtgraph on a daemon thread (once), so the first chart does not stall the GUI.

    The import takes a fifth of a second; it runs while a dataset is being scanned.
    """
    global _pyqtgraph_warmup
    if _pyqtgraph_warmup is not None or "pyqtgraph" in sys.modules:
        return

    def work() -> None:
        try:
            import pyqtgraph  # noqa: F401
        except Exception:  # noqa: BLE001 - the chart reports the problem when it is drawn
            pass

    _pyqtgraph_warmup = threading.Thread(target=work, name="pyqtgraph-warmup", daemon=True)
    _pyqtgraph_warmup.start()


class DataTab(QWidget):
    """The Data page: an empty state, a scanning state, an error state, or the dataset.

    Signals:
        import_file_requested(): The user wants to pick a dataset file.
        import_folder_requested(): The user wants to pick an image folder.
        sample_requested(str): The user chose a sample dataset by name.
        change_settings_requested(): "Change settings…" was pressed.
        cancel_requested(): "Cancel" was pressed while scanning.
        retry_requested(): "Scan again" was pressed on the error page.
    """

    import_file_requested = Signal()
    import_folder_requested = Signal()
    sample_requested = Signal(str)
    change_settings_requested = Signal()
    cancel_requested = Signal()
    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dataTab")
        self.result: ScanResult | None = None
        self.notes: list[str] = []
        self._plot: Any = None  # the pyqtgraph chart, made on first use (import cost)
        self.stack = QStackedWidget(self)
        self.empty_page = self._build_empty_page()
        self.loading_page = self._build_loading_page()
        self.error_page = self._build_error_page()
        self.data_page = self._build_data_page()
        for page in (self.empty_page, self.loading_page, self.error_page, self.data_page):
            self.stack.addWidget(page)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.stack)
        self.show_empty()

    # --- pages ---------------------------------------------------------------------------

    def _build_empty_page(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(40, 40, 40, 40)
        col.addStretch(2)
        box = QFrame()
        box.setObjectName("dropZone")
        box.setStyleSheet(
            f"QFrame#dropZone {{ border: 2px dashed {theme.BORDER}; border-radius: 12px; background: {theme.PANEL}; }}"
        )
        box.setMaximumWidth(760)
        inner = QVBoxLayout(box)
        inner.setContentsMargins(36, 32, 36, 32)
        inner.setSpacing(12)
        title = QLabel("No dataset yet")
        f = title.font()
        f.setPointSizeF(f.pointSizeF() * 1.6)
        f.setBold(True)
        title.setFont(f)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_hint = label(EMPTY_HINT, "muted", wrap=True)
        self.empty_hint.setObjectName("emptyHint")
        hf = self.empty_hint.font()
        hf.setPointSizeF(hf.pointSizeF() * 1.15)
        self.empty_hint.setFont(hf)
        self.empty_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        explain = label(
            "A folder of images needs one subfolder per class (optionally inside train/, val/ and "
            "test/). Tables are CSV, TSV or Parquet files with one row per sample; arrays are "
            "NumPy .npz or .npy files. The model's input and output adapt to the data.",
            "muted",
            wrap=True,
        )
        explain.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.import_file_button = QPushButton("Import file…")
        self.import_file_button.setObjectName("primary")
        self.import_file_button.setToolTip("Import a CSV, TSV, Parquet, NPZ or NPY file (Ctrl+I)")
        self.import_file_button.clicked.connect(self.import_file_requested.emit)
        self.import_folder_button = QPushButton("Import image folder…")
        self.import_folder_button.setObjectName("secondary")
        self.import_folder_button.setToolTip(
            "Import a folder with one subfolder of images per class (Ctrl+Shift+I)"
        )
        self.import_folder_button.clicked.connect(self.import_folder_requested.emit)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.import_file_button, self.import_folder_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            buttons.addWidget(b)
        buttons.addStretch(1)
        inner.addWidget(title)
        inner.addWidget(self.empty_hint)
        inner.addWidget(explain)
        inner.addSpacing(6)
        inner.addLayout(buttons)

        self.sample_buttons: dict[str, QPushButton] = {}
        samples = dict(SAMPLES)
        if samples:
            inner.addSpacing(10)
            sec = label("OR TRY A SAMPLE DATASET", "section")
            sec.setAlignment(Qt.AlignmentFlag.AlignCenter)
            inner.addWidget(sec)
            grid = QGridLayout()
            grid.setHorizontalSpacing(8)
            grid.setVerticalSpacing(8)
            for i, (name, spec) in enumerate(samples.items()):
                b = QPushButton(str(getattr(spec, "title", name)))
                b.setObjectName("secondary")
                b.setToolTip(str(getattr(spec, "description", "")))
                b.setCursor(Qt.CursorShape.PointingHandCursor)
                b.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                b.clicked.connect(lambda _=False, n=name: self.sample_requested.emit(n))
                self.sample_buttons[name] = b
                grid.addWidget(b, i // 2, i % 2)
            inner.addLayout(grid)

        centre = QHBoxLayout()
        centre.addStretch(1)
        centre.addWidget(box, 10)
        centre.addStretch(1)
        col.addLayout(centre)
        col.addStretch(3)
        return page

    def _build_loading_page(self) -> QWidget:
        page = QWidget()
        col = QVBoxLayout(page)
        col.addStretch(1)
        self.loading_label = QLabel("Scanning…")
        self.loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading_bar = QProgressBar()
        self.loading_bar.setRange(0, 0)
        self.loading_bar.setTextVisible(False)
        self.loading_bar.setFixedWidth(360)
        self.loading_detail = label("", "muted")
        self.loading_detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading_cancel = QPushButton("Cancel")
        self.loading_cancel.setObjectName("secondary")
        self.loading_cancel.clicked.connect(self.cancel_requested.emit)
        col.addWidget(self.loading_label)
        for w in (self.loading_bar, self.loading_cancel):
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(w)
            row.addStretch(1)
            col.addLayout(row)
            if w is self.loading_bar:
                col.addWidget(self.loading_detail)
        col.addStretch(2)
        return page

    def _build_error_page(self) -> QWidget:
        from workbench.ui.data_import import severity_icon

        page = QWidget()
        col = QVBoxLayout(page)
        col.setContentsMargins(40, 40, 40, 40)
        col.addStretch(1)
        head = QHBoxLayout()
        icon = QLabel()
        icon.setPixmap(severity_icon("error", 22).pixmap(22, 22))
        self.error_title = QLabel("The project's dataset cannot be used")
        self.error_title.setProperty("role", "heading")
        head.addStretch(1)
        head.addWidget(icon)
        head.addWidget(self.error_title)
        head.addStretch(1)
        self.error_label = QLabel()
        self.error_label.setObjectName("dataError")
        self.error_label.setProperty("role", "error")
        self.error_label.setWordWrap(True)
        self.error_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_settings_button = QPushButton("Change settings…")
        self.error_settings_button.setObjectName("secondary")
        self.error_settings_button.clicked.connect(self.change_settings_requested.emit)
        self.error_import_button = QPushButton("Import another dataset…")
        self.error_import_button.setObjectName("secondary")
        self.error_import_button.clicked.connect(self.import_file_requested.emit)
        self.retry_button = QPushButton("Scan again")
        self.retry_button.setObjectName("secondary")
        self.retry_button.clicked.connect(self.retry_requested.emit)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.retry_button)
        row.addWidget(self.error_settings_button)
        row.addWidget(self.error_import_button)
        row.addStretch(1)
        col.addLayout(head)
        col.addWidget(self.error_label)
        col.addSpacing(8)
        col.addLayout(row)
        col.addStretch(2)
        return page

    def _build_data_page(self) -> QWidget:
        from workbench.ui.data_import import FindingsList, PagedTable, ThumbnailGrid

        page = QWidget()
        self.title_label = QLabel()
        self.title_label.setProperty("role", "heading")
        self.path_label = label("", "muted")
        self.path_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.path_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("dataSummary")
        self.details_label = label("", "muted", wrap=True)
        self.splits_label = QLabel()
        self.splits_label.setObjectName("dataSplits")
        self.settings_label = label("", "muted", wrap=True)
        self.change_button = QPushButton("Change settings…")
        self.change_button.setObjectName("secondary")
        self.change_button.setToolTip("Reopen the import dialog: split, size, augmentation, target")
        self.change_button.clicked.connect(self.change_settings_requested.emit)
        self.reimport_button = QPushButton("Import another…")
        self.reimport_button.setObjectName("secondary")
        self.reimport_button.clicked.connect(self.import_file_requested.emit)

        head_text = QVBoxLayout()
        head_text.setSpacing(2)
        head_text.addWidget(self.title_label)
        head_text.addWidget(self.path_label)
        head_text.addWidget(self.summary_label)
        head_text.addWidget(self.details_label)
        head_text.addWidget(self.splits_label)
        head_text.addWidget(self.settings_label)
        head = QHBoxLayout()
        head.addLayout(head_text, 1)
        head.addWidget(self.change_button, 0, Qt.AlignmentFlag.AlignTop)
        head.addWidget(self.reimport_button, 0, Qt.AlignmentFlag.AlignTop)

        self.preview_title = label("SAMPLES", "section")
        self.preview_stack = QStackedWidget()
        self.thumbnails = ThumbnailGrid(max_rows=2)
        self.table = PagedTable(page_size=50)
        self.preview_stack.addWidget(self.thumbnails)
        self.preview_stack.addWidget(self.table)
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 10, 0)
        lcol.setSpacing(4)
        lcol.addWidget(self.preview_title)
        lcol.addWidget(self.preview_stack, 1)

        self.chart_title = label("CLASS COUNTS", "section")
        self.chart_holder = QVBoxLayout()
        self.chart_holder.setContentsMargins(0, 0, 0, 0)
        self.notes_title = label("MODEL CHANGES", "section")
        self.notes_label = QLabel()
        self.notes_label.setObjectName("adaptationNotes")
        self.notes_label.setWordWrap(True)
        self.notes_label.setTextFormat(Qt.TextFormat.RichText)
        self.notes_label.setStyleSheet(
            f"QLabel#adaptationNotes {{ background: {theme.INFO_TINT}; border: 1px solid {theme.INFO_BORDER}; border-radius: 6px; padding: 8px; }}"
        )
        self.findings_title = label("CHECK", "section")
        self.findings = FindingsList()
        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(10, 0, 0, 0)
        rcol.setSpacing(4)
        rcol.addWidget(self.chart_title)
        rcol.addLayout(self.chart_holder, 3)
        rcol.addWidget(self.notes_title)
        rcol.addWidget(self.notes_label)
        rcol.addWidget(self.findings_title)
        rcol.addWidget(self.findings)
        rcol.addStretch(1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([740, 500])

        col = QVBoxLayout(page)
        col.setContentsMargins(20, 14, 20, 14)
        col.setSpacing(10)
        col.addLayout(head)
        col.addWidget(split, 1)
        return page

    # --- states --------------------------------------------------------------------------

    def state(self) -> str:
        """The page shown: "empty", "loading", "error" or "data"."""
        return {0: "empty", 1: "loading", 2: "error", 3: "data"}[self.stack.currentIndex()]

    def show_empty(self) -> None:
        """No dataset: the big hint and the import buttons."""
        self._stop_previews()
        self.result = None
        self.notes = []
        self.stack.setCurrentWidget(self.empty_page)

    def show_loading(self, text: str, cancellable: bool = True) -> None:
        """A scan or sample generation is under way."""
        self.loading_label.setText(text)
        self.loading_bar.setRange(0, 0)
        self.loading_detail.setText("")
        self.loading_cancel.setVisible(cancellable)
        self.stack.setCurrentWidget(self.loading_page)

    def show_progress(self, done: int, total: int) -> None:
        """Update the scanning progress bar."""
        if total > 0:
            self.loading_bar.setRange(0, total)
            self.loading_bar.setValue(done)
            self.loading_detail.setText(f"{done:,} of {total:,} files")
        else:
            self.loading_bar.setRange(0, 0)

    def show_error(
        self,
        message: str,
        *,
        title: str = "The project's dataset cannot be used",
        can_retry: bool = True,
        can_change_settings: bool = True,
    ) -> None:
        """The dataset cannot be used: one message and ways out."""
        self._stop_previews()
        self.result = None
        self.error_title.setText(title)
        self.error_label.setText(message)
        self.retry_button.setVisible(can_retry)
        self.error_settings_button.setVisible(can_change_settings)
        self.stack.setCurrentWidget(self.error_page)

    def show_result(
        self, result: ScanResult, settings: DataSettings, notes: list[str] | None = None
    ) -> None:
        """Show a scanned dataset with ``settings`` and what importing changed in the model."""
        from workbench.data.describe import (
            arrays_caption,
            details_text,
            findings_title,
            preview_rows,
            settings_text,
            summary_text,
        )

        self.result = result
        info, preview = result.info, result.preview
        path = Path(info.path)
        self.title_label.setText(path.name or str(path))
        self.path_label.setText(str(path))
        self.path_label.setToolTip(str(path))
        self.summary_label.setText(summary_text(info))
        self.details_label.setText(details_text(info))
        self.details_label.setVisible(bool(self.details_label.text()))
        sizes = result.split_sizes
        how = "given by the folders" if info.splits_given else f"seed {settings.seed}"
        self.splits_label.setText(
            f"Split: train <b>{sizes['train']:,}</b> · validation <b>{sizes['val']:,}</b> · "
            f"test <b>{sizes['test']:,}</b> <span style='color:{theme.MUTED}'>({how})</span>"
        )
        self.settings_label.setText(settings_text(info.kind, settings))
        self.settings_label.setVisible(bool(self.settings_label.text()))
        if info.kind == "images":
            self.preview_stack.setCurrentWidget(self.thumbnails)
            self.thumbnails.set_items(preview.get("items", []), info.class_counts)
            self.preview_title.setText("SAMPLES PER CLASS")
        else:
            self.thumbnails.cancel()
            self.preview_stack.setCurrentWidget(self.table)
            columns, rows, hl = preview_rows(info, preview)
            total = preview.get("total_rows", info.num_samples)
            if info.kind == "table":
                caption = f"The first {len(rows):,} of {int(total):,} rows"
            else:
                caption = arrays_caption(preview)
            self.table.set_rows(columns, rows, hl, caption, preview.get("types"))
            self.preview_title.setText("ROWS" if info.kind == "table" else "SAMPLES")
        self.findings.set_problems(info.problems)
        self.findings_title.setText(findings_title(info.problems))
        self._draw_chart(result)
        self.set_notes(self.notes if notes is None else notes)
        self.stack.setCurrentWidget(self.data_page)

    def set_notes(self, notes: list[str]) -> None:
        """Show what fitting the model to the data changed (hidden when nothing did)."""
        self.notes = list(notes)
        if notes:
            items = "".join(f"<li>{_esc(n)}</li>" for n in notes)
            self.notes_label.setText(f"<ul style='margin:0; margin-left:-20px'>{items}</ul>")
        self.notes_label.setVisible(bool(notes))
        self.notes_title.setVisible(bool(notes))

    def class_rows(self) -> dict[str, int]:
        """Class name -> count as the tab shows them (empty for regression or no data)."""
        if self.result is None or self.result.info.classes is None:
            return {}
        return dict(self.result.info.class_counts)

    def _stop_previews(self) -> None:
        if hasattr(self, "thumbnails"):
            self.thumbnails.cancel()

    def shutdown(self) -> None:
        """Stop background work (thumbnails)."""
        self._stop_previews()

    # --- chart ---------------------------------------------------------------------------

    def _ensure_plot(self) -> Any:
        if self._plot is None:
            import pyqtgraph as pg

            plot = pg.PlotWidget(background=theme.PANEL)
            plot.setObjectName("classChart")
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setMinimumHeight(180)
            plot.showGrid(x=False, y=True, alpha=0.15)
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(pg.mkPen(theme.BORDER, width=1))
                axis.setTextPen(pg.mkPen(theme.TEXT, width=1))
            self._plot = plot
            self.chart_holder.addWidget(plot)
        return self._plot

    def _draw_chart(self, result: ScanResult) -> None:
        import numpy as np
        import pyqtgraph as pg

        plot = self._ensure_plot()
        plot.clear()
        info = result.info
        axis = plot.getAxis("bottom")
        brush = pg.mkBrush(theme.ACCENT)
        pen = pg.mkPen(None)
        if info.classes is not None:
            self.chart_title.setText("CLASS COUNTS")
            names = list(info.class_counts)
            counts = np.array([info.class_counts[c] for c in names], dtype=np.float64)
            x = np.arange(len(names), dtype=np.float64)
            plot.addItem(pg.BarGraphItem(x=x, height=counts, width=0.65, brush=brush, pen=pen))
            step = max(1, len(names) // 12)
            ticks = [(float(i), _short(names[i])) for i in range(0, len(names), step)]
            axis.setTicks([ticks, []])
            plot.setLabel("bottom", "")
            plot.setLabel("left", "samples")
            plot.setXRange(-0.6, len(names) - 0.4, padding=0)
            plot.setYRange(0, max(1.0, float(counts.max(initial=0))) * 1.1, padding=0)
        else:
            self.chart_title.setText("TARGET DISTRIBUTION")
            axis.setTicks(None)
            hist = result.target_histogram
            if hist is not None:
                counts_l, edges_l = hist
                counts = np.asarray(counts_l, dtype=np.float64)
                edges = np.asarray(edges_l, dtype=np.float64)
                plot.addItem(
                    pg.BarGraphItem(
                        x0=edges[:-1],
                        x1=edges[1:],
                        height=counts,
                        brush=brush,
                        pen=pg.mkPen(theme.PANEL),
                    )
                )
                plot.setXRange(float(edges[0]), float(edges[-1]), padding=0.02)
                plot.setYRange(0, max(1.0, float(counts.max(initial=0))) * 1.1, padding=0)
            target = info.details.get("target")
            plot.setLabel("bottom", str(target) if target else "target")
            plot.setLabel("left", "samples")


def _short(name: str, n: int = 14) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- the controller -----------------------------------------------------------------------------


class DataController(QObject):
    """Imports datasets into the window's document and keeps the Data tab current.

    Attributes:
        tab: The Data tab widget (the window adds it as a page).
        dialog: The import dialog while one is open.
        source: The dataset's scanned source, once known.
        settings: Its settings (absolute path), once known.
    """

    #: Emitted after a dataset was imported (notes as the argument).
    imported = Signal(list)
    #: Emitted after a background scan of the project's dataset ended ("ok", "error", "cancelled").
    rescanned = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.tab = DataTab()
        self.dialog: DatasetImportDialog | None = None
        self.source: Source | None = None
        self.settings: DataSettings | None = None
        self._task: Task | None = None
        self.tab.import_file_requested.connect(lambda: window.import_dataset_dialog(folder=False))
        self.tab.import_folder_requested.connect(lambda: window.import_dataset_dialog(folder=True))
        self.tab.sample_requested.connect(self.open_sample)
        self.tab.change_settings_requested.connect(self.change_settings)
        self.tab.cancel_requested.connect(self.cancel)
        self.tab.retry_requested.connect(self.rescan)

    # --- the document ----------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Follow a newly opened document: rescan its dataset in the background, if any."""
        from workbench.data import DataError
        from workbench.data.link import settings_from_project

        self._stop_task()
        self.source = None
        self.settings = None
        self.tab.notes = []
        if not document.project.dataset:
            self.tab.show_empty()
            return
        try:
            settings = settings_from_project(document.project, document.path)
        except DataError as e:
            self.tab.show_error(f"{document.name}: {e}", can_retry=False, can_change_settings=False)
            return
        if settings is None:
            self.tab.show_empty()
            return
        self.settings = settings
        self.rescan()

    def rescan(self) -> Task | None:
        """Scan the project's dataset again off the GUI thread and show it."""
        from workbench.ui.data_import import scan_dataset

        settings = self.settings
        if settings is None:
            return None
        self._stop_task()
        warm_up_pyqtgraph()
        document = self.window.document
        path, target = settings.path, settings.target
        self.tab.show_loading(f"Scanning {Path(path).name}…")
        task = run_task(
            lambda p, c: scan_dataset(
                path, target, settings, p, c, TAB_TABLE_ROWS, TAB_IMAGES_PER_CLASS
            ),
            name="data-rescan",
        )
        task.progressed.connect(self.tab.show_progress)
        task.succeeded.connect(lambda result: self._on_rescanned(task, document, result))
        task.failed.connect(lambda error: self._on_rescan_failed(task, error))
        task.cancelled.connect(lambda: self._on_rescan_cancelled(task))
        self._task = task
        return task

    def _current(self, task: Task) -> bool:
        if task is not self._task:
            return False
        self._task = None
        return True

    def _on_rescanned(self, task: Task, document: Document, result: ScanResult) -> None:
        if not self._current(task) or document is not self.window.document or self.settings is None:
            return
        self.source = result.source
        self.tab.show_result(result, self.settings)
        self.rescanned.emit("ok")

    def _on_rescan_failed(self, task: Task, error: BaseException) -> None:
        if not self._current(task):
            return
        known = self.settings is not None
        self.tab.show_error(
            _error_text(error, self.settings.path if self.settings else ""),
            can_retry=known,
            can_change_settings=known,
        )
        self.rescanned.emit("error")

    def _on_rescan_cancelled(self, task: Task) -> None:
        if self._current(task):
            self.rescanned.emit("cancelled")

    def cancel(self) -> None:
        """Stop the running scan or sample generation (the tab's Cancel button)."""
        if self._task is None:
            return
        self._stop_task()
        if self.settings is not None:
            self.tab.show_error(
                "Scanning was cancelled; the dataset's settings are still in the project.",
                title="Scanning was cancelled",
            )
        else:
            self.tab.show_empty()
        self.rescanned.emit("cancelled")

    def _stop_task(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def is_busy(self) -> bool:
        """True while a scan, description or sample generation runs."""
        return self._task is not None

    def shutdown(self) -> None:
        """Stop all background work (the window is closing)."""
        self._stop_task()
        self.tab.shutdown()
        if self.dialog is not None:
            self.dialog.reject()

    def rebase_dataset_path(self, project_path: str | os.PathLike[str] | None) -> None:
        """Store the dataset path relative to ``project_path`` (called before saving there)."""
        from workbench.data.link import store_settings

        doc = self.window.document
        if self.settings is not None and doc.project.dataset and project_path is not None:
            store_settings(doc.project, self.settings, project_path)

    # --- importing -------------------------------------------------------------------------

    def import_path(
        self, path: str | os.PathLike[str], settings: DataSettings | None = None
    ) -> DatasetImportDialog:
        """Open the import dialog on ``path`` (window-modal, without blocking); return it."""
        from workbench.ui.data_import import DatasetImportDialog

        if self.dialog is not None:
            self.dialog.reject()
        warm_up_pyqtgraph()
        dialog = DatasetImportDialog(path, settings, self.window, model=self.window.document.graph)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._on_dialog_accepted(dialog))
        dialog.finished.connect(lambda _r: self._on_dialog_finished(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_dialog_finished(self, dialog: DatasetImportDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def _on_dialog_accepted(self, dialog: DatasetImportDialog) -> None:
        source = dialog.source()
        if source is None:
            return
        self.apply_import(source, dialog.settings(), template=dialog.chosen_template)

    def change_settings(self) -> DatasetImportDialog | None:
        """Reopen the import dialog with the current settings."""
        if self.settings is None:
            self.window.import_dataset_dialog(folder=False)
            return None
        return self.import_path(self.settings.path, self.settings)

    def apply_import(
        self,
        source: Source,
        settings: DataSettings,
        result: ScanResult | None = None,
        template: str | None = None,
    ) -> list[str] | None:
        """Store ``settings`` in the project and fit the model to ``source`` (one undoable edit).

        ``result`` is shown in the tab when given; otherwise the tab's preview is
        gathered off the GUI thread. With ``template``, the model is first replaced by
        that template (the import dialog offers it when the data does not fit the
        model), in the same undo step. Returns the notes on what changed in the model,
        or None when the model could not be fitted (the user was told why; nothing was
        stored).
        """
        from workbench.core.adapt import use_template
        from workbench.core.graph import Graph, GraphError
        from workbench.core.templates import TEMPLATES
        from workbench.data import DataError
        from workbench.data.link import fit_model_to_data, store_settings

        doc = self.window.document

        def fit(g: Graph) -> list[str]:
            if template is None:
                return fit_model_to_data(g, source, settings)
            use_template(g, template)
            title = TEMPLATES[template].title
            return [
                f"The model was replaced by the “{title}” template to fit the data",
                *fit_model_to_data(g, source, settings),
            ]

        label = (
            "Fit model to dataset"
            if template is None
            else f"Use the {TEMPLATES[template].title} template"
        )
        try:
            notes: list[str] = doc.edit(label, fit)
        except (GraphError, DataError) as e:
            self.window.show_error("Cannot fit the model to the dataset", str(e))
            return None
        if template is not None:
            self.window._fit_pending = True  # a new model: fit it in view when the Model page shows
        if not doc.graph.of_type("Input"):
            notes = [
                *notes,
                "The model has no Input layer yet: add one, or start from a template, to train on this dataset",
            ]
        store_settings(doc.project, settings, doc.path)
        doc.mark_modified()  # the dataset settings are not in the undo history
        self.source = source
        self.settings = settings
        self.tab.notes = list(notes)
        name = Path(settings.path).name
        if notes:
            self.window.show_status(f"Imported {name}. " + "; ".join(notes), 15000)
        else:
            self.window.show_status(f"Imported {name}; the model already fits it.", 10000)
        if result is not None:
            self._stop_task()
            self.tab.show_result(result, settings, notes)
        else:
            self._show_imported(source, settings, notes)
        self.window.show_page("data")
        self.imported.emit(list(notes))
        return notes

    def _show_imported(self, source: Source, settings: DataSettings, notes: list[str]) -> None:
        """Show the imported dataset, gathering the tab's larger preview off the GUI thread."""
        from workbench.data.describe import describe_source

        self._stop_task()
        self.tab.show_loading(f"Loading {Path(settings.path).name}…", cancellable=False)
        path = settings.path
        task = run_task(
            lambda p, c: describe_source(
                source, path, settings, c, TAB_TABLE_ROWS, TAB_IMAGES_PER_CLASS
            ),
            name="data-describe",
        )
        document = self.window.document
        task.succeeded.connect(lambda result: self._on_described(task, document, result, notes))
        task.failed.connect(lambda error: self._on_rescan_failed(task, error))
        task.cancelled.connect(lambda: self._current(task))
        self._task = task

    def _on_described(
        self, task: Task, document: Document, result: ScanResult, notes: list[str]
    ) -> None:
        if not self._current(task) or document is not self.window.document or self.settings is None:
            return
        self.tab.show_result(result, self.settings, notes)
        self.rescanned.emit("ok")

    # --- sample datasets -------------------------------------------------------------------

    def open_sample(self, name: str) -> bool:
        """New project from the sample's template, then generate and import its data off-thread.

        Returns False when the user kept the current project or the sample is unknown.
        """
        specs = dict(SAMPLES)
        spec = specs.get(name)
        if spec is None:
            self.window.show_error(
                "Unknown sample dataset", f"There is no sample dataset called '{name}'."
            )
            return False
        if not self.window.new_project(spec.template):
            return False
        from workbench.data.describe import default_settings, describe_source

        def work(progress: Any, cancelled: Any) -> tuple[Any, DataSettings, ScanResult]:
            from workbench.data import open_dataset
            from workbench.data.samples import sample_path

            path = str(sample_path(name))
            source = open_dataset(path, None, progress, cancelled)
            settings = default_settings(source, source.info(), path)
            return (
                source,
                settings,
                describe_source(
                    source, path, settings, cancelled, TAB_TABLE_ROWS, TAB_IMAGES_PER_CLASS
                ),
            )

        self._stop_task()
        warm_up_pyqtgraph()
        self.tab.show_loading(f"Preparing the sample dataset “{getattr(spec, 'title', name)}”…")
        self.window.show_page("data")
        document = self.window.document
        task = run_task(work, name="sample")
        task.progressed.connect(self.tab.show_progress)
        task.succeeded.connect(lambda out: self._on_sample_ready(task, document, out))
        task.failed.connect(lambda error: self._on_rescan_failed(task, error))
        task.cancelled.connect(lambda: self._on_sample_cancelled(task))
        self._task = task
        return True

    def _on_sample_ready(
        self, task: Task, document: Document, out: tuple[Any, DataSettings, ScanResult]
    ) -> None:
        if not self._current(task) or document is not self.window.document:
            return
        source, settings, result = out
        if self.apply_import(source, settings, result) is not None:
            self.rescanned.emit("ok")

    def _on_sample_cancelled(self, task: Task) -> None:
        if self._current(task):
            self.tab.show_empty()
            self.rescanned.emit("cancelled")


def _error_text(error: BaseException, path: str) -> str:
    from workbench.data import DataError

    if isinstance(error, DataError):
        return str(error)
    import traceback

    traceback.print_exception(type(error), error, error.__traceback__)
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    return f"{Path(path).name or path}: could not be read ({detail})"
