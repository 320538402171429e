"""Messages over a run's area: a banner that stays until dismissed, the card over an empty
chart, and the run's log."""

from __future__ import annotations

import time

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontDatabase, QShowEvent, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.engine.train_wording import CardText
from workbench.ui import theme
from workbench.ui.theme import label


class Banner(QFrame):
    """A message (an error in red, information in blue) shown until dismissed or replaced."""

    def __init__(self, name: str = "trainBanner", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 6, 6)
        self.text = QLabel("")
        self.text.setObjectName("bannerText")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        row.addWidget(self.text, 1)
        row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._style("error")
        self.hide()

    def show_message(self, message: str, kind: str = "error") -> None:
        """Show ``message`` (``error`` red, ``info`` blue) until dismissed."""
        self._style(kind)
        self.text.setText(message)
        self.show()

    def message(self) -> str:
        """The message while it is shown, else ''."""
        return "" if self.isHidden() else self.text.text()

    def _style(self, kind: str) -> None:
        bg, border, fg = (
            (theme.ERROR_TINT, theme.ERROR, theme.ERROR)
            if kind == "error"
            else (theme.INFO_TINT, theme.ACCENT, theme.TEXT)
        )
        self.setStyleSheet(
            f"QFrame#{self.objectName()} {{ background: {bg}; border: 1px solid {border}; border-radius: 6px; }}"
            f"QLabel#bannerText {{ color: {fg}; }}"
        )


class WeightsNote(QFrame):
    """The note that the next Start trains from a restored run's weights, with a way out.

    Signals:
        cleared(): "Start from scratch instead" was pressed.
    """

    cleared = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("weightsNote")
        self.setStyleSheet(
            f"QFrame#weightsNote {{ background: {theme.INFO_TINT}; border: 1px solid {theme.INFO_BORDER}; border-radius: 6px; }}"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 6, 4)
        self.text = QLabel("")
        self.text.setObjectName("weightsNoteText")
        self.text.setWordWrap(True)
        self.clear_button = QPushButton("Start from scratch instead")
        self.clear_button.setObjectName("link")
        self.clear_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.clear_button.setToolTip("The next Start trains from freshly initialised weights")
        self.clear_button.clicked.connect(lambda: self.cleared.emit())
        row.addWidget(self.text, 1)
        row.addWidget(self.clear_button)
        self.hide()

    def show_text(self, text: str | None) -> None:
        """Show ``text``, or hide the note for None."""
        self.text.setText(text or "")
        self.setVisible(text is not None)


#: The width a message card asks for (its lines wrap within it).
CARD_WIDTH = 440


class MessageCard(QFrame):
    """A card shown instead of an empty view: a large title, a muted line of what to do
    next, and one centred button (hidden while it has nothing to offer).

    ``name`` is the card's object name; its title and line are ``{prefix}Title`` and
    ``{prefix}Text``.
    """

    def __init__(
        self,
        name: str,
        prefix: str,
        button: str,
        button_style: str,
        width: int,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(name)
        self.setStyleSheet(
            f"QFrame#{name} {{ border: 1px solid {theme.BORDER}; border-radius: 10px; background: {theme.PANEL}; }}"
        )
        self.setMaximumWidth(width)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        inner = self._inner = QVBoxLayout(self)
        inner.setContentsMargins(28, 22, 28, 22)
        inner.setSpacing(10)
        self.title = QLabel("")
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.3)
        f.setBold(True)
        self.title.setFont(f)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.setWordWrap(True)
        self.title.setObjectName(f"{prefix}Title")
        self.text = label("", "muted", wrap=True)
        self.text.setObjectName(f"{prefix}Text")
        self.text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.button = QPushButton(button)
        self.button.setObjectName(button_style)
        self.button.setCursor(Qt.CursorShape.PointingHandCursor)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.button)
        row.addStretch(1)
        inner.addWidget(self.title)
        inner.addWidget(self.text)
        inner.addLayout(row)

    def _width(self) -> int:
        """A readable width: wide enough for a few lines, not wider than allowed."""
        return min(self.maximumWidth(), max(super().sizeHint().width(), CARD_WIDTH))

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        """That width, and the height its wrapped lines need at it."""
        width = self._width()
        return QSize(width, self._inner.totalHeightForWidth(width))

    def set_message(self, title: str, text: str) -> None:
        """Show ``title`` and ``text``."""
        self.title.setText(title)
        self.text.setText(text)
        self._fit()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        """Fit again once shown: the text's font is final only then."""
        super().showEvent(event)
        self._fit()

    def _fit(self) -> None:
        """Be at least as tall as the wrapped lines need at the card's width: a layout that
        centres the card sizes it for the whole row's width, where they wrap less and
        would be cut."""
        self.setMinimumHeight(self._inner.totalHeightForWidth(self._width()))


class EmptyCard(MessageCard):
    """The card over an empty chart: a title, a line of what to do next, and (when there is
    no data yet) a button to the Data tab.

    Signals:
        data_requested(): "Go to the Data tab" was pressed.
    """

    data_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("trainEmpty", "empty", "Go to the Data tab", "secondary", 600, parent)
        self.data_button = self.button
        self.data_button.clicked.connect(lambda: self.data_requested.emit())

    def show_text(self, card: CardText) -> None:
        """Say what ``card`` says (the card's visibility is left as it is)."""
        self.data_button.setVisible(card.data_button)
        self.set_message(card.title, card.text)


class RunLog(QPlainTextEdit):
    """A run's log: read-only lines, each with the time, in a fixed-width font."""

    def __init__(self, placeholder: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainLog")
        self.setReadOnly(True)
        self.setMaximumBlockCount(5000)
        self.setPlaceholderText(placeholder)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(8.0, QApplication.font().pointSizeF() - 1))
        self.setFont(mono)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)

    def add(self, text: str) -> None:
        """Append a line, with the time, and scroll to it."""
        self.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")
        self.moveCursor(QTextCursor.MoveOperation.End)


__all__ = ["Banner", "EmptyCard", "MessageCard", "RunLog", "WeightsNote"]
