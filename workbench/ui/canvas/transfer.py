"""Copied layers on the system clipboard, and layers dragged in from the palette: the mime
types the canvas takes and what they carry."""

from __future__ import annotations

import atexit

from PySide6.QtCore import QMimeData
from PySide6.QtWidgets import QApplication

from workbench.ui.palette import LAYER_MIME

#: Mime type of copied nodes; the data is JSON from ``Graph.subgraph_dict``.
NODES_MIME = "application/x-workbench-nodes"

_clipboard_guard = False


def _release_clipboard() -> None:
    """Drop our copied nodes from the clipboard while Python is still alive.

    With PySide6 6.12, a QMimeData created in Python and still held by the clipboard when
    the interpreter shuts down crashes the process (segfault in the wrapper's destructor),
    measured here with the offscreen platform. Clearing it first avoids that.
    """
    if QApplication.instance() is None:
        return
    clipboard = QApplication.clipboard()
    mime = clipboard.mimeData()
    if mime is not None and mime.hasFormat(NODES_MIME):
        clipboard.clear()


def _install_clipboard_guard() -> None:
    global _clipboard_guard
    if _clipboard_guard:
        return
    _clipboard_guard = True
    atexit.register(_release_clipboard)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(_release_clipboard)


def put_layers(data: bytes) -> None:
    """Put copied layers (``workbench.core.edits.copy_data``) on the clipboard."""
    mime = QMimeData()
    mime.setData(NODES_MIME, data)
    _install_clipboard_guard()
    QApplication.clipboard().setMimeData(mime)


def copied_layers() -> bytes | None:
    """The copied layers on the clipboard, or None when it holds something else."""
    mime = QApplication.clipboard().mimeData()
    if mime is None or not mime.hasFormat(NODES_MIME):
        return None
    return bytes(mime.data(NODES_MIME).data())


def holds_layers() -> bool:
    """Whether the clipboard holds copied layers."""
    mime = QApplication.clipboard().mimeData()
    return mime is not None and mime.hasFormat(NODES_MIME)


def is_layer_drag(mime: QMimeData) -> bool:
    """Whether a drag carries a layer from the palette."""
    return mime.hasFormat(LAYER_MIME)


def dragged_layer(mime: QMimeData) -> str:
    """The layer type a palette drag carries."""
    return bytes(mime.data(LAYER_MIME).data()).decode("utf-8", "replace").strip()
