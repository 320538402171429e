"""Guards against a Qt binding release known to crash the app."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject


def test_void_qt_calls_do_not_leak_references_to_none() -> None:
    # PySide6 6.12.0 on Python 3.11 drops a reference to None on every void call, and
    # the interpreter aborts ("none_dealloc") after a few thousand calls.
    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(2000):
        obj.setObjectName("x")
    assert sys.getrefcount(None) >= before - 50
