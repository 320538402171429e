"""The look of the app: Fusion style, a light or dark palette, a small stylesheet and shared colours.

The dark look follows the system (``QStyleHints.colorScheme``, Qt 6.5+) unless the user
chose one in View ▸ Theme.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

# The number formats live in core.text; the panels also reach them as theme.human_*.
from workbench.core.text import human_bytes as human_bytes
from workbench.core.text import human_count as human_count
from workbench.core.text import human_flops as human_flops

Mode = Literal["system", "light", "dark"]
MODES: tuple[Mode, ...] = ("system", "light", "dark")

# The colours of the active look. apply_theme() rebinds them for light or dark, so code
# that reads ``theme.TEXT`` when it draws or builds a widget gets the current one.
ACCENT = "#2563eb"
ACCENT_HOVER = "#1d4ed8"
WINDOW = "#f3f4f6"
PANEL = "#ffffff"
BORDER = "#d7dbe0"
TEXT = "#1f2328"
MUTED = "#6b7280"
ERROR = "#c62828"
ERROR_TINT = "#fde8e8"
WARNING = "#b45309"
OK = "#15803d"
HOVER_TINT = "#f5f8ff"
PRESSED_TINT = "#e8efff"
INFO_TINT = "#eaf1ff"
INFO_BORDER = "#c7d7fe"
# The builder canvas.
CANVAS_BG = "#f8f9fb"
GRID_MINOR = "#f0f2f5"
GRID_MAJOR = "#e3e6eb"
NODE_FILL = "#ffffff"
NODE_BORDER = "#c4c9d1"
EDGE = "#8a929e"
EDGE_HOVER = "#5f6875"
PORT = "#7b8491"
SHAPE_TEXT = "#374151"
FAINT_TEXT = "#9ca3af"
CANDIDATE_FILL = "#dbeafe"

LIGHT: dict[str, str] = {
    "ACCENT": ACCENT,
    "ACCENT_HOVER": ACCENT_HOVER,
    "WINDOW": WINDOW,
    "PANEL": PANEL,
    "BORDER": BORDER,
    "TEXT": TEXT,
    "MUTED": MUTED,
    "ERROR": ERROR,
    "ERROR_TINT": ERROR_TINT,
    "WARNING": WARNING,
    "OK": OK,
    "HOVER_TINT": HOVER_TINT,
    "PRESSED_TINT": PRESSED_TINT,
    "INFO_TINT": INFO_TINT,
    "INFO_BORDER": INFO_BORDER,
    "CANVAS_BG": CANVAS_BG,
    "GRID_MINOR": GRID_MINOR,
    "GRID_MAJOR": GRID_MAJOR,
    "NODE_FILL": NODE_FILL,
    "NODE_BORDER": NODE_BORDER,
    "EDGE": EDGE,
    "EDGE_HOVER": EDGE_HOVER,
    "PORT": PORT,
    "SHAPE_TEXT": SHAPE_TEXT,
    "FAINT_TEXT": FAINT_TEXT,
    "CANDIDATE_FILL": CANDIDATE_FILL,
}
DARK: dict[str, str] = {
    "ACCENT": "#4c8dff",
    "ACCENT_HOVER": "#3b7bf0",
    "WINDOW": "#1f2023",
    "PANEL": "#2a2b2f",
    "BORDER": "#45474d",
    "TEXT": "#e4e6ea",
    "MUTED": "#9ba1aa",
    "ERROR": "#f87171",
    "ERROR_TINT": "#4a2427",
    "WARNING": "#fbbf24",
    "OK": "#4ade80",
    "HOVER_TINT": "#2f3a4f",
    "PRESSED_TINT": "#27324a",
    "INFO_TINT": "#22304a",
    "INFO_BORDER": "#3a5686",
    "CANVAS_BG": "#1b1c1f",
    "GRID_MINOR": "#222327",
    "GRID_MAJOR": "#2d2f34",
    "NODE_FILL": "#2b2d31",
    "NODE_BORDER": "#55585f",
    "EDGE": "#7f8792",
    "EDGE_HOVER": "#b4bcc7",
    "PORT": "#8d95a0",
    "SHAPE_TEXT": "#cfd3d9",
    "FAINT_TEXT": "#6f747c",
    "CANDIDATE_FILL": "#1e3a5f",
}

#: Light colours written into widgets' own style sheets elsewhere, and their dark twins,
#: so a live switch can recolour sheets that were built before it (see recolor_sheets).
SHEET_TWINS: dict[str, str] = {
    "#a7bdf0": "#34476b",
    "#eef2fb": "#8e9bb3",
    "#b9c8ee": "#34476b",
    "#f1f4fb": "#8e9bb3",
}

_dark = False


def stylesheet() -> str:
    """The app's style sheet in the current colours."""
    return f"""
QMainWindow::separator {{ background: {BORDER}; width: 1px; height: 1px; }}
QDockWidget::title {{ padding: 6px 8px; background: {WINDOW}; border-bottom: 1px solid {BORDER}; }}
QTabWidget#mainTabs::pane {{ border: none; border-top: 1px solid {BORDER}; }}
QTabBar::tab {{ padding: 6px 16px; margin-right: 2px; border: none; color: {MUTED};
    border-bottom: 2px solid transparent; background: transparent; }}
QTabBar::tab:selected {{ color: {TEXT}; border-bottom: 2px solid {ACCENT}; font-weight: 600; }}
QTabBar::tab:hover:!selected {{ color: {TEXT}; }}
QLineEdit[invalid="true"] {{ border: 1px solid {ERROR}; border-radius: 3px; padding: 2px 3px;
    background: {ERROR_TINT}; }}
QLabel[role="muted"] {{ color: {MUTED}; }}
QLabel[role="heading"] {{ font-size: 13pt; font-weight: 600; }}
QLabel[role="section"] {{ color: {MUTED}; font-size: 8pt; font-weight: 700; letter-spacing: 1px;
    padding-top: 6px; }}
QLabel[role="error"] {{ color: {ERROR}; }}
QFrame#card {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 8px; }}
QPushButton#card {{ background: {PANEL}; border: 1px solid {BORDER}; border-radius: 8px;
    text-align: left; padding: 0px; }}
QPushButton#card:hover {{ border: 1px solid {ACCENT}; background: {HOVER_TINT}; }}
QPushButton#card:pressed {{ background: {PRESSED_TINT}; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border: none; border-radius: 5px;
    padding: 7px 16px; font-weight: 600; }}
QPushButton#primary:hover {{ background: {ACCENT_HOVER}; }}
QPushButton#secondary {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER};
    border-radius: 5px; padding: 7px 16px; }}
QPushButton#secondary:hover {{ border-color: {ACCENT}; }}
QPushButton#link {{ background: transparent; border: none; color: {ACCENT}; text-align: left;
    padding: 3px 0px; }}
QPushButton#link:hover {{ text-decoration: underline; }}
QPushButton#primary:disabled {{ background: {"#34476b" if _dark else "#a7bdf0"}; color: {"#8e9bb3" if _dark else "#eef2fb"}; }}
QPushButton#secondary:disabled {{ color: {FAINT_TEXT}; background: {WINDOW}; border-color: {BORDER}; }}
QPushButton#link:disabled {{ color: {FAINT_TEXT}; }}
QPushButton:focus {{ outline: none; }}
QPushButton#primary:focus {{ border: 2px solid {"#bcd3ff" if _dark else "#1e3a8a"}; }}
QPushButton#secondary:focus, QPushButton#link:focus {{ border: 1px solid {ACCENT}; border-radius: 5px; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0px 6px; }}
QHeaderView::section {{ background: {WINDOW}; border: none; border-bottom: 1px solid {BORDER};
    border-right: 1px solid {BORDER}; padding: 4px 6px; font-weight: 600; }}
QTableWidget {{ gridline-color: {BORDER if _dark else "#eceef1"}; }}
"""


