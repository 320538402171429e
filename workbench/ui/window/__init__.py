"""The main window, split by what each part owns; :class:`MainWindow` puts the parts together.

``main`` is the window itself (pages, document, status bar, closing); ``builder`` the Model
page; ``menus`` the actions and menus; ``files`` new, open, save and the recent projects;
``autosave`` autosave and crash recovery; ``drops`` files dragged onto the window; and
``questions`` the dialogs the window asks through.
"""

from workbench.ui.window.main import MainWindow

__all__ = ["MainWindow"]
