"""Plot legends that sit in a row of their own above a plot, so they never cover a curve.

Each entry draws a short sample of its curve — colour, dash pattern and marker — before
its name; the entries wrap onto more lines when the plot is narrow.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPoint, QPointF, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLayout, QLayoutItem, QWidget

SWATCH = QSize(26, 12)


@dataclass(frozen=True)
class CurveStyle:
    """How a curve is drawn: what its legend entry shows."""

    color: str
    style: Qt.PenStyle = Qt.PenStyle.SolidLine
    symbol: str | None = None
    line: bool = True
    faint: str | None = None  # a second, fainter colour drawn behind (raw under smoothed)


def _symbol_path(symbol: str, center: QPointF, r: float) -> QPainterPath:
    path = QPainterPath()
    x, y = center.x(), center.y()
    if symbol == "s":
        path.addRect(x - r, y - r, 2 * r, 2 * r)
    elif symbol == "t":  # pointing down, as pyqtgraph draws "t"
        path.addPolygon(
            QPolygonF([QPointF(x, y + r), QPointF(x + r, y - r), QPointF(x - r, y - r)])
        )
        path.closeSubpath()
    elif symbol == "t1":  # pointing up
        path.addPolygon(
            QPolygonF([QPointF(x, y - r), QPointF(x + r, y + r), QPointF(x - r, y + r)])
        )
        path.closeSubpath()
    elif symbol == "d":
        path.addPolygon(
            QPolygonF([QPointF(x, y - r), QPointF(x + r, y), QPointF(x, y + r), QPointF(x - r, y)])
        )
        path.closeSubpath()
    else:
        path.addEllipse(center, r, r)
    return path


def swatch(style: CurveStyle, size: QSize = SWATCH) -> QPixmap:
    """A small picture of a curve drawn in ``style``."""
    ratio = 2.0  # sharp on high-DPI screens
    pm = QPixmap(int(size.width() * ratio), int(size.height() * ratio))
    pm.setDevicePixelRatio(ratio)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    mid = size.height() / 2
    if style.faint:
        p.setPen(QPen(QColor(style.faint), 3))
        p.drawLine(QPointF(1, mid), QPointF(size.width() - 1, mid))
    if style.line:
        pen = QPen(QColor(style.color), 1.5)
        pen.setStyle(style.style)
        p.setPen(pen)
        p.drawLine(QPointF(1, mid), QPointF(size.width() - 1, mid))
    if style.symbol:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(style.color))
        p.drawPath(_symbol_path(style.symbol, QPointF(size.width() / 2, mid), 3.5))
    p.end()
    return pm


class FlowLayout(QLayout):
    """Lays its items out left to right, wrapping onto new lines (Qt's flow layout example)."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 12, line_spacing: int = 2):
        super().__init__(parent)
        self._items: list[QLayoutItem] = []
        self._spacing = spacing
        self._line_spacing = line_spacing
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item: QLayoutItem) -> None:  # noqa: N802 - Qt override
        self._items.append(item)

    def count(self) -> int:
        return len(self._items)

    def itemAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index: int) -> QLayoutItem | None:  # noqa: N802 - Qt override
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self) -> Qt.Orientation:  # noqa: N802 - Qt override
        return Qt.Orientation(0)

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt override
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt override
        return self._arrange(QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect: QRect) -> None:  # noqa: N802 - Qt override
        super().setGeometry(rect)
        self._arrange(rect, move=True)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return self.minimumSize()

    def minimumSize(self) -> QSize:  # noqa: N802 - Qt override
        size = QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        m = self.contentsMargins()
        return size + QSize(m.left() + m.right(), m.top() + m.bottom())

    def _arrange(self, rect: QRect, move: bool) -> int:
        m = self.contentsMargins()
        area = rect.adjusted(m.left(), m.top(), -m.right(), -m.bottom())
        lines: list[list[tuple[QLayoutItem, QSize]]] = [[]]
        x = area.x()
        for item in self._items:
            widget = item.widget()
            if widget is not None and widget.isHidden():
                continue
            hint = item.sizeHint()
            if lines[-1] and x + hint.width() > area.right() + 1:
                lines.append([])
                x = area.x()
            lines[-1].append((item, hint))
            x += hint.width() + self._spacing
        y = area.y()
        for line in lines:
            if not line:
                continue
            width = sum(h.width() for _i, h in line) + self._spacing * (len(line) - 1)
            height = max(h.height() for _i, h in line)
            x = area.x() + max(0, (area.width() - width) // 2)  # centred over the plot
            if move:
                for item, hint in line:
                    item.setGeometry(QRect(QPoint(x, y + (height - hint.height()) // 2), hint))
                    x += hint.width() + self._spacing
            y += height + self._line_spacing
        return y - self._line_spacing - area.y() + m.top() + m.bottom() if self._items else 0


class LegendRow(QWidget):
    """The legend of one plot: entries (a curve sample and its name) in wrapping lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("plotLegend")
        self._flow = FlowLayout(self)
        self._entries: dict[str, QWidget] = {}

    def set_entries(self, entries: list[tuple[str, CurveStyle]]) -> None:
        """Show these (name, style) entries, in order, replacing any others."""
        for w in self._entries.values():
            self._flow.removeWidget(w)
            w.hide()  # at once: the deletion waits for the event loop
            w.deleteLater()
        self._entries = {}
        for name, style in entries:
            entry = QWidget(self)
            row = QHBoxLayout(entry)
            row.setContentsMargins(0, 0, 0, 0)
            row.setSpacing(4)
            sample = QLabel()
            sample.setPixmap(swatch(style))
            text = QLabel(name)
            font = text.font()
            font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
            text.setFont(font)
            row.addWidget(sample)
            row.addWidget(text)
            self._flow.addWidget(entry)
            self._entries[name] = entry
            entry.show()
        self.updateGeometry()

    def names(self) -> list[str]:
        """The entries' names, in order."""
        return list(self._entries)


__all__ = ["CurveStyle", "FlowLayout", "LegendRow", "swatch"]
