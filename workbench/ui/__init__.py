"""The PySide6 user interface: the only package that imports Qt.

``MainWindow`` and ``run_gui`` load on first use, so ``import workbench.ui`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from workbench.ui.app import run_gui
    from workbench.ui.window import MainWindow

__all__ = ["MainWindow", "run_gui"]


def __getattr__(name: str) -> Any:
    if name == "MainWindow":
        from workbench.ui.window import MainWindow

        return MainWindow
    if name == "run_gui":
        from workbench.ui.app import run_gui

        return run_gui
    raise AttributeError(f"module 'workbench.ui' has no attribute '{name}'")
