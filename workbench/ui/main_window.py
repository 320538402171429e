"""The main window: pages (Start, Model, …), menus, files, autosave and recovery.

The window owns one :class:`~workbench.core.document.Document` and hands it to the
canvas, inspector and summary, which follow its changes themselves. Everything a
script or test wants is a plain method (``open_project``, ``new_project``,
``save_project``); every question to the user goes through one small method
(``_ask_save_changes``, ``_ask_recover``, ``_ask_open_path``, ``_ask_save_path``,
``show_error``) that tests replace.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any, Literal

from PySide6.QtCore import QByteArray, QEvent, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeySequence,
    QPaintEvent,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QInputDialog,
    QLabel,
    QLayout,
    QMainWindow,
    QMenu,
    QMessageBox,
    QTabWidget,
    QWidget,
)

from workbench.core.autosave import (
    autosave_file,
    find_autosaves,
    remove_autosave,
    slug,
    write_autosave,
)
from workbench.core.document import Document
from workbench.core.dropped import drop_hint, one_at_a_time_note, split_dropped
from workbench.core.graph import GraphError
from workbench.core.project import (
    SUFFIX,
    ProjectError,
    load_project,
)
from workbench.core.settings import Settings, autosave_dir
from workbench.core.templates import TEMPLATES, make_project
from workbench.core.text import (
    is_selection_status,
    model_stats,
    recent_label,
    selection_status,
    window_title,
)
from workbench.ui import theme
from workbench.ui.canvas import GraphCanvas
from workbench.ui.data_tab import DataController
from workbench.ui.export_tab import ExportController
from workbench.ui.inspector import Inspector
from workbench.ui.palette import LayerPalette
from workbench.ui.run_indicator import RunIndicator
from workbench.ui.start_page import StartPage
from workbench.ui.summary import SummaryPanel
from workbench.ui.train.controller import TrainingController
from workbench.ui.wheel import install_wheel_guard
from workbench.ui.workers import install_gui_garbage_collector

APP_TITLE = "Model Workbench"
AUTOSAVE_INTERVAL_MS = 60_000
DEFAULT_SIZE = (1280, 800)
SaveChoice = Literal["save", "discard", "cancel"]
RecoverChoice = Literal["recover", "discard", "later"]


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
        canvas, palette, inspector, summary: The builder's parts.
        start_page: The Start tab.
        settings: User settings (recent files, window state).
        last_dropped_paths: Files or folders other than projects dropped last.
    """

    #: Files or folders (not projects) dropped on the window; later issues import them.
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
        self._autosave_path: Path | None = None
        self._session_key = uuid.uuid4().hex[:12]
        self._painted = False
        self._fit_pending = False

        self.setAcceptDrops(True)
        self.drop_overlay: QLabel | None = None
        self._build_pages()
        self._build_actions()
        self._build_menus()
        self._build_status_bar()

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.autosave_timer.timeout.connect(self.autosave_now)
        self.autosave_timer.start()

        self.set_document(Document())
        self.resize(*DEFAULT_SIZE)
        self._restored_docks = restore_state and self._restore_window_state()
        if QGuiApplication.platformName() == "offscreen":
            # No window manager to take size hints; Qt would warn on every show.
            layout = self.layout()
            if layout is not None:
                layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)

    # --- construction ------------------------------------------------------------------

    def _build_pages(self) -> None:
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("mainTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.currentChanged.connect(self._on_page_changed)
        self.setCentralWidget(self.tabs)

        self.start_page = StartPage(self.settings.recent_files())
        self.start_page.template_chosen.connect(self.new_project)
        self.start_page.open_requested.connect(self.open_project_dialog)
        self.start_page.recent_chosen.connect(self.open_project)

        # The builder is a main window of its own inside the Model tab, so its docks
        # belong to that page and other pages (Data, Train, …) get the full width.
        self.builder = QMainWindow()
        self.builder.setObjectName("builder")
        self.builder.setWindowFlags(Qt.WindowType.Widget)
        self.builder.setDockNestingEnabled(True)
        self.builder.setCorner(Qt.Corner.BottomLeftCorner, Qt.DockWidgetArea.LeftDockWidgetArea)
        self.builder.setCorner(Qt.Corner.BottomRightCorner, Qt.DockWidgetArea.RightDockWidgetArea)
        self.canvas = GraphCanvas()
        self.builder.setCentralWidget(self.canvas)
        self.layer_palette = LayerPalette()
        self.inspector = Inspector()
        self.summary = SummaryPanel()
        self.palette_dock = self._dock(
            "Layers", "paletteDock", self.layer_palette, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.inspector_dock = self._dock(
            "Inspector", "inspectorDock", self.inspector, Qt.DockWidgetArea.RightDockWidgetArea
        )
        # Inspector above summary on the right leaves the canvas the full height,
        # which tall models (one row per layer) need to stay readable.
        self.summary_dock = self._dock(
            "Summary", "summaryDock", self.summary, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.builder.splitDockWidget(
            self.inspector_dock, self.summary_dock, Qt.Orientation.Vertical
        )

        self.canvas.selection_changed.connect(self._on_selection_changed)
        self.canvas.status_message.connect(self.show_status)
        self.layer_palette.layer_activated.connect(self.add_layer_at_center)
        self.summary.node_clicked.connect(self._on_summary_clicked)

        self.add_page("start", "Start", self.start_page)
        self.add_page("model", "Model", self.builder)

        # --- datasets (issue 3): the Data tab and its controller ---
        self.data_controller = DataController(self)
        self.data_tab = self.data_controller.tab
        self.start_page.sample_chosen.connect(self.data_controller.open_sample)
        self.add_page("data", "Data", self.data_tab)

        # --- training (issue 4): the Train tab and its controller ---
        self.train_controller = TrainingController(self)
        self.train_tab = self.train_controller.tab
        self.add_page("train", "Train", self.train_tab)

        # --- export and serving (issue 5): the Export tab and its controller ---
        self.export_controller = ExportController(self)
        self.export_tab = self.export_controller.tab
        self.add_page("export", "Export", self.export_tab)

    def _dock(self, title: str, name: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self.builder)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
        )
        self.builder.addDockWidget(area, dock)
        return dock

    def _default_dock_sizes(self) -> None:
        self.builder.resizeDocks(
            [self.palette_dock, self.inspector_dock], [220, 390], Qt.Orientation.Horizontal
        )
        self.builder.resizeDocks(
            [self.inspector_dock, self.summary_dock], [380, 320], Qt.Orientation.Vertical
        )

    def add_page(self, key: str, title: str, widget: QWidget) -> int:
        """Add a top-level page (tab) called ``title``; ``show_page(key)`` shows it."""
        self.pages[key] = widget
        return self.tabs.addTab(widget, title)

    def show_page(self, key: str) -> None:
        """Bring page ``key`` ("start", "model", …) to the front."""
        self.tabs.setCurrentWidget(self.pages[key])

    def current_page(self) -> str:
        """The key of the page in front."""
        current = self.tabs.currentWidget()
        return next((k for k, w in self.pages.items() if w is current), "")

    def _action(
        self,
        text: str,
        slot: Any,
        shortcut: QKeySequence.StandardKey | str | list[Any] | None = None,
        tip: str = "",
    ) -> QAction:
        act = QAction(text, self)
        if isinstance(shortcut, list):
            act.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(lambda _=False: slot())
        self.addAction(act)
        return act

    def _build_actions(self) -> None:
        SK = QKeySequence.StandardKey
        self.new_action = self._action(
            "&New…", lambda: self.show_page("start"), SK.New, "Start a new model from a template"
        )
        self.open_action = self._action(
            "&Open…", self.open_project_dialog, SK.Open, "Open a project file"
        )
        self.save_action = self._action("&Save", self.save_project, SK.Save, "Save the project")
        self.save_as_action = self._action(
            "Save &As…", self.save_project_as, "Ctrl+Shift+S", "Save the project under a new name"
        )
        self.import_action = self._action(
            "&Import Dataset…",
            lambda: self.import_dataset_dialog(folder=False),
            "Ctrl+I",
            "Import a CSV, TSV, Parquet, NPZ or NPY dataset",
        )
        self.import_folder_action = self._action(
            "Import Image &Folder…",
            lambda: self.import_dataset_dialog(folder=True),
            "Ctrl+Shift+I",
            "Import a folder of images with one subfolder per class",
        )
        self.quit_action = self._action("&Quit", self.close, "Ctrl+Q", "Quit Model Workbench")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.undo_action = self._action("&Undo", self.undo, SK.Undo)
        self.redo_action = self._action("&Redo", self.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.cut_action = self._action("Cu&t", self.cut, SK.Cut, "Cut the selected layers")
        self.copy_action = self._action(
            "&Copy", self.canvas.copy_selected, SK.Copy, "Copy the selected layers"
        )
        self.paste_action = self._action("&Paste", self.canvas.paste, SK.Paste, "Paste layers")
        self.delete_action = self._action(
            "&Delete", self.canvas.delete_selected, SK.Delete, "Delete the selection"
        )
        self.select_all_action = self._action("Select &All", self.canvas.select_all, SK.SelectAll)

        self.fit_action = self._action(
            "&Fit to View", self.canvas.fit_to_view, "Ctrl+Shift+F", "Show the whole model"
        )
        self.layout_action = self._action(
            "&Auto-layout", self.canvas.auto_layout, "Ctrl+L", "Arrange the layers top to bottom"
        )
        self.zoom_in_action = self._action(
            "Zoom &In", self.canvas.zoom_in, [QKeySequence.StandardKey.ZoomIn, "Ctrl+="]
        )
        self.zoom_out_action = self._action("Zoom &Out", self.canvas.zoom_out, SK.ZoomOut)
        self.reset_zoom_action = self._action("&Reset Zoom", self.canvas.reset_zoom, "Ctrl+0")
        self.find_layer_action = self._action(
            "Find &Layer…",
            self.find_layer_dialog,
            SK.Find,
            "Select a layer on the canvas and scroll to it",
        )
        self.search_layers_action = self._action(
            "&Search Layers to Add…",
            self._focus_palette_search,
            "Ctrl+K",
            "Search the layer palette",
        )
        self._canvas_actions = [
            self.cut_action,
            self.copy_action,
            self.paste_action,
            self.delete_action,
            self.select_all_action,
            self.fit_action,
            self.layout_action,
            self.zoom_in_action,
            self.zoom_out_action,
            self.reset_zoom_action,
        ]

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.new_action)
        self.template_menu = file_menu.addMenu("New from &Template")
        for t in TEMPLATES.values():
            act = self.template_menu.addAction(t.title)
            act.setStatusTip(t.summary)
            act.triggered.connect(lambda _=False, n=t.name: self.new_project(n))
        file_menu.addSeparator()
        file_menu.addAction(self.open_action)
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self._fill_recent_menu()
        file_menu.addSeparator()
        file_menu.addAction(self.save_action)
        file_menu.addAction(self.save_as_action)
        file_menu.addSeparator()
        file_menu.addAction(self.import_action)
        file_menu.addAction(self.import_folder_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        self.file_menu = file_menu

        edit = bar.addMenu("&Edit")
        for act in (self.undo_action, self.redo_action):
            edit.addAction(act)
        edit.addSeparator()
        for act in (self.cut_action, self.copy_action, self.paste_action, self.delete_action):
            edit.addAction(act)
        edit.addSeparator()
        edit.addAction(self.select_all_action)
        self.edit_menu = edit

        view = bar.addMenu("&View")
        for act in (self.fit_action, self.layout_action):
            view.addAction(act)
        view.addSeparator()
        for act in (self.zoom_in_action, self.zoom_out_action, self.reset_zoom_action):
            view.addAction(act)
        view.addSeparator()
        view.addAction(self.find_layer_action)
        view.addAction(self.search_layers_action)
        panels = view.addMenu("&Panels")
        for dock, key in (
            (self.palette_dock, "Ctrl+Shift+1"),
            (self.inspector_dock, "Ctrl+Shift+2"),
            (self.summary_dock, "Ctrl+Shift+3"),
        ):
            act = dock.toggleViewAction()
            act.setShortcut(QKeySequence(key))
            panels.addAction(act)
        panels.addSeparator()
        panels.addAction("Reset Panel Layout", self.reset_layout)
        self.view_menu = view
        self._build_theme_menu(view)
        self._build_help_menu()

    def _build_status_bar(self) -> None:
        self.stats_label = QLabel()
        self.stats_label.setObjectName("statsLabel")
        self.statusBar().addPermanentWidget(self.stats_label)
        self.statusBar().setSizeGripEnabled(True)
        # A run in progress shows itself here from every tab (and above the canvas).
        self.run_indicator = RunIndicator(self)

    # --- document ----------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Show ``document`` in every panel (no questions asked; see ``open_project``)."""
        self.inspector.commit_pending()
        old = self.document
        old.unsubscribe(self._on_document_changed)
        self._discard_autosave()
        self.document = document
        document.subscribe(self._on_document_changed)
        self.canvas.set_document(document)
        self.inspector.set_document(document)
        self.summary.set_document(document)
        self._on_selection_changed(self.canvas.selected_node_ids())
        self._on_document_changed(document)
        self.data_controller.set_document(document)
        self.train_controller.set_document(document)
        self.export_controller.set_document(document)

    def _on_document_changed(self, document: Document) -> None:
        self._update_title()
        self._update_actions()
        self._update_stats()

    def _update_title(self) -> None:
        self.setWindowTitle(window_title(self.document.name))
        self.setWindowModified(self.document.modified)

    def _update_actions(self) -> None:
        doc = self.document
        self.undo_action.setEnabled(doc.can_undo())
        self.undo_action.setText(f"&Undo {doc.undo_label()}" if doc.can_undo() else "&Undo")
        self.redo_action.setEnabled(doc.can_redo())
        self.redo_action.setText(f"&Redo {doc.redo_label()}" if doc.can_redo() else "&Redo")
        on_model = self.current_page() == "model"
        for act in self._canvas_actions:
            act.setEnabled(on_model)

    def _update_stats(self) -> None:
        doc = self.document
        a = doc.analysis
        n = len(doc.graph)
        errors = len(a.errors)
        self.stats_label.setText(model_stats(n, a.total_params, errors))
        color = theme.ERROR if errors else theme.MUTED
        self.stats_label.setStyleSheet(f"color: {color};")
        self.stats_label.setToolTip(
            "\n".join(i.message for i in a.errors) or "The model has no errors"
        )

    def _on_selection_changed(self, ids: list[str]) -> None:
        self.inspector.set_selection(list(ids))
        self.summary.set_selection(list(ids))
        types = {nid: node.type for nid, node in self.document.graph.nodes.items()}
        message = selection_status(ids, types)
        if message:
            self.show_status(message, 0)
        elif is_selection_status(self.statusBar().currentMessage()):
            self.statusBar().clearMessage()

    def _on_summary_clicked(self, node_id: str) -> None:
        self.canvas.select_nodes([node_id])
        self.canvas.center_on_node(node_id)

    def _on_page_changed(self, index: int) -> None:
        if hasattr(self, "undo_action"):
            self._update_actions()
        if theme.is_dark():
            theme.restyle_plots(self.tabs.currentWidget())  # plots built since the switch
        if self.current_page() == "model":
            QTimer.singleShot(0, self._fit_if_pending)

    def _fit_if_pending(self) -> None:
        if self._fit_pending and self.canvas.isVisible():
            self._fit_pending = False
            self.canvas.initial_view()

    def _fit_soon(self) -> None:
        self._fit_pending = True
        QTimer.singleShot(0, self._fit_if_pending)

    # --- edits -------------------------------------------------------------------------

    def undo(self) -> bool:
        """Undo the last edit (Edit ▸ Undo)."""
        self.inspector.commit_pending()
        return self.document.undo()

    def redo(self) -> bool:
        """Redo the last undone edit (Edit ▸ Redo)."""
        return self.document.redo()

    def cut(self) -> None:
        """Copy the selected layers, then delete them."""
        self.canvas.copy_selected()
        self.canvas.delete_selected()

    def add_layer_at_center(self, type_name: str) -> str:
        """Add a ``type_name`` layer in the middle of the canvas view; return its id."""
        self.show_page("model")
        center = self.canvas.mapToScene(self.canvas.viewport().rect().center())
        # On the free spot nearest the middle, so a new layer never hides another.
        node_id = self.canvas.add_node_near(type_name, QPointF(center))
        if node_id:
            self.canvas.setFocus()
        return node_id

    def _focus_palette_search(self) -> None:
        self.show_page("model")
        self.palette_dock.show()
        self.palette_dock.raise_()
        self.layer_palette.search.setFocus()
        self.layer_palette.search.selectAll()

    def reset_layout(self) -> None:
        """Put the builder's panels back where they start."""
        for dock, area in (
            (self.palette_dock, Qt.DockWidgetArea.LeftDockWidgetArea),
            (self.inspector_dock, Qt.DockWidgetArea.RightDockWidgetArea),
            (self.summary_dock, Qt.DockWidgetArea.RightDockWidgetArea),
        ):
            dock.setFloating(False)
            self.builder.addDockWidget(area, dock)
            dock.show()
        self.builder.splitDockWidget(
            self.inspector_dock, self.summary_dock, Qt.Orientation.Vertical
        )
        self._default_dock_sizes()

    # --- files -------------------------------------------------------------------------

    def new_project(self, template_name: str = "empty") -> bool:
        """Replace the document with a new project from a template (asks to save first)."""
        try:
            project = make_project(template_name)
        except KeyError as e:
            self.show_error("Unknown template", str(e.args[0]))
            return False
        except GraphError as e:
            self.show_error(
                "Cannot create the model", f"The template '{template_name}' is not available: {e}"
            )
            return False
        if not self._maybe_save():
            return False
        self.set_document(Document(project))
        self.show_page("model")
        self._fit_soon()
        self.show_status(f"New model from “{TEMPLATES[template_name].title}”")
        return True

    def open_project(self, path: str | os.PathLike[str]) -> bool:
        """Open the project at ``path`` (asks to save changes first); False if not opened."""
        if not self._maybe_save():
            return False
        from workbench.engine.runs import settle_quietly  # file reads only: no torch

        settle_quietly(
            path
        )  # a run killed before its first checkpoint is shown failed, not running
        try:
            document = Document.open(path)
        except ProjectError as e:
            self.show_error("Cannot open the project", str(e))
            return False
        self.set_document(document)
        self._remember(document.path)
        self.show_page("model")
        self._fit_soon()
        self.show_status(f"Opened {document.path}")
        return True

    def open_project_dialog(self) -> bool:
        """Ask for a project file and open it."""
        path = self._ask_open_path()
        return self.open_project(path) if path else False

    def save_project(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Save to ``path``, the current file, or a file the user picks; False if not saved."""
        self.inspector.commit_pending()
        if path is None and self.document.path is None:
            path = self._ask_save_path()
            if not path:
                return False
        if path is not None:
            path = Path(path)
            if not path.suffix:
                path = path.with_suffix(SUFFIX)
        # A dataset path is stored relative to the project file: follow a new location.
        self.data_controller.rebase_dataset_path(path or self.document.path)
        try:
            self.document.save(path)
        except ProjectError as e:
            self.show_error("Cannot save the project", str(e))
            return False
        self._discard_autosave()
        self._remember(self.document.path)
        self.show_status(f"Saved {self.document.path}")
        return True

    def save_project_as(self) -> bool:
        """Ask for a new file name and save there."""
        path = self._ask_save_path()
        return bool(path) and self.save_project(path)

    def _remember(self, path: Path | None) -> None:
        if path is None:
            return
        self.settings.remember_project(path)
        self.start_page.set_recent(self.settings.recent_files())

    def _fill_recent_menu(self) -> None:
        menu: QMenu = self.recent_menu
        menu.clear()
        recent = self.settings.recent_files()
        for p in recent:
            act = menu.addAction(recent_label(p))
            act.setToolTip(p)
            act.triggered.connect(lambda _=False, s=p: self.open_project(s))
        if not recent:
            empty = menu.addAction("No recent projects")
            empty.setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear Recent Projects", self._clear_recent)

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self.start_page.set_recent([])

    def _maybe_save(self) -> bool:
        """Ask whether to save unsaved changes; True when it is fine to go on."""
        self.inspector.commit_pending()
        if not self.document.modified:
            return True
        choice = self._ask_save_changes()
        if choice == "save":
            return self.save_project()
        return choice == "discard"

    # --- questions to the user (tests replace these) -----------------------------------

    def _ask_save_changes(self) -> SaveChoice:
        """Ask Save / Discard / Cancel about unsaved changes."""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(APP_TITLE)
        box.setText(f"Save the changes to “{self.document.name}”?")
        box.setInformativeText("Your changes will be lost if you don't save them.")
        box.setStandardButtons(
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        if answer == QMessageBox.StandardButton.Save:
            return "save"
        if answer == QMessageBox.StandardButton.Discard:
            return "discard"
        return "cancel"

    def _ask_recover(self, entry: dict[str, Any]) -> RecoverChoice:
        """Ask whether to recover an autosaved project left by a crash."""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry["saved_at"]))
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Recover unsaved work")
        box.setText(f"Model Workbench closed without saving “{entry['name']}”.")
        box.setInformativeText(f"An autosaved copy from {when} was found. Recover it?")
        recover = box.addButton("Recover", QMessageBox.ButtonRole.AcceptRole)
        discard = box.addButton("Discard", QMessageBox.ButtonRole.DestructiveRole)
        box.addButton("Later", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(recover)
        box.exec()
        clicked = box.clickedButton()
        if clicked is recover:
            return "recover"
        if clicked is discard:
            return "discard"
        return "later"

    def _ask_open_path(self) -> str | None:
        """Ask for a project file to open."""
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open project",
            self._start_dir(),
            f"Model Workbench projects (*{SUFFIX});;All files (*)",
        )
        return path or None

    def _ask_save_path(self) -> str | None:
        """Ask where to save the project."""
        base = self.document.path or Path(self._start_dir()) / f"{slug(self.document.name)}{SUFFIX}"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save project", str(base), f"Model Workbench projects (*{SUFFIX})"
        )
        if not path:
            return None
        return path if Path(path).suffix else path + SUFFIX

    def _ask_stop_training(self) -> bool:
        """Ask whether to stop the training run so the window can close."""
        answer = QMessageBox.question(
            self,
            APP_TITLE,
            "A model is training. Stop the run and close?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _ask_dataset_path(self, folder: bool) -> str | None:
        """Ask for a dataset: an image folder (``folder``) or a table/array file."""
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Import image folder", self._start_dir())
        else:
            path, _ = QFileDialog.getOpenFileName(
                self,
                "Import dataset",
                self._start_dir(),
                "Datasets (*.csv *.tsv *.txt *.parquet *.npz *.npy);;All files (*)",
            )
        return path or None

    def _start_dir(self) -> str:
        return self.settings.start_dir()

    def show_error(self, title: str, message: str) -> None:
        """Tell the user something went wrong (one warning box)."""
        QMessageBox.warning(self, title, message)

    def show_status(self, message: str, timeout_ms: int = 6000) -> None:
        """Show ``message`` in the status bar for a while."""
        self.statusBar().showMessage(message, timeout_ms)

    # --- autosave and recovery ---------------------------------------------------------

    @property
    def autosave_interval_ms(self) -> int:
        """How often a modified project is autosaved."""
        return self.autosave_timer.interval()

    @autosave_interval_ms.setter
    def autosave_interval_ms(self, ms: int) -> None:
        self.autosave_timer.setInterval(int(ms))

    def autosave_path(self) -> Path:
        """Where the current document is autosaved."""
        doc = self.document
        return autosave_file(autosave_dir(), doc.name, doc.path, self._session_key)

    def autosave_now(self) -> Path | None:
        """Write an autosave copy if the document has unsaved changes; return its path."""
        doc = self.document
        if not doc.modified:
            return None
        path = self.autosave_path()
        try:
            write_autosave(doc.project, path, doc.name, doc.path)
        except (OSError, ProjectError) as e:
            self.show_status(f"Autosave failed: {e}")
            return None
        if self._autosave_path is not None and self._autosave_path != path:
            remove_autosave(self._autosave_path)
        self._autosave_path = path
        return path

    def _discard_autosave(self) -> None:
        if self._autosave_path is not None:
            remove_autosave(self._autosave_path)
            self._autosave_path = None

    def find_autosaves(self) -> list[dict[str, Any]]:
        """Autosaves left by earlier sessions, newest first."""
        return find_autosaves(autosave_dir(), skip=self._autosave_path)

    def offer_recovery(self) -> bool:
        """Offer to recover the newest autosave left by a crash; True if one was opened."""
        entries = self.find_autosaves()
        if not entries:
            return False
        entry = entries[0]
        choice = self._ask_recover(entry)
        if choice == "discard":
            remove_autosave(entry["path"])
            return False
        if choice != "recover" or not self._maybe_save():
            return False
        try:
            project = load_project(entry["path"])
        except ProjectError as e:
            self.show_error("Cannot recover the project", str(e))
            return False
        document = Document(project, entry["original_path"])
        self.set_document(document)
        document.mark_modified()
        # Keep the recovered copy until the next autosave replaces it or a save removes it.
        self._autosave_path = entry["path"]
        self.autosave_now()
        self.show_page("model")
        self._fit_soon()
        self.show_status(f"Recovered “{entry['name']}” — save it to keep the changes")
        return True

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

    # --- drops -------------------------------------------------------------------------

    @staticmethod
    def _local_paths(event: QDropEvent | QDragEnterEvent | QDragMoveEvent) -> list[str]:
        mime = event.mimeData()
        if not mime.hasUrls():
            return []
        return [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        paths = self._local_paths(event)
        if paths:
            event.acceptProposedAction()
            self._show_drop_overlay(paths)
        else:
            event.ignore()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802 - Qt override
        self._hide_drop_overlay()
        super().dragLeaveEvent(event)

    def _show_drop_overlay(self, paths: list[str]) -> None:
        """Cover the window with "Drop to import …" while files are dragged over it."""
        if self.drop_overlay is None:
            overlay = QLabel(self)
            overlay.setObjectName("dropOverlay")
            overlay.setAlignment(Qt.AlignmentFlag.AlignCenter)
            overlay.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            overlay.setWordWrap(True)
            self.drop_overlay = overlay
        overlay = self.drop_overlay
        overlay.setText(drop_hint(paths))
        tint = theme.HOVER_TINT
        overlay.setStyleSheet(
            f"QLabel#dropOverlay {{ background: {tint}; color: {theme.ACCENT}; font-size: 18pt;"
            f" font-weight: 600; border: 3px dashed {theme.ACCENT}; border-radius: 14px; }}"
        )
        overlay.setGeometry(self.rect().adjusted(12, 12, -12, -12))
        overlay.raise_()
        overlay.show()

    def _hide_drop_overlay(self) -> None:
        if self.drop_overlay is not None:
            self.drop_overlay.hide()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt override
        if self._local_paths(event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        self._hide_drop_overlay()
        paths = self._local_paths(event)
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        # Opening may ask questions: do it after the drop has finished.
        QTimer.singleShot(0, lambda: self.handle_dropped_paths(paths))

    def handle_dropped_paths(self, paths: list[str]) -> None:
        """Open a dropped project; import another dropped file or folder as a dataset."""
        projects, others = split_dropped(paths)
        if projects:
            self.open_project(projects[0])
        if others:
            self.last_dropped_paths = others
            self.paths_dropped.emit(others)
            if not projects:
                self.import_dataset(others[0])
                note = one_at_a_time_note(others)
                if note:
                    self.show_status(note, 10000)

    # --- help and theme ----------------------------------------------------------------

    def _build_help_menu(self) -> None:
        menu = self.menuBar().addMenu("&Help")
        self.user_guide_action = menu.addAction("&User Guide", self.show_user_guide)
        self.user_guide_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.shortcuts_action = menu.addAction("&Keyboard Shortcuts", self.show_shortcuts)
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        menu.addSeparator()
        self.about_action = menu.addAction("&About Model Workbench", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.help_menu = menu

    def show_about(self) -> QWidget:
        """Help ▸ About: version, licence, Qt/PyTorch/ONNX Runtime versions (non-blocking)."""
        from workbench.ui.help import AboutDialog

        return self._open_dialog(AboutDialog(self))

    def show_shortcuts(self) -> QWidget:
        """Help ▸ Keyboard Shortcuts, generated from the menus' actions."""
        from workbench.ui.help import ShortcutsDialog

        return self._open_dialog(ShortcutsDialog(self.menuBar(), self))

    def show_user_guide(self) -> QWidget:
        """Help ▸ User Guide, the Markdown guide shipped in the package."""
        from workbench.ui.help import UserGuideDialog

        return self._open_dialog(UserGuideDialog(self))

    def _open_dialog(self, dialog: QWidget) -> QWidget:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        return dialog

    def _build_theme_menu(self, view: QMenu) -> None:
        view.addSeparator()
        menu = view.addMenu("&Theme")
        group = QActionGroup(self)
        group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for mode, text in (("system", "&System"), ("light", "&Light"), ("dark", "&Dark")):
            act = menu.addAction(text)
            act.setCheckable(True)
            act.setStatusTip(
                "Follow the system's light or dark setting"
                if mode == "system"
                else f"Always use the {mode} look"
            )
            group.addAction(act)
            act.triggered.connect(lambda _=False, m=mode: self.set_theme(m))
            self.theme_actions[mode] = act
        self.theme_menu = menu
        self.theme_actions.get(self.theme_mode(), self.theme_actions["system"]).setChecked(True)
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_system_scheme_changed)

    def theme_mode(self) -> str:
        """The chosen theme: "system", "light" or "dark" (kept in the settings)."""
        mode = self.settings.get("theme", "system")
        return mode if mode in theme.MODES else "system"

    def set_theme(self, mode: str) -> None:
        """Switch to ``mode`` ("system", "light", "dark"), remember it, and redraw."""
        if mode not in theme.MODES:
            raise ValueError(f"unknown theme '{mode}'")
        self.settings.set("theme", mode)
        self.theme_actions[mode].setChecked(True)
        self._apply_theme()

    def _apply_theme(self) -> None:
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        theme.apply_theme(app, self.theme_mode())
        self.canvas.restyle()
        self._update_stats()

    def _on_system_scheme_changed(self, *_: Any) -> None:
        if self.theme_mode() == "system":
            self._apply_theme()

    # --- finding layers ----------------------------------------------------------------

    def find_layer_dialog(self) -> str:
        """View ▸ Find Layer: ask for a layer and select and centre it on the canvas."""
        self.show_page("model")
        choices = [f"{n.id} — {n.type}" for n in self.document.graph]
        if not choices:
            self.show_status("The model has no layers yet", 6000)
            return ""
        text = self._ask_find_layer(choices)
        if not text:
            return ""
        return self.canvas.find_node(text.split(" — ")[0])

    def _ask_find_layer(self, choices: list[str]) -> str | None:
        """Ask which layer to find (typed or picked from the list)."""
        text, ok = QInputDialog.getItem(
            self, "Find Layer", "Layer (name or type):", choices, 0, True
        )
        return text if ok and text else None

    # --- datasets ----------------------------------------------------------------------

    def import_dataset(self, path: str | os.PathLike[str]) -> Any:
        """Open the import dialog on ``path`` (without blocking); return the dialog."""
        return self.data_controller.import_path(path)

    def import_dataset_dialog(self, folder: bool = False) -> Any:
        """Ask for a dataset file (or image ``folder``) and open the import dialog on it."""
        path = self._ask_dataset_path(folder)
        return self.import_dataset(path) if path else None

    # --- events ------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if not self._restored_docks:
            self._restored_docks = True
            # Dock sizes only stick once the window has its real size.
            QTimer.singleShot(0, self._default_dock_sizes)

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
        if self.export_controller.is_exporting():
            # An export is not interrupted halfway: close again once its thread ended.
            event.ignore()
            self.show_status("Finishing the export before closing…", 0)
            self.export_controller.when_idle(self._close_again)
            return
        if not self._maybe_save():
            event.ignore()
            return
        self.save_window_state()
        self.data_controller.shutdown()
        self.train_controller.shutdown()
        self.export_controller.shutdown()
        self.autosave_timer.stop()
        self._discard_autosave()
        self.document.unsubscribe(self._on_document_changed)
        event.accept()
