"""Thumbnail icons: a decoded image centred on a fixed square, or a blank square with a mark.

The Data tab's class previews and the Evaluate tab's sample lists both show images that
``workbench.data`` decoded off the GUI thread as RGBA bytes; the square keeps a grid
even for any aspect ratio.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QImage, QPainter, QPixmap

from workbench.ui import theme


def thumbnail_icon(
    w: int, h: int, data: bytes, size: int, background: str, smooth: bool = False
) -> QIcon:
    """The ``w``×``h`` RGBA image ``data``, shrunk to fit (smoothly if asked), centred on a
    ``size`` square of ``background``."""
    img = QImage(data, w, h, w * 4, QImage.Format.Format_RGBA8888).copy()
    pm = QPixmap(size, size)
    pm.fill(QColor(background))
    src = QPixmap.fromImage(img)
    if src.width() > size or src.height() > size:
        mode = (
            Qt.TransformationMode.SmoothTransformation
            if smooth
            else Qt.TransformationMode.FastTransformation
        )
        src = src.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio, mode)
    p = QPainter(pm)
    p.drawPixmap((size - src.width()) // 2, (size - src.height()) // 2, src)
    p.end()
    return QIcon(pm)


def blank_icon(size: int, background: str, text: str = "") -> QIcon:
    """A ``size`` square of ``background`` with ``text`` (``?`` for an unreadable image) in
    the muted colour."""
    pm = QPixmap(size, size)
    pm.fill(QColor(background))
    if text:
        p = QPainter(pm)
        p.setPen(QColor(theme.MUTED))
        p.drawText(pm.rect(), Qt.AlignmentFlag.AlignCenter, text)
        p.end()
    return QIcon(pm)


__all__ = ["blank_icon", "thumbnail_icon"]
