"""The main window: its pages (Start, Model, Data, Train, Evaluate, Export) and the parts it is made of.

The window owns one :class:`~workbench.core.document.Document` and hands it to every page,
which follow its changes themselves. Each part of the window owns one job: the Model page
(``builder.py``), the actions and menus (``menus.py``), the project files (``files.py``),
autosave and recovery (``autosave.py``) and drops (``drops.py``). The window puts them
together, keeps the title and status bar current and closes cleanly.

Everything a script or test wants is a plain method of the window (``open_project``,
``new_project``, ``save_project``); every question to the user goes through one small
method (``_ask_save_changes``, ``_ask_recover``, ``_ask_open_path``, ``_ask_save_path``,
``_ask_delete_runs``, ``show_error``, …) that tests replace.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol, TypeVar

from PySide6.QtCore import QByteArray, QEvent, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QPaintEvent, QShowEvent
from PySide6.QtWidgets import QLabel, QLayout, QMainWindow, QMessageBox, QTabWidget, QWidget

from workbench.core.document import Document
from workbench.core.settings import Settings
from workbench.core.text import errors_tooltip, model_stats, window_title
from workbench.ui import theme
from workbench.ui.data.controller import DataController
from workbench.ui.evaluate.controller import EvaluateController
from workbench.ui.export_tab import ExportController
from workbench.ui.run_indicator import RunIndicator
from workbench.ui.runs import RunsController
from workbench.ui.start_page import StartPage
from workbench.ui.train.controller import TrainingController
from workbench.ui.wheel import install_wheel_guard
from workbench.ui.window import questions
from workbench.ui.window.autosave import Autosaver
from workbench.ui.window.builder import ModelBuilder
from workbench.ui.window.drops import DropTarget
from workbench.ui.window.files import ProjectFiles
from workbench.ui.window.menus import WindowMenus
from workbench.ui.window.questions import RecoverChoice, SaveChoice
from workbench.ui.workers import install_gui_garbage_collector

DEFAULT_SIZE = (1280, 800)


class PageController(Protocol):
    """A page after Model: a controller that owns its tab and follows the window's document."""

    @property
    def tab(self) -> QWidget: ...

    def set_document(self, document: Document) -> None: ...

    def shutdown(self) -> None: ...


Controller = TypeVar("Controller", bound=PageController)


def _b64(data: QByteArray) -> str:
    return bytes(data.toBase64().data()).decode("ascii")


def _unb64(text: Any) -> QByteArray | None:
    if not isinstance(text, str) or not text:
        return None
    return QByteArray.fromBase64(text.encode("ascii", "replace"))


