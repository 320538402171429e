"""The dataset import dialog.

:class:`DatasetImportDialog` scans a file or folder off the GUI thread (with a progress
bar and a Cancel button), then shows a preview, the check's findings, whether the data
fits the model, and the options (:class:`~.import_options.ImportOptions`): the target
column (tables), the split and the preprocessing. ``settings()`` and ``source()`` are
what the caller imports. Bad data shows as one message naming the file; nothing is
written by the dialog.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLayout,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.adapt import FitCheck, check_fit
from workbench.core.graph import Graph
from workbench.data import DatasetInfo, DataSettings, Source
from workbench.data.describe import (
    ScanResult,
    default_settings,
    details_text,
    findings_title,
    import_blocker,
    progress_text,
    rescan_text,
    retarget,
    scan_dataset,
    summary_text,
    with_misfit,
)
from workbench.ui import theme
from workbench.ui.data.import_options import ImportOptions
from workbench.ui.data.previews import FindingsList, SamplePreview, severity_icon
from workbench.ui.data.scan import ScanSlot, report_failure
from workbench.ui.theme import label
from workbench.ui.workers import CancelledFn, ProgressFn

#: The preview's heading for each kind of dataset.
PREVIEW_TITLES = {
    "images": "PREVIEW: A FEW IMAGES PER CLASS",
    "table": "PREVIEW: THE FIRST ROWS",
    "arrays": "PREVIEW",
}


class FitBanner(QFrame):
    """ "This table does not fit this model …" with the template that fits as one click.

    Hidden while the data fits the model.

    Signals:
        use_template_clicked(): The button offering the template was pressed.
    """

    use_template_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("fitBanner")
        self.setStyleSheet(
            f"QFrame#fitBanner {{ background: {theme.ERROR_TINT}; border: 1px solid {theme.WARNING};"
            " border-radius: 6px; }"
        )
        icon = QLabel()
        icon.setPixmap(severity_icon("warning", 16).pixmap(16, 16))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.label = QLabel()
        self.label.setObjectName("fitMessage")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton()
        self.button.setObjectName("secondary")
        self.button.clicked.connect(self.use_template_clicked.emit)
        text = QVBoxLayout()
        text.setSpacing(6)
        text.addWidget(self.label)
        row = QHBoxLayout()
        row.addWidget(self.button)
        row.addStretch(1)
        text.addLayout(row)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(10, 8, 10, 8)
        lay.addWidget(icon)
        lay.addLayout(text, 1)
        self.hide()

    def show_fit(self, fit: FitCheck | None) -> None:
        """Say why the data does not fit and offer the template that does (or hide)."""
        misfit = fit is not None and not fit.fits
        if fit is not None and misfit:
            self.label.setText(fit.problem)
            self.button.setText(fit.action)
            self.button.setVisible(bool(fit.template))
            self.button.setToolTip(
                f"Replace the model with the “{fit.template_title}” template and import "
                "(Undo brings the current model back)"
            )
        self.setVisible(misfit)


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
        self._result: ScanResult | None = None
        self._scan = ScanSlot()
        self._error = ""
        self.setWindowTitle(f"Import dataset — {Path(self.path).name}")
        self.setObjectName("importDialog")
        self.resize(1040, 700)
        self.setSizeGripEnabled(True)

        title = QLabel(Path(self.path).name or self.path)
        title.setProperty("role", "heading")
        where = label(self.path, "muted")
        where.setToolTip(self.path)
        where.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary_label = QLabel()
        self.summary_label.setObjectName("summaryLine")
        self.summary_label.setWordWrap(True)
        self.details_label = label("", "muted", wrap=True)

        self.options = ImportOptions()
        self.options.base = replace(settings or DataSettings(), path=self.path)
        self.options.target_activated.connect(self._on_target_activated)
        self.options.input_changed.connect(self._update_fit)
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
        self.rescan_button.clicked.connect(lambda: self.start_scan(self.options.target_choice()))
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
        self.preview = SamplePreview()
        self.findings_label = label("CHECK", "section")
        self.findings = FindingsList()
        self.findings.setMinimumHeight(80)
        self.preview_label = label("PREVIEW", "section")

        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 8, 0)
        lcol.setSpacing(4)
        lcol.addWidget(self.preview_label)
        lcol.addWidget(self.preview, 3)
        lcol.addWidget(self.findings_label)
        self.fit_banner = FitBanner()
        self.fit_banner.use_template_clicked.connect(self.use_fitting_template)
        lcol.addWidget(self.fit_banner)
        lcol.addWidget(self.findings, 1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(self.options)
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

    # --- the model's fit -----------------------------------------------------------------

    def _update_fit(self) -> None:
        """Check that the data, with these settings, fits the model; show it under Check."""
        info, source = self.info(), self.source()
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
        self.fit_banner.show_fit(self.fit)
        problems = with_misfit(info.problems, fits=self.fit is None or self.fit.fits)
        self.findings.set_problems(problems)
        self.findings_label.setText(findings_title(problems))

    def use_fitting_template(self) -> None:
        """Import with the model replaced by the template that fits the data."""
        if self.fit is None or not self.fit.template or not self.is_ready():
            return
        self.chosen_template = self.fit.template
        self.accept()

    # --- scanning ----------------------------------------------------------------------------

    def start_scan(self, target: str | None = None) -> None:
        """Scan (or rescan, e.g. with another target column) off the GUI thread."""
        self._scan.stop()
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
            self.busy_label.setText(rescan_text(target))
        path = self.path
        initial = self._initial if first else self.settings()
        settings = replace(initial, path=path, target=target) if initial else None
        source = self.source()

        def scan(progress: ProgressFn, cancelled: CancelledFn) -> ScanResult:
            if target and source is not None and source.kind == "table":
                return retarget(source, target, settings, progress, cancelled)
            return scan_dataset(path, target, settings, progress, cancelled)

        self._scan.start(
            scan,
            "scan",
            succeeded=self._on_scanned,
            failed=self._on_failed,
            cancelled=self._on_cancelled,
            progressed=self._on_progress,
        )

    def is_scanning(self) -> bool:
        """True while a scan runs."""
        return self._scan.busy()

    def is_ready(self) -> bool:
        """True when a scan succeeded and Import can be pressed."""
        return (
            self._result is not None and not self.is_scanning() and self.import_button.isEnabled()
        )

    def cancel_scan(self) -> None:
        """Stop the running scan (its thread ends by itself)."""
        if self._scan.busy():
            self._scan.cancel()
            self.cancel_scan_button.setEnabled(False)
            self.progress_label.setText("Cancelling…")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress_bar.setRange(0, max(total, 0))
        if total > 0:
            self.progress_bar.setValue(done)
        self.progress_label.setText(progress_text(done, total))

    def _scan_ended(self) -> None:
        self.cancel_scan_button.setEnabled(True)
        self.busy_bar.hide()
        self.busy_label.setText("")

    def _on_failed(self, error: BaseException) -> None:
        self._scan_ended()
        message = report_failure(error, self.path)
        self._error = message
        if self._result is not None and self._result.info.kind == "table":
            # Another target column did not work: keep the table so another can be picked.
            self.options.show_target_error(message)
            self._update_import_enabled()
            self.scan_finished.emit("error")
            return
        self._result = None
        self.options.clear()
        self.error_label.setText(message)
        self.summary_label.setText("")
        self.details_label.setText("")
        self.stack.setCurrentIndex(1)
        self.import_button.setEnabled(False)
        self.close_button.setText("Close")
        self.scan_finished.emit("error")

    def _on_cancelled(self) -> None:
        self._scan_ended()
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

    def _on_scanned(self, result: ScanResult) -> None:
        self._scan_ended()
        first = self._result is None
        self._result = result
        info = result.info
        self.summary_label.setText(summary_text(info))
        self.details_label.setText(details_text(info))
        self.details_label.setVisible(bool(self.details_label.text()))
        self.preview.show_samples(info, result.preview)
        self.preview_label.setText(PREVIEW_TITLES[info.kind])
        self.findings.set_problems(info.problems)
        self.findings_label.setText(findings_title(info.problems))
        if first:
            base = self._initial or default_settings(result.source, info, self.path)
            self.options.show_result(result, base)
        else:
            self.options.show_result(result)
        self.stack.setCurrentIndex(2)
        self._update_import_enabled()
        self.scan_finished.emit("ok")

    def _update_import_enabled(self) -> None:
        info = self.info()
        tip = import_blocker(
            info is not None, self.is_scanning(), self._error, info.problems if info else []
        )
        self.import_button.setEnabled(not tip)
        self.import_button.setToolTip(tip)

    # --- what to import ------------------------------------------------------------------

    def settings(self) -> DataSettings:
        """The settings chosen in the dialog (``path`` is absolute)."""
        return self.options.settings()

    def source(self) -> Source | None:
        """The scanned source (None until a scan succeeded)."""
        return self._result.source if self._result is not None else None

    def info(self) -> DatasetInfo | None:
        """What the last successful scan found."""
        return self._result.info if self._result is not None else None

    def error_message(self) -> str:
        """The message shown for a dataset that cannot be used ('' if none)."""
        return self._error

    def set_target(self, column: str) -> None:
        """Choose ``column`` as the table's target and rescan (off-thread)."""
        i = self.options.target_combo.findText(column)
        if i < 0:
            raise KeyError(column)
        self.options.target_combo.setCurrentIndex(i)
        self._on_target_activated(column)

    def _on_target_activated(self, column: str) -> None:
        info = self.info()
        current = info.details.get("target") if info is not None else None
        if column and (column != current or self._error):
            self.start_scan(column)

    # --- closing -------------------------------------------------------------------------

    def done(self, result: int) -> None:  # noqa: D102 - Qt override
        if result == QDialog.DialogCode.Accepted and not self.is_ready():
            return
        self._scan.stop()
        self.preview.cancel()
        super().done(result)
