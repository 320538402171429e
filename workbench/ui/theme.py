"""The look of the app: Fusion style, a light palette, a small stylesheet and shared colours."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

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

STYLESHEET = f"""
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
QPushButton#card:hover {{ border: 1px solid {ACCENT}; background: #f5f8ff; }}
QPushButton#card:pressed {{ background: #e8efff; }}
QPushButton#primary {{ background: {ACCENT}; color: white; border: none; border-radius: 5px;
    padding: 7px 16px; font-weight: 600; }}
QPushButton#primary:hover {{ background: {ACCENT_HOVER}; }}
QPushButton#secondary {{ background: {PANEL}; color: {TEXT}; border: 1px solid {BORDER};
    border-radius: 5px; padding: 7px 16px; }}
QPushButton#secondary:hover {{ border-color: {ACCENT}; }}
QPushButton#link {{ background: transparent; border: none; color: {ACCENT}; text-align: left;
    padding: 3px 0px; }}
QPushButton#link:hover {{ text-decoration: underline; }}
QPushButton#primary:disabled {{ background: #a7bdf0; color: #eef2fb; }}
QPushButton#secondary:disabled {{ color: #a0a6b0; background: #f5f6f8; border-color: #e3e6ea; }}
QPushButton#link:disabled {{ color: #a0a6b0; }}
QPushButton:focus {{ outline: none; }}
QPushButton#primary:focus {{ border: 2px solid #1e3a8a; }}
QPushButton#secondary:focus, QPushButton#link:focus {{ border: 1px solid {ACCENT}; border-radius: 5px; }}
QStatusBar QLabel {{ color: {MUTED}; padding: 0px 6px; }}
QHeaderView::section {{ background: {WINDOW}; border: none; border-bottom: 1px solid {BORDER};
    border-right: 1px solid {BORDER}; padding: 4px 6px; font-weight: 600; }}
QTableWidget {{ gridline-color: #eceef1; }}
"""


def apply_theme(app: QApplication) -> None:
    """Give ``app`` the workbench look (call once, after the QApplication exists)."""
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor(WINDOW))
    pal.setColor(QPalette.ColorRole.WindowText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Base, QColor(PANEL))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor("#f8f9fb"))
    pal.setColor(QPalette.ColorRole.Text, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Button, QColor("#f9fafb"))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor("#fffef5"))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor(TEXT))
    pal.setColor(QPalette.ColorRole.PlaceholderText, QColor("#9ca3af"))
    pal.setColor(QPalette.ColorRole.Link, QColor(ACCENT))
    for role in (
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
    ):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#9ca3af"))
    app.setPalette(pal)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
    app.setFont(font)
    app.setStyleSheet(STYLESHEET)


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


# --- human-readable numbers -------------------------------------------------------------


def human_count(n: float) -> str:
    """``1234567`` → ``'1.2 M'``; small numbers stay exact."""
    n = float(n)
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)}"


def human_flops(n: float) -> str:
    """``3.4e9`` → ``'3.4 GFLOPs'``."""
    n = float(n)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}FLOPs"
    return f"{int(n)} FLOPs"


def human_bytes(n: float) -> str:
    """``1536`` → ``'1.5 KB'`` (binary units, labelled the way most people read them)."""
    n = float(n)
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if abs(n) >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{int(n)} B"