class MainWindow(QMainWindow):
    """The Model Workbench window; see the module docstring.

    Attributes:
        document: The open project.
        settings: User settings (recent files, window state, theme).
        builder: The Model page; ``canvas``, ``layer_palette``, ``inspector``, ``summary``
            and their docks are its parts, also reachable from the window.
        start_page: The Start page.
        data_controller, train_controller, evaluate_controller, export_controller: The
            controllers of the pages after Model (``data_tab``, ``train_tab``,
            ``evaluate_tab`` and ``export_tab`` are their tabs).
        runs_controller: The project's runs, shown on the Train tab (View ▸ Runs).
        controllers: Those controllers, in tab order.
        files, autosave, menus, drops: The window's parts (see the module docstring).
        last_dropped_paths: Files or folders other than projects dropped last.
    """

    #: Files or folders (not projects) dropped on the window.
    paths_dropped = Signal(list)
    #: Emitted once, after the window first painted.
    first_painted = Signal()

    def __init__(self, settings: Settings | None = None, *, restore_state: bool = True) -> None:
        super().__init__()
        # Worker threads must never run the cyclic GC over Qt objects (see workers.py).
        install_gui_garbage_collector()
        install_wheel_guard()  # the wheel scrolls panels; it changes a setting only when focused
        self.settings = settings or Settings()
        self.document = Document()
        self.last_dropped_paths: list[str] = []
        self.pages: dict[str, QWidget] = {}
        self.controllers: list[PageController] = []
        self._painted = False
        self._fit_pending = False

        self.files = ProjectFiles(self)
        self.autosave = Autosaver(self)
        self._build_pages()
        self.menus = WindowMenus(self)
        self.drops = DropTarget(self)
        self._build_status_bar()
        self.tabs.currentChanged.connect(self._on_page_changed)

        self.set_document(Document())
        self.resize(*DEFAULT_SIZE)
        self._restored_docks = restore_state and self._restore_window_state()
        if QGuiApplication.platformName() == "offscreen":
            # No window manager to take size hints; Qt would warn on every show.
            layout = self.layout()
            if layout is not None:
                layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)

    # --- pages -------------------------------------------------------------------------

    def _build_pages(self) -> None:
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)

        self.start_page = StartPage(self.settings.recent_files())
        self.start_page.template_chosen.connect(self.new_project)
        self.start_page.open_requested.connect(self.open_project_dialog)
        self.start_page.recent_chosen.connect(self.open_project)
        self.add_page("start", "Start", self.start_page)

        self.builder = ModelBuilder(self)
        self.canvas = self.builder.canvas
        self.layer_palette = self.builder.layer_palette
        self.inspector = self.builder.inspector
        self.summary = self.builder.summary
        self.palette_dock = self.builder.palette_dock
        self.inspector_dock = self.builder.inspector_dock
        self.summary_dock = self.builder.summary_dock
        self.add_page("model", "Model", self.builder)

        # The pages after Model, in tab order: a new page is one line here.
        self.data_controller = self._add_controller("data", "Data", DataController(self))
        self.train_controller = self._add_controller("train", "Train", TrainingController(self))
        self.evaluate_controller = self._add_controller(
            "evaluate", "Evaluate", EvaluateController(self)
        )
        self.export_controller = self._add_controller("export", "Export", ExportController(self))
        self.data_tab = self.data_controller.tab
        self.train_tab = self.train_controller.tab
        self.evaluate_tab = self.evaluate_controller.tab
        self.export_tab = self.export_controller.tab
        self.start_page.sample_chosen.connect(self.data_controller.open_sample)
        # The project's runs (ui/runs/): a view of the Train tab; make_panel() gives other
        # pages one of their own.
        self.runs_controller = RunsController(self)
        self.controllers.append(self.runs_controller)
        self.runs_controller.evaluate_requested.connect(self._open_in_evaluate)

    def _open_in_evaluate(self, run_id: str) -> None:
        """The Runs panel's "Open in Evaluate": the Evaluate tab on that run's test split."""
        if not self.evaluate_controller.show_run(run_id):
            self.show_status(f"Run {run_id} has no weights to evaluate", 8000)

    def _add_controller(self, key: str, title: str, controller: Controller) -> Controller:
        """Add ``controller``'s tab as page ``key``; it follows the document from now on."""
        self.add_page(key, title, controller.tab)
        self.controllers.append(controller)
        return controller

    def add_page(self, key: str, title: str, widget: QWidget) -> int:
        """Add a top-level page (tab) called ``title``; ``show_page(key)`` shows it."""
        self.pages[key] = widget
        return self.tabs.addTab(widget, title)

    def show_page(self, key: str) -> None:
        """Bring page ``key`` ("start", "model", …) to the front."""
        self.tabs.setCurrentWidget(self.pages[key])

    def show_runs(self) -> None:
        """View ▸ Runs: the project's runs, on the Train tab."""
        self.show_page("train")
        self.train_tab.show_runs_view(True)

    def current_page(self) -> str:
        """The key of the page in front."""
        current = self.tabs.currentWidget()
        return next((k for k, w in self.pages.items() if w is current), "")

    def _on_page_changed(self, index: int) -> None:
        self.menus.update_actions(self.document, self.current_page())
        if theme.is_dark():
            theme.restyle_plots(self.tabs.currentWidget())  # plots built since the switch
        if self.current_page() == "model":
            QTimer.singleShot(0, self._fit_if_pending)

    def fit_soon(self) -> None:
        """Fit the model in view once the Model page shows (a new model was opened)."""
        self._fit_pending = True
        QTimer.singleShot(0, self._fit_if_pending)

    def _fit_if_pending(self) -> None:
        if self._fit_pending and self.canvas.isVisible():
            self._fit_pending = False
            self.canvas.initial_view()

    # --- the document ------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Show ``document`` on every page (no questions asked; see ``open_project``)."""
        self.inspector.commit_pending()
        self.document.unsubscribe(self._on_document_changed)
        self.autosave.discard()
        self.document = document
        document.subscribe(self._on_document_changed)
        self.builder.set_document(document)
        self._on_document_changed(document)
        for controller in self.controllers:
            controller.set_document(document)

    def _on_document_changed(self, document: Document) -> None:
        self.setWindowTitle(window_title(document.name))
        self.setWindowModified(document.modified)
        self.menus.update_actions(document, self.current_page())
        self.update_stats()

    def _build_status_bar(self) -> None:
        self.stats_label = QLabel()
        self.stats_label.setObjectName("statsLabel")
        self.statusBar().addPermanentWidget(self.stats_label)
        self.statusBar().setSizeGripEnabled(True)
        # A run in progress shows itself here from every tab (and above the canvas).
        self.run_indicator = RunIndicator(self)

    def update_stats(self) -> None:
        """Show the model's layer, parameter and error counts in the status bar."""
        analysis = self.document.analysis
        errors = [issue.message for issue in analysis.errors]
        self.stats_label.setText(
            model_stats(len(self.document.graph), analysis.total_params, len(errors))
        )
        color = theme.ERROR if errors else theme.MUTED
        self.stats_label.setStyleSheet(f"color: {color};")
        self.stats_label.setToolTip(errors_tooltip(errors))

    def undo(self) -> bool:
        """Undo the last edit (Edit ▸ Undo), after the inspector's pending change."""
        self.inspector.commit_pending()
        return self.document.undo()

    def redo(self) -> bool:
        """Redo the last undone edit (Edit ▸ Redo)."""
        return self.document.redo()

    # --- files and datasets (see files.py and autosave.py) -----------------------------

    def new_project(self, template_name: str = "empty") -> bool:
        """Replace the document with a new project from a template (asks to save first)."""
        return self.files.new_project(template_name)

    def open_project(self, path: str | os.PathLike[str]) -> bool:
        """Open the project at ``path`` (asks to save changes first); False if not opened."""
        return self.files.open_project(path)

    def open_project_dialog(self) -> bool:
        """Ask for a project file and open it."""
        return self.files.open_project_dialog()

    def save_project(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Save to ``path``, the current file, or a file the user picks; False if not saved."""
        return self.files.save_project(path)

    def save_project_as(self) -> bool:
        """Ask for a new file name and save there."""
        return self.files.save_project_as()

    def autosave_now(self) -> Path | None:
        """Write an autosave copy if the document has unsaved changes; return its path."""
        return self.autosave.save_now()

    def offer_recovery(self) -> bool:
        """Offer to recover the newest autosave left by a crash; True if one was opened."""
        return self.autosave.offer_recovery()

    def import_dataset(self, path: str | os.PathLike[str]) -> Any:
        """Open the import dialog on ``path`` (without blocking); return the dialog."""
        return self.data_controller.import_path(path)

    def import_dataset_dialog(self, folder: bool = False) -> Any:
        """Ask for a dataset file (or image ``folder``) and open the import dialog on it."""
        path = self._ask_dataset_path(folder)
        return self.import_dataset(path) if path else None

    def set_theme(self, mode: str) -> None:
        """Switch to ``mode`` ("system", "light", "dark"), remember it, and redraw."""
        self.menus.set_theme(mode)

    # --- questions to the user (tests replace these) -----------------------------------

    def _ask_save_changes(self) -> SaveChoice:
        """Ask Save / Discard / Cancel about unsaved changes."""
        return questions.ask_save_changes(self, self.document.name)

    def _ask_recover(self, entry: dict[str, Any]) -> RecoverChoice:
        """Ask whether to recover an autosaved project left by a crash."""
        return questions.ask_recover(self, entry)

    def _ask_open_path(self) -> str | None:
        """Ask for a project file to open."""
        return questions.ask_open_path(self, self.settings.start_dir())

    def _ask_save_path(self) -> str | None:
        """Ask where to save the project."""
        return questions.ask_save_path(self, self.files.suggested_save_path())

    def _ask_stop_training(self) -> bool:
        """Ask whether to stop the training run so the window can close."""
        return questions.ask_stop_training(self)

    def _ask_dataset_path(self, folder: bool) -> str | None:
        """Ask for a dataset: an image folder (``folder``) or a table/array file."""
        return questions.ask_dataset_path(self, folder, self.settings.start_dir())

    def _ask_find_layer(self, choices: list[str]) -> str | None:
        """Ask which layer to find (typed or picked from the list)."""
        return questions.ask_find_layer(self, choices)

    def _ask_delete_runs(self, names: list[str]) -> bool:
        """Ask whether to delete these training runs and their folders."""
        return questions.ask_delete_runs(self, names)

    def show_error(self, title: str, message: str) -> None:
        """Tell the user something went wrong (one warning box)."""
        QMessageBox.warning(self, title, message)

    def show_status(self, message: str, timeout_ms: int = 6000) -> None:
        """Show ``message`` in the status bar for a while."""
        self.statusBar().showMessage(message, timeout_ms)

    # --- window state ------------------------------------------------------------------

    def _restore_window_state(self) -> bool:
        """Restore geometry and panels from the settings; True if the panels were restored."""
        geometry = _unb64(self.settings.get("window_geometry"))
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = _unb64(self.settings.get("builder_state"))
        return state is not None and self.builder.restoreState(state)

    def save_window_state(self) -> None:
        """Remember the window geometry and the panel layout in the settings."""
        self.settings.data["window_geometry"] = _b64(self.saveGeometry())
        self.settings.data["builder_state"] = _b64(self.builder.saveState())
        self.settings.save()

    # --- events ------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._restored_docks:
            self._restored_docks = True
            # Dock sizes only stick once the window has its real size.
            QTimer.singleShot(0, self.builder.default_dock_sizes)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt override
        super().paintEvent(event)
        if not self._painted:
            self._painted = True
            QTimer.singleShot(0, self.first_painted.emit)

    def event(self, event: QEvent) -> bool:
        # Some platforms paint only the children; count the first update as painted too.
        if not self._painted and event.type() == QEvent.Type.UpdateRequest:
            self._painted = True
            QTimer.singleShot(0, self.first_painted.emit)
        return super().event(event)

    def _close_again(self) -> None:
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        if self.train_controller.is_running():
            # Never wait for the worker here: stop it, and close again once its thread ended.
            event.ignore()
            if self.train_controller.is_stopping() or self._ask_stop_training():
                self.show_status("Stopping the training run before closing…", 0)
                self.train_controller.stop(then=self._close_again)
            return
        if self.evaluate_controller.is_evaluating():
            # An evaluation stops at its next batch: close again once its thread ended.
            event.ignore()
            self.show_status("Cancelling the evaluation before closing…", 0)
            self.evaluate_controller.cancel()
            self.evaluate_controller.when_idle(self._close_again)
            return
        if self.export_controller.is_exporting():
            # An export is not interrupted halfway: close again once its thread ended.
            event.ignore()
            self.show_status("Finishing the export before closing…", 0)
            self.export_controller.when_idle(self._close_again)
            return
        if not self.files.maybe_save():
            event.ignore()
            return
        self.save_window_state()
        for controller in self.controllers:
            controller.shutdown()
        self.autosave.stop()
        self.document.unsubscribe(self._on_document_changed)
        event.accept()
