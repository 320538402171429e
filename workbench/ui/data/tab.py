"""The Data tab: the project's dataset, its samples, split, check and chart.

:class:`DataTab` shows an empty state with ways to import (and the sample datasets), a
scanning state, an error state, or the dataset: where it is, what kind, how many samples
and classes, the split sizes, thumbnails per class (images) or a paged table (tables and
arrays), a class-count chart, the check's findings and what importing changed in the
model. :class:`~.controller.DataController` drives it.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
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

from workbench.data import DataSettings
from workbench.data.describe import (
    ScanResult,
    details_text,
    findings_title,
    progress_text,
    settings_text,
    split_source,
    summary_text,
)
from workbench.data.samples import SAMPLES
from workbench.ui import theme
from workbench.ui.data.chart import ClassChart
from workbench.ui.data.previews import FindingsList, SamplePreview, severity_icon
from workbench.ui.theme import label

EMPTY_HINT = "Drop a folder of images or a CSV/NPZ file here, or File ▸ Import Dataset…"
#: The samples' heading for each kind of dataset.
PREVIEW_TITLES = {"images": "SAMPLES PER CLASS", "table": "ROWS", "arrays": "SAMPLES"}


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
        self.preview = SamplePreview(thumbnail_rows=2)
        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 10, 0)
        lcol.setSpacing(4)
        lcol.addWidget(self.preview_title)
        lcol.addWidget(self.preview, 1)

        self.chart = ClassChart()
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
        rcol.addWidget(self.chart, 3)
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
            self.loading_detail.setText(progress_text(done, total))
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
        how = split_source(info, settings.seed)
        self.splits_label.setText(
            f"Split: train <b>{sizes['train']:,}</b> · validation <b>{sizes['val']:,}</b> · "
            f"test <b>{sizes['test']:,}</b> <span style='color:{theme.MUTED}'>({how})</span>"
        )
        self.settings_label.setText(settings_text(info.kind, settings))
        self.settings_label.setVisible(bool(self.settings_label.text()))
        self.preview.show_samples(info, preview, with_total=True)
        self.preview_title.setText(PREVIEW_TITLES[info.kind])
        self.findings.set_problems(info.problems)
        self.findings_title.setText(findings_title(info.problems))
        self.chart.draw(result)
        self.set_notes(self.notes if notes is None else notes)
        self.stack.setCurrentWidget(self.data_page)

    def set_notes(self, notes: list[str]) -> None:
        """Show what fitting the model to the data changed (hidden when nothing did)."""
        self.notes = list(notes)
        if notes:
            items = "".join(f"<li>{escape(n, quote=False)}</li>" for n in notes)
            self.notes_label.setText(f"<ul style='margin:0; margin-left:-20px'>{items}</ul>")
        self.notes_label.setVisible(bool(notes))
        self.notes_title.setVisible(bool(notes))

    def class_rows(self) -> dict[str, int]:
        """Class name -> count as the tab shows them (empty for regression or no data)."""
        if self.result is None or self.result.info.classes is None:
            return {}
        return dict(self.result.info.class_counts)

    def _stop_previews(self) -> None:
        self.preview.cancel()

    def shutdown(self) -> None:
        """Stop background work (thumbnails)."""
        self._stop_previews()
