"""The controller that imports datasets into the open project and keeps the Data tab current.

:class:`DataController` connects the :class:`~.tab.DataTab` to the window: it opens the
import dialog, stores the chosen settings in the project, fits the model to the data as
one undoable edit, rescans a project's dataset in the background when the project opens,
and builds ready-to-train projects from the sample datasets.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal

from workbench.data.samples import SAMPLES
from workbench.ui.data.scan import ScanSlot, report_failure
from workbench.ui.data.tab import DataTab
from workbench.ui.plot_warmup import warm_up_pyqtgraph
from workbench.ui.workers import CancelledFn, ProgressFn, Task

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.data import DataSettings, Source
    from workbench.data.describe import ScanResult
    from workbench.ui.data.import_dialog import DatasetImportDialog
    from workbench.ui.window import MainWindow

#: Thumbnails per class in the Data tab.
TAB_IMAGES_PER_CLASS = 12
#: Table rows fetched for the Data tab's paged table.
TAB_TABLE_ROWS = 500


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
        self._scan = ScanSlot()
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

        self._scan.stop()
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
        from workbench.data.describe import scan_dataset

        settings = self.settings
        if settings is None:
            return None
        warm_up_pyqtgraph()
        document = self.window.document
        path, target = settings.path, settings.target
        self.tab.show_loading(f"Scanning {Path(path).name}…")

        def scan(progress: ProgressFn, cancelled: CancelledFn) -> ScanResult:
            return scan_dataset(
                path, target, settings, progress, cancelled, TAB_TABLE_ROWS, TAB_IMAGES_PER_CLASS
            )

        return self._scan.start(
            scan,
            "data-rescan",
            succeeded=lambda result: self._on_rescanned(document, result),
            failed=self._on_rescan_failed,
            cancelled=lambda: self.rescanned.emit("cancelled"),
            progressed=self.tab.show_progress,
        )

    def _on_rescanned(self, document: Document, result: ScanResult) -> None:
        if document is not self.window.document or self.settings is None:
            return
        self.source = result.source
        self.tab.show_result(result, self.settings)
        self.rescanned.emit("ok")

    def _on_rescan_failed(self, error: BaseException) -> None:
        known = self.settings is not None
        self.tab.show_error(
            report_failure(error, self.settings.path if self.settings else ""),
            can_retry=known,
            can_change_settings=known,
        )
        self.rescanned.emit("error")

    def cancel(self) -> None:
        """Stop the running scan or sample generation (the tab's Cancel button)."""
        if not self._scan.busy():
            return
        self._scan.stop()
        if self.settings is not None:
            self.tab.show_error(
                "Scanning was cancelled; the dataset's settings are still in the project.",
                title="Scanning was cancelled",
            )
        else:
            self.tab.show_empty()
        self.rescanned.emit("cancelled")

    def is_busy(self) -> bool:
        """True while a scan, description or sample generation runs."""
        return self._scan.busy()

    def shutdown(self) -> None:
        """Stop all background work (the window is closing)."""
        self._scan.stop()
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
        from workbench.ui.data.import_dialog import DatasetImportDialog

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
        from workbench.data.describe import NO_INPUT_NOTE, import_status
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
            notes = [*notes, NO_INPUT_NOTE]
        store_settings(doc.project, settings, doc.path)
        doc.mark_modified()  # the dataset settings are not in the undo history
        self.source = source
        self.settings = settings
        self.tab.notes = list(notes)
        self.window.show_status(
            import_status(Path(settings.path).name, notes), 15000 if notes else 10000
        )
        if result is not None:
            self._scan.stop()
            self.tab.show_result(result, settings, notes)
        else:
            self._show_imported(source, settings, notes)
        self.window.show_page("data")
        self.imported.emit(list(notes))
        return notes

    def _show_imported(self, source: Source, settings: DataSettings, notes: list[str]) -> None:
        """Show the imported dataset, gathering the tab's larger preview off the GUI thread."""
        from workbench.data.describe import describe_source

        self.tab.show_loading(f"Loading {Path(settings.path).name}…", cancellable=False)
        path = settings.path
        document = self.window.document

        def describe(progress: ProgressFn, cancelled: CancelledFn) -> ScanResult:
            return describe_source(
                source, path, settings, cancelled, TAB_TABLE_ROWS, TAB_IMAGES_PER_CLASS
            )

        self._scan.start(
            describe,
            "data-describe",
            succeeded=lambda result: self._on_described(document, result, notes),
            failed=self._on_rescan_failed,
        )

    def _on_described(self, document: Document, result: ScanResult, notes: list[str]) -> None:
        if document is not self.window.document or self.settings is None:
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

        def work(
            progress: ProgressFn, cancelled: CancelledFn
        ) -> tuple[Any, DataSettings, ScanResult]:
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

        warm_up_pyqtgraph()
        self.tab.show_loading(f"Preparing the sample dataset “{getattr(spec, 'title', name)}”…")
        self.window.show_page("data")
        document = self.window.document
        self._scan.start(
            work,
            "sample",
            succeeded=lambda out: self._on_sample_ready(document, out),
            failed=self._on_rescan_failed,
            cancelled=self._on_sample_cancelled,
            progressed=self.tab.show_progress,
        )
        return True

    def _on_sample_ready(
        self, document: Document, out: tuple[Any, DataSettings, ScanResult]
    ) -> None:
        if document is not self.window.document:
            return
        source, settings, result = out
        if self.apply_import(source, settings, result) is not None:
            self.rescanned.emit("ok")

    def _on_sample_cancelled(self) -> None:
        self.tab.show_empty()
        self.rescanned.emit("cancelled")
