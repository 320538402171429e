"""The Help menu's windows: About, Keyboard Shortcuts (read from the window's actions)
and the user guide shipped inside the package."""

from __future__ import annotations

import platform
from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLayout,
    QMenu,
    QMenuBar,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from workbench.core.appdirs import resource_path
from workbench.ui import theme

DIST_NAME = "model-workbench"
#: The libraries About reports: (label, distribution names to try).
LIBRARIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("PySide6", ("PySide6", "PySide6-Essentials")),
    ("PyTorch", ("torch",)),
    ("ONNX", ("onnx",)),
    ("ONNX Runtime", ("onnxruntime", "onnxruntime-gpu")),
    ("pyqtgraph", ("pyqtgraph",)),
    ("NumPy", ("numpy",)),
)


def _dist_version(names: tuple[str, ...]) -> str:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def versions() -> list[tuple[str, str]]:
    """(name, version) of the app, Python, Qt and the main libraries.

    Read from the installed packages' metadata, so torch is never imported for it
    (importing torch takes seconds and About must open at once).
    """
    from PySide6 import QtCore

    from workbench import __version__

    rows = [
        ("Model Workbench", __version__),
        ("Python", platform.python_version()),
        ("Qt", QtCore.qVersion()),
    ]
    rows += [(label, _dist_version(names)) for label, names in LIBRARIES]
    return rows


def licence() -> str:
    """The app's licence as its package metadata states it (MIT unless installed otherwise)."""
    try:
        meta = metadata.metadata(DIST_NAME)
    except metadata.PackageNotFoundError:
        return "MIT"
    expression = _first(meta.get_all("License-Expression")) or _first(meta.get_all("License"))
    return expression.strip() or "MIT"


def _first(values: list[str] | None) -> str:
    """The first of a metadata field's values, or "" when it has none."""
    return str(values[0]) if values else ""


def about_html() -> str:
    """The About box's text."""
    rows = "".join(
        f"<tr><td style='padding-right:14px;color:{theme.MUTED}'>{name}</td><td>{version}</td></tr>"
        for name, version in versions()
    )
    return (
        "<h3 style='margin-bottom:2px'>Model Workbench</h3>"
        "<p>Build, train, evaluate and export neural networks by pointing and clicking.</p>"
        f"<p>Licence: {licence()}</p>"
        f"<table cellspacing='0' cellpadding='1'>{rows}</table>"
    )


def user_guide_text() -> str:
    """The user guide (Markdown) shipped in the package."""
    return resource_path("user-guide.md").read_text(encoding="utf-8")


def _no_size_hints_offscreen(layout: QLayout) -> None:
    if QGuiApplication.platformName() == "offscreen":
        # No window manager to take size hints; Qt would warn on every show.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)


def _plain(text: str) -> str:
    """Menu text without its '&' mnemonics and trailing ellipsis."""
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&").removesuffix("…").strip()


def shortcut_rows(menu_bar: QMenuBar) -> list[tuple[str, str, str]]:
    """(menu path, action, shortcuts) for every menu action that has a shortcut, in menu order."""
    rows: list[tuple[str, str, str]] = []

    def walk(menu: QMenu, path: str) -> None:
        for act in menu.actions():
            sub = act.menu()
            if isinstance(sub, QMenu):
                walk(sub, f"{path} ▸ {_plain(act.text())}")
                continue
            if act.isSeparator() or not act.shortcuts():
                continue
            keys = ", ".join(
                k.toString(QKeySequence.SequenceFormat.NativeText) for k in act.shortcuts()
            )
            rows.append((path, _plain(act.text()), keys))

    for act in menu_bar.actions():
        menu = act.menu()
        if isinstance(menu, QMenu):
            walk(menu, _plain(act.text()))
    return rows


class ShortcutsDialog(QDialog):
    """A table of the shortcuts of a window's menus, generated from its QActions."""

    def __init__(self, menu_bar: QMenuBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard Shortcuts")
        self.setObjectName("shortcutsDialog")
        self.rows = shortcut_rows(menu_bar)
        self.table = QTableWidget(len(self.rows), 3)
        self.table.setHorizontalHeaderLabels(["Menu", "Command", "Shortcut"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setShowGrid(False)
        for r, row in enumerate(self.rows):
            for c, text in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(text))
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        note = theme.label(
            "On the canvas: Delete removes the selection, Space or the middle button pans, "
            "the wheel zooms, right-click shows what can be done there.",
            "muted",
            wrap=True,
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addWidget(note)
        lay.addWidget(buttons)
        _no_size_hints_offscreen(lay)
        self.resize(660, 600)


class UserGuideDialog(QDialog):
    """The user guide, rendered from its Markdown with QTextBrowser."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model Workbench User Guide")
        self.setObjectName("userGuideDialog")
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setMarkdown(user_guide_text())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.browser, 1)
        lay.addWidget(buttons)
        _no_size_hints_offscreen(lay)
        self.resize(720, 640)


class AboutDialog(QDialog):
    """Version, licence and the versions of Qt, PyTorch and ONNX Runtime."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Model Workbench")
        self.setObjectName("aboutDialog")
        self.text = QLabel(about_html())
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.text.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(22, 18, 22, 14)
        lay.addWidget(self.text)
        lay.addWidget(buttons)
        _no_size_hints_offscreen(lay)


__all__ = [
    "AboutDialog",
    "ShortcutsDialog",
    "UserGuideDialog",
    "about_html",
    "shortcut_rows",
    "versions",
]
