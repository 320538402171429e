"""pyqtgraph imported on a helper thread, so the first chart does not stall the GUI.

The import takes a fifth of a second; the Data tab starts it while a dataset is scanned
and the Train tab before it builds its plots.
"""

from __future__ import annotations

import sys
import threading

_warmup: threading.Thread | None = None


def warm_up_pyqtgraph() -> None:
    """Import pyqtgraph on a daemon thread (once; nothing to do when it is imported already)."""
    global _warmup
    if _warmup is not None or "pyqtgraph" in sys.modules:
        return

    def work() -> None:
        try:
            import pyqtgraph  # noqa: F401
        except Exception:  # noqa: BLE001 - the chart reports the problem when it is drawn
            pass

    _warmup = threading.Thread(target=work, name="pyqtgraph-warmup", daemon=True)
    _warmup.start()


def pyqtgraph_ready() -> bool:
    """True when pyqtgraph is imported and no warm-up thread is still importing it."""
    return "pyqtgraph" in sys.modules and not (_warmup is not None and _warmup.is_alive())
