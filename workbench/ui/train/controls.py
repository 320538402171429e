"""A run's buttons and its progress readout: Start, Pause, Resume, Stop and Train more; the
status, the progress bar, the speed and time left, and the GPU memory.

Both only show what they are told; the Train tab wires the buttons to the controller and
feeds the readout from :class:`~workbench.engine.run_progress.RunProgress`.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QWidget

from workbench.engine.run_progress import RunProgress
from workbench.engine.train_wording import (
    START_TIP,
    STATE_TEXT,
    ended_progress_text,
    ended_text,
)
from workbench.ui import theme
from workbench.ui.theme import label

#: Epochs "Train more" adds unless told otherwise.
DEFAULT_MORE_EPOCHS = 5
#: The speed and time left beside the bar change this often (s), not at every tick.
STATS_INTERVAL_S = 0.25


class RunControls(QWidget):
    """The row of run buttons, the epochs Train more adds, and a hint beside them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.start_button.setStyleSheet(
            "QPushButton#primary:disabled { background: #a7bdf0; color: #eef2fb; }"
        )
        self.start_button.setToolTip(START_TIP)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause after the current batch")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the paused run")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End the run after the current batch; the best model is kept")
        self.more_button = QPushButton("Train more")
        self.more_button.setToolTip("Continue the last run from its last checkpoint")
        self.resume_run_button = QPushButton("Resume interrupted run")
        self.resume_run_button.setObjectName("resumeInterrupted")
        self.resume_run_button.setToolTip(
            "Continue the interrupted run from its last checkpoint, with its own settings"
        )
        self.resume_run_button.hide()
        for b in (self.pause_button, self.resume_button, self.stop_button, self.more_button):
            b.setObjectName("secondary")
        run_buttons = (
            self.start_button,
            self.resume_run_button,
            self.pause_button,
            self.resume_button,
            self.stop_button,
        )
        for b in (*run_buttons, self.more_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
        self.more_spin = QSpinBox()
        self.more_spin.setObjectName("moreEpochs")
        self.more_spin.setRange(1, 1_000_000)
        self.more_spin.setValue(DEFAULT_MORE_EPOCHS)
        self.more_spin.setSuffix(" epochs")
        self.more_spin.setToolTip("How many more epochs Train more trains")
        self.hint = label("", "muted", wrap=True)
        self.hint.setObjectName("startHint")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(6)
        for b in run_buttons:
            row.addWidget(b)
        row.addSpacing(16)
        row.addWidget(self.more_button)
        row.addWidget(self.more_spin)
        row.addSpacing(12)
        row.addWidget(self.hint, 1)

    def more_epochs(self) -> int:
        """Epochs "Train more" adds."""
        return int(self.more_spin.value())

    def show_state(
        self,
        state: str,
        running: bool,
        problem: str | None,
        can_train_more: bool,
        can_resume: bool,
        hint: str,
    ) -> None:
        """Enable the buttons that make sense now.

        Args:
            state: The controller's: ``idle``, ``starting``, ``running``, ``paused`` or
                ``stopping``.
            running: Whether a run's thread is on (from Start until it ended).
            problem: Why Start cannot be pressed, or None.
            can_train_more: Whether the last run can continue.
            can_resume: Whether an interrupted run can be resumed.
            hint: The note beside the buttons.
        """
        self.start_button.setEnabled(not running and problem is None)
        self.start_button.setToolTip(problem or START_TIP)
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(state in ("starting", "running", "paused"))
        self.stop_button.setText("Stopping…" if state == "stopping" else "Stop")
        self.more_button.setEnabled(can_train_more)
        self.resume_run_button.setVisible(can_resume)
        self.more_spin.setEnabled(can_train_more)
        self.hint.setText(hint)


class ProgressRow(QWidget):
    """The run's status, its progress bar, the speed and time left, and the GPU memory."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not started")
        self.progress.setMinimumWidth(260)
        self.status_label = QLabel("")
        self.status_label.setObjectName("trainStatus")
        self.status_label.setFont(theme.bold(self.status_label.font()))
        self.stats_label = label("", "muted")
        self.stats_label.setObjectName("trainStats")
        self.memory_label = label("", "muted")
        self.memory_label.setObjectName("gpuMemory")
        self.memory_label.hide()
        self._stats_at = 0.0
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(10)
        row.addWidget(self.status_label)
        row.addWidget(self.progress, 1)
        row.addWidget(self.stats_label)
        row.addWidget(self.memory_label)

    def show_idle(self, note: str = "") -> None:
        """No run: "Not started", with ``note`` (the last run, say) beside the bar."""
        self.status_label.setStyleSheet("")
        self.status_label.setText("")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Not started")
        self.stats_label.setText(note)
        self.memory_label.hide()

    def show_past(self, status: str, title: str, text: str, done: int, total: int | None) -> None:
        """A past run's end (a project reopened): ``title`` beside the bar, ``text`` on it."""
        color = {"failed": theme.ERROR, "finished": theme.OK, "early-stopped": theme.OK}.get(
            status, theme.TEXT
        )
        self.status_label.setStyleSheet(f"color: {color};")
        self.status_label.setText(title)
        self.progress.setRange(0, max(1, total or done))
        self.progress.setValue(min(done, max(1, total or done)))
        self.progress.setFormat(text)
        self.stats_label.setText("")
        self.memory_label.hide()

    def show_state(self, state: str) -> None:
        """The status of a run in progress (``starting``, ``running``...)."""
        self.status_label.setText(STATE_TEXT.get(state, ""))

    def show_preparing(self) -> None:
        """A run is starting: busy until the trainer reports its size."""
        self.status_label.setStyleSheet("")
        self.progress.setRange(0, 0)
        self.progress.setFormat("Preparing…")
        self.stats_label.setText("")

    def show_start(self, run: RunProgress) -> None:
        """The run reported its start: its size, where it is, and whether it reports memory."""
        self.progress.setRange(0, run.total_steps())
        self.progress.setValue(run.global_step)
        self.memory_label.setVisible(run.info.get("total_memory") is not None)

    def show_progress(self, run: RunProgress, starting: bool, paused: bool = False) -> None:
        """Bring the bar and the figures beside it up to date (every drain tick)."""
        if not run.started or starting:
            preparing = run.preparing()
            if preparing is not None:
                done, total, text = preparing
                self.progress.setRange(0, total)
                self.progress.setValue(done)
                self.progress.setFormat(text)
            return
        self.progress.setValue(min(self.progress.maximum(), run.global_step))
        self.progress.setFormat(run.progress_text())
        now = time.perf_counter()
        run.speed.trim(now)
        if now - self._stats_at < STATS_INTERVAL_S and not paused:
            return
        self._stats_at = now
        self.stats_label.setText(run.stats_text(paused))
        memory = run.memory_text()
        if memory is not None:
            self.memory_label.setText(memory)

    def show_end(self, status: str, epochs_done: int, run: RunProgress) -> None:
        """The run ended (``run`` as it was at its end): how, and after how many epochs."""
        self.progress.setRange(0, max(1, self.progress.maximum()))
        self.status_label.setText(ended_text(status))
        color = (
            theme.ERROR if status == "failed" else theme.OK if status == "finished" else theme.TEXT
        )
        self.status_label.setStyleSheet(f"color: {color};")
        self.stats_label.setText("")
        self.progress.setFormat(ended_progress_text(status, epochs_done, run.epoch, run.started))
        if status == "finished":
            self.progress.setValue(self.progress.maximum())


__all__ = ["DEFAULT_MORE_EPOCHS", "ProgressRow", "RunControls"]