STYLESHEET = stylesheet()


def system_is_dark() -> bool:
    """Whether the system asks for a dark look (Qt 6.5+ reports it; unknown counts as light)."""
    app = QGuiApplication.instance()
    if app is None:
        return False
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    return scheme is not None and scheme() == Qt.ColorScheme.Dark


def resolve_mode(mode: str) -> Literal["light", "dark"]:
    """ "light" or "dark" for a setting ("system" asks the system; anything unknown is system)."""
    if mode == "dark":
        return "dark"
    if mode == "light":
        return "light"
    return "dark" if system_is_dark() else "light"


def is_dark() -> bool:
    """Whether the dark colours are active."""
    return _dark


def _palette() -> QPalette:
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(WINDOW))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Base, QColor(PANEL))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor("#303136" if _dark else "#f8f9fb"))
    pal.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Button, QColor("#303136" if _dark else "#f9fafb"))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.BrightText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor("#34363b" if _dark else "#fffef5"))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor(FAINT_TEXT))
    pal.setColor(QPalette.ColorRole.Link, QColor(ACCENT))
    pal.setColor(QPalette.ColorRole.LinkVisited, QColor(ACCENT))
    for role, light, dark in (
        (QPalette.ColorRole.Light, "#ffffff", "#4a4c52"),
        (QPalette.ColorRole.Midlight, "#e5e7eb", "#3a3c41"),
        (QPalette.ColorRole.Mid, "#c4c9d1", "#303136"),
        (QPalette.ColorRole.Dark, "#9ca3af", "#1a1b1e"),
        (QPalette.ColorRole.Shadow, "#6b7280", "#0d0d0f"),
    ):
        pal.setColor(role, QColor(dark if _dark else light))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor(FAINT_TEXT))
    return pal


