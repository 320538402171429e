"""The window's actions and menu bar: File, Edit, View (with Panels and Theme) and Help.

Each action calls one method of the window or of one of its parts; the menus only arrange
them. The Theme menu and the Help dialogs are small enough to live here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu, QWidget

from workbench.core.templates import TEMPLATES
from workbench.core.text import history_action_text, recent_label
from workbench.ui import theme

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.ui.window.main import MainWindow

Shortcut = QKeySequence.StandardKey | str | list[Any] | None
SK = QKeySequence.StandardKey

#: The Panels menu's shortcuts, in the order of ModelBuilder.docks().
PANEL_SHORTCUTS = ("Ctrl+Shift+1", "Ctrl+Shift+2", "Ctrl+Shift+3")
#: View ▸ Theme's choices: (mode, menu text).
THEMES = (("system", "&System"), ("light", "&Light"), ("dark", "&Dark"))


class WindowMenus(QObject):
    """The window's actions and menus; see the module docstring.

    Attributes:
        file_menu, edit_menu, view_menu, help_menu, theme_menu, recent_menu, template_menu:
            The menus.
        theme_actions: View ▸ Theme's actions by mode ("system", "light", "dark").
        canvas_actions: The actions that work on the canvas (enabled on the Model page only).
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self._build_actions()
        self._build_file_menu()
        self._build_edit_menu()
        self._build_view_menu()
        self._build_help_menu()

    def _action(
        self, text: str, slot: Callable[[], Any], shortcut: Shortcut = None, tip: str = ""
    ) -> QAction:
        act = QAction(text, self.window)
        if isinstance(shortcut, list):
            act.setShortcuts([QKeySequence(s) for s in shortcut])
        elif shortcut is not None:
            act.setShortcut(QKeySequence(shortcut))
        if tip:
            act.setStatusTip(tip)
        act.triggered.connect(lambda _=False: slot())
        self.window.addAction(act)
        return act

    def _build_actions(self) -> None:
        w = self.window
        builder = w.builder
        canvas = builder.canvas
        self.new_action = self._action(
            "&New…", lambda: w.show_page("start"), SK.New, "Start a new model from a template"
        )
        self.open_action = self._action(
            "&Open…", w.open_project_dialog, SK.Open, "Open a project file"
        )
        self.save_action = self._action("&Save", w.save_project, SK.Save, "Save the project")
        self.save_as_action = self._action(
            "Save &As…", w.save_project_as, "Ctrl+Shift+S", "Save the project under a new name"
        )
        self.import_action = self._action(
            "&Import Dataset…",
            lambda: w.import_dataset_dialog(folder=False),
            "Ctrl+I",
            "Import a CSV, TSV, Parquet, NPZ or NPY dataset",
        )
        self.import_folder_action = self._action(
            "Import Image &Folder…",
            lambda: w.import_dataset_dialog(folder=True),
            "Ctrl+Shift+I",
            "Import a folder of images with one subfolder per class",
        )
        self.quit_action = self._action("&Quit", w.close, "Ctrl+Q", "Quit Model Workbench")
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        self.undo_action = self._action("&Undo", w.undo, SK.Undo)
        self.redo_action = self._action("&Redo", w.redo, ["Ctrl+Shift+Z", "Ctrl+Y"])
        self.cut_action = self._action("Cu&t", builder.cut, SK.Cut, "Cut the selected layers")
        self.copy_action = self._action(
            "&Copy", canvas.copy_selected, SK.Copy, "Copy the selected layers"
        )
        self.paste_action = self._action("&Paste", canvas.paste, SK.Paste, "Paste layers")
        self.delete_action = self._action(
            "&Delete", canvas.delete_selected, SK.Delete, "Delete the selection"
        )
        self.select_all_action = self._action("Select &All", canvas.select_all, SK.SelectAll)

        self.fit_action = self._action(
            "&Fit to View", canvas.fit_to_view, "Ctrl+Shift+F", "Show the whole model"
        )
        self.layout_action = self._action(
            "&Auto-layout", canvas.auto_layout, "Ctrl+L", "Arrange the layers top to bottom"
        )
        self.zoom_in_action = self._action("Zoom &In", canvas.zoom_in, [SK.ZoomIn, "Ctrl+="])
        self.zoom_out_action = self._action("Zoom &Out", canvas.zoom_out, SK.ZoomOut)
        self.reset_zoom_action = self._action("&Reset Zoom", canvas.reset_zoom, "Ctrl+0")
        self.find_layer_action = self._action(
            "Find &Layer…",
            builder.find_layer_dialog,
            SK.Find,
            "Select a layer on the canvas and scroll to it",
        )
        self.search_layers_action = self._action(
            "&Search Layers to Add…",
            builder.focus_palette_search,
            "Ctrl+K",
            "Search the layer palette",
        )
        self.runs_action = self._action(
            "R&uns",
            w.show_runs,
            "Ctrl+Shift+R",
            "Compare the project's training runs (on the Train tab)",
        )
        self.canvas_actions = [
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

    # --- the menus --------------------------------------------------------------------------

    def _build_file_menu(self) -> None:
        w = self.window
        menu = w.menuBar().addMenu("&File")
        menu.addAction(self.new_action)
        self.template_menu = menu.addMenu("New from &Template")
        for t in TEMPLATES.values():
            act = self.template_menu.addAction(t.title)
            act.setStatusTip(t.summary)
            act.triggered.connect(lambda _=False, n=t.name: w.new_project(n))
        menu.addSeparator()
        menu.addAction(self.open_action)
        self.recent_menu = menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self.fill_recent_menu)
        self.fill_recent_menu()
        menu.addSeparator()
        menu.addAction(self.save_action)
        menu.addAction(self.save_as_action)
        menu.addSeparator()
        menu.addAction(self.import_action)
        menu.addAction(self.import_folder_action)
        menu.addSeparator()
        menu.addAction(self.quit_action)
        self.file_menu = menu

    def _build_edit_menu(self) -> None:
        menu = self.window.menuBar().addMenu("&Edit")
        for act in (self.undo_action, self.redo_action):
            menu.addAction(act)
        menu.addSeparator()
        for act in (self.cut_action, self.copy_action, self.paste_action, self.delete_action):
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction(self.select_all_action)
        self.edit_menu = menu

    def _build_view_menu(self) -> None:
        builder = self.window.builder
        menu = self.window.menuBar().addMenu("&View")
        for act in (self.fit_action, self.layout_action):
            menu.addAction(act)
        menu.addSeparator()
        for act in (self.zoom_in_action, self.zoom_out_action, self.reset_zoom_action):
            menu.addAction(act)
        menu.addSeparator()
        menu.addAction(self.find_layer_action)
        menu.addAction(self.search_layers_action)
        menu.addSeparator()
        menu.addAction(self.runs_action)
        panels = menu.addMenu("&Panels")
        for (dock, _area), key in zip(builder.docks(), PANEL_SHORTCUTS, strict=True):
            act = dock.toggleViewAction()
            act.setShortcut(QKeySequence(key))
            panels.addAction(act)
        panels.addSeparator()
        panels.addAction("Reset Panel Layout", builder.reset_layout)
        self.view_menu = menu
        self._build_theme_menu(menu)

    def _build_help_menu(self) -> None:
        menu = self.window.menuBar().addMenu("&Help")
        self.user_guide_action = menu.addAction("&User Guide", self.show_user_guide)
        self.user_guide_action.setShortcut(QKeySequence(SK.HelpContents))
        self.shortcuts_action = menu.addAction("&Keyboard Shortcuts", self.show_shortcuts)
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        menu.addSeparator()
        self.about_action = menu.addAction("&About Model Workbench", self.show_about)
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.help_menu = menu

    # --- following the document and the page ------------------------------------------------

    def update_actions(self, document: Document, page: str) -> None:
        """Name the edit Undo and Redo would undo; enable the canvas's actions on its page."""
        self.undo_action.setEnabled(document.can_undo())
        self.undo_action.setText(history_action_text("Undo", document.undo_label()))
        self.redo_action.setEnabled(document.can_redo())
        self.redo_action.setText(history_action_text("Redo", document.redo_label()))
        for act in self.canvas_actions:
            act.setEnabled(page == "model")

    # --- recent projects --------------------------------------------------------------------

    def fill_recent_menu(self) -> None:
        """List the recent projects in File ▸ Open Recent (each opens its project)."""
        w = self.window
        menu: QMenu = self.recent_menu
        menu.clear()
        recent = w.settings.recent_files()
        for p in recent:
            act = menu.addAction(recent_label(p))
            act.setToolTip(p)
            act.triggered.connect(lambda _=False, s=p: w.open_project(s))
        if not recent:
            empty = menu.addAction("No recent projects")
            empty.setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear Recent Projects", w.files.clear_recent)

    # --- help -------------------------------------------------------------------------------

    def show_about(self) -> QWidget:
        """Help ▸ About: version, licence, Qt/PyTorch/ONNX Runtime versions (non-blocking)."""
        from workbench.ui.help import AboutDialog

        return _open_dialog(AboutDialog(self.window))

    def show_shortcuts(self) -> QWidget:
        """Help ▸ Keyboard Shortcuts, generated from the menus' actions."""
        from workbench.ui.help import ShortcutsDialog

        return _open_dialog(ShortcutsDialog(self.window.menuBar(), self.window))

    def show_user_guide(self) -> QWidget:
        """Help ▸ User Guide, the Markdown guide shipped in the package."""
        from workbench.ui.help import UserGuideDialog

        return _open_dialog(UserGuideDialog(self.window))

    # --- theme ------------------------------------------------------------------------------

    def _build_theme_menu(self, view: QMenu) -> None:
        view.addSeparator()
        menu = view.addMenu("&Theme")
        group = QActionGroup(self.window)
        group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for mode, text in THEMES:
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
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.on_system_scheme_changed)

    def theme_mode(self) -> str:
        """The chosen theme: "system", "light" or "dark" (kept in the settings)."""
        mode = self.window.settings.get("theme", "system")
        return mode if mode in theme.MODES else "system"

    def set_theme(self, mode: str) -> None:
        """Switch to ``mode`` ("system", "light", "dark"), remember it, and redraw."""
        if mode not in theme.MODES:
            raise ValueError(f"unknown theme '{mode}'")
        self.window.settings.set("theme", mode)
        self.theme_actions[mode].setChecked(True)
        self._apply_theme()

    def _apply_theme(self) -> None:
        app = QApplication.instance()
        if not isinstance(app, QApplication):
            return
        theme.apply_theme(app, self.theme_mode())
        self.window.builder.canvas.restyle()
        self.window.update_stats()

    def on_system_scheme_changed(self, *_: Any) -> None:
        """Follow the system's light or dark switch while the theme is "system"."""
        if self.theme_mode() == "system":
            self._apply_theme()


def _open_dialog(dialog: QWidget) -> QWidget:
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog
