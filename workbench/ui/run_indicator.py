"""A training run shows itself from every tab.

:class:`RunIndicator` is a permanent status-bar widget ("Training · epoch 3/40" with a
small progress bar; a click opens the Train tab) shown while a run is on, and it puts a
banner above the model canvas saying that edits apply to the next run: the run in
progress trains a copy of the graph taken at Start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QWidget,
)

from workbench.ui import theme

if TYPE_CHECKING:
    from workbench.ui.train.tab import TrainTab
    from workbench.ui.window import MainWindow

#: How often the indicator copies the Train tab's progress while a run is on (ms).
REFRESH_MS = 250
_STATE_TEXT = {
    "starting": "Training starting…",
    "running": "Training",
    "paused": "Training paused",
    "stopping": "Training stopping…",
}


class RunIndicator(QFrame):
    """The status bar's run indicator and the Model tab's "edits apply to the next run" banner.

    Signals:
        clicked(): The indicator was clicked (the window then shows the Train tab).
    """

    clicked = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setObjectName("runIndicator")
        self.window_ = window
        self.controller = window.train_controller
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("A training run is in progress: click to see it in the Train tab")
        row = QHBoxLayout(self)
        row.setContentsMargins(6, 0, 6, 0)
        row.setSpacing(6)
        self.text = QLabel("")
        self.text.setObjectName("runIndicatorText")
        self.bar = QProgressBar()
        self.bar.setObjectName("runIndicatorBar")
        self.bar.setTextVisible(False)
        self.bar.setFixedSize(QSize(110, 10))
        self.bar.setRange(0, 1)
        row.addWidget(self.text)
        row.addWidget(self.bar)
        self.hide()

        self.banner = self._build_banner()
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.clicked.connect(lambda: window.show_page("train"))
        self.controller.state_changed.connect(self._on_state_changed)
        window.statusBar().insertPermanentWidget(0, self)

    def _build_banner(self) -> QToolBar:
        """A strip above the canvas (a fixed tool bar of the builder), hidden while no run is on."""
        bar = QToolBar("Training in progress", self.window_.builder)
        bar.setObjectName("runBanner")
        bar.setMovable(False)
        bar.setFloatable(False)
        bar.setContextMenuPolicy(Qt.ContextMenuPolicy.PreventContextMenu)
        bar.toggleViewAction().setVisible(False)
        bar.setStyleSheet(
            f"QToolBar#runBanner {{ background: {theme.INFO_TINT}; border: none;"
            f" border-bottom: 1px solid {theme.ACCENT}; padding: 3px 8px; }}"
        )
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(4, 0, 4, 0)
        row.setSpacing(10)
        self.banner_text = QLabel("")
        self.banner_text.setObjectName("runBannerText")
        self.banner_text.setStyleSheet(f"color: {theme.TEXT};")
        self.banner_text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        show = QPushButton("Show the run")
        show.setObjectName("secondary")
        show.setCursor(Qt.CursorShape.PointingHandCursor)
        show.clicked.connect(lambda: self.window_.show_page("train"))
        row.addWidget(self.banner_text, 1)
        row.addWidget(show)
        bar.addWidget(box)
        self.window_.builder.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        bar.hide()
        return bar

    # --- state ---------------------------------------------------------------------------------

    def _on_state_changed(self, state: str) -> None:
        running = state != "idle"
        self.setVisible(running)
        self.banner.setVisible(running)
        if running:
            self.refresh()
            self.timer.start()
        else:
            self.timer.stop()

    def refresh(self) -> None:
        """Copy the run's state and progress from the Train tab."""
        state = self.controller.state
        if state == "idle":
            return
        tab: TrainTab = self.controller.tab
        text = _STATE_TEXT.get(state, "Training")
        if tab.epochs_total and state != "starting":
            epoch = max(1, min(tab.epoch, tab.epochs_total))
            text += f" · epoch {epoch}/{tab.epochs_total}"
        self.text.setText(text)
        source = tab.progress
        if self.bar.maximum() != source.maximum() or self.bar.minimum() != source.minimum():
            self.bar.setRange(source.minimum(), source.maximum())
        self.bar.setValue(source.value())
        run_id = tab.run_info.get("run_id") if tab.run_info else None
        run = f"Training run {run_id}" if run_id else "A training run"
        self.banner_text.setText(
            f"{run} is in progress on a copy of the model taken at Start — "
            "edits apply to the next run."
        )

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
            event.accept()
            return
        super().mousePressEvent(event)


__all__ = ["RunIndicator"]