def use_colors(dark: bool) -> None:
    """Rebind this module's colours (and STYLESHEET) to the dark or light set; no widget changes."""
    global _dark, STYLESHEET
    _dark = dark
    globals().update(DARK if dark else LIGHT)
    STYLESHEET = stylesheet()


def apply_theme(app: QApplication, mode: str = "light") -> Literal["light", "dark"]:
    """Give ``app`` the workbench look in ``mode`` ("system", "light" or "dark").

    Call it after the QApplication exists, and again to switch; returns the look used.
    Open plots are restyled; widgets built later read the new colours from this module.
    """
    look = resolve_mode(mode)
    was_dark = _dark
    use_colors(look == "dark")
    if was_dark != _dark:
        recolor_sheets(app, dark=_dark)
    app.setStyle("Fusion")
    app.setPalette(_palette())
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)
    pg = _pyqtgraph()  # never import it here: it is slow and not needed yet
    if pg is not None:
        pg.setConfigOptions(background=PANEL, foreground=MUTED)
        for widget in app.allWidgets():
            restyle_plot(widget)
    return look


def _sheet_map(dark: bool) -> dict[str, str]:
    """Lower-case hex colour of the look being left -> its twin in the look being entered."""
    pairs: dict[str, str] = {}
    for key, light in LIGHT.items():
        pairs.setdefault(light.lower(), DARK[key].lower())
    for light, dark_twin in SHEET_TWINS.items():
        pairs.setdefault(light.lower(), dark_twin.lower())
    if dark:
        return pairs
    back: dict[str, str] = {}
    for light, dark_twin in pairs.items():
        back.setdefault(dark_twin, light)
    return back


def recolor_sheets(app: QApplication, dark: bool) -> None:
    """Swap the theme's colours in every widget's own style sheet (built before a switch).

    Widgets set sheets like ``f"background: {theme.PANEL}"`` when they are built; this
    keeps them right when the look changes while they exist.
    """
    mapping = _sheet_map(dark)
    pattern = re.compile(r"#[0-9a-fA-F]{6}\b")
    for widget in app.allWidgets():
        sheet = widget.styleSheet()
        if not sheet or "#" not in sheet:
            continue
        new = pattern.sub(lambda m: mapping.get(m.group(0).lower(), m.group(0)), sheet)
        if new != sheet:
            widget.setStyleSheet(new)


def translucent(color: str, alpha: int) -> QColor:
    """``color`` with an alpha (0-255), e.g. for a legend's box over a plot."""
    c = QColor(color)
    c.setAlpha(alpha)
    return c


def _pyqtgraph() -> Any:
    """pyqtgraph once it is imported completely, else None (never imported here: a helper
    thread may be importing it, and its half-made module has no PlotWidget yet)."""
    pg = sys.modules.get("pyqtgraph")
    return pg if getattr(pg, "PlotWidget", None) is not None else None


def restyle_plot(widget: QWidget) -> None:
    """Give an existing pyqtgraph PlotWidget the current colours (others are left alone)."""
    pg = _pyqtgraph()
    if pg is None or not isinstance(widget, pg.PlotWidget):
        return
    widget.setBackground(PANEL)
    item = widget.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name) if name in item.axes else None
        if axis is not None:
            axis.setPen(pg.mkPen(BORDER, width=1))
            axis.setTextPen(pg.mkPen(MUTED))
    title = item.titleLabel
    if title is not None and title.text:
        title.setText(title.text, color=TEXT)
    legend = item.legend
    if legend is not None:
        legend.setBrush(pg.mkBrush(translucent(PANEL, 200)))
        legend.setPen(pg.mkPen(BORDER))
        legend.setLabelTextColor(TEXT)


def restyle_plots(root: QWidget) -> None:
    """Restyle every pyqtgraph plot inside ``root`` (after a theme change or a late build)."""
    pg = _pyqtgraph()
    if pg is None:
        return
    for widget in root.findChildren(pg.PlotWidget):
        restyle_plot(widget)


def label(
    text: str = "", role: str = "", *, wrap: bool = False, parent: QWidget | None = None
) -> QLabel:
    """A QLabel with a stylesheet ``role`` (muted, heading, section, error)."""
    lab = QLabel(text, parent)
    if role:
        lab.setProperty("role", role)
    lab.setWordWrap(wrap)
    return lab


def set_invalid(widget: QWidget, invalid: bool) -> None:
    """Show or clear the red 'invalid value' border of an input."""
    if bool(widget.property("invalid")) == invalid:
        return
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)
    widget.update()


def bold(font: QFont) -> QFont:
    """A bold copy of ``font``."""
    f = QFont(font)
    f.setBold(True)
    return f
