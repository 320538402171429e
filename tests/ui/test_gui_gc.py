"""Cyclic garbage collection happens on the GUI thread only once a window exists."""

from __future__ import annotations

import gc

from workbench.ui import workers
from workbench.ui.window import MainWindow


def test_window_moves_garbage_collection_to_the_gui_thread(qtbot) -> None:
    window = MainWindow(restore_state=False)
    qtbot.addWidget(window)
    assert not gc.isenabled()
    assert workers._GC is not None

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    threshold = gc.get_threshold()[0]
    for _ in range(threshold + 10):
        Cycle()
    before = gc.get_count()[0]
    assert before > threshold
    workers._GC.collect()
    assert gc.get_count()[0] < before
