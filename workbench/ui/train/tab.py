"""The Train tab: the settings form beside the run's buttons, progress, live curves and log.

:class:`TrainTab` puts the parts together and shows what the controller
(:class:`~workbench.ui.train.controller.TrainingController`) tells it: the document, the
start and end of a run, and the run's events, which :class:`~workbench.engine.run_progress.RunProgress`
turns into figures and log lines and :class:`~workbench.ui.train.plots.LivePlots` into curves.
Above the curves a switch shows the project's runs instead (the Runs panel, ``ui/runs``);
with no run on, the curves are the newest past run's, and a line says which run they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.core.text import sentence
from workbench.engine.config import TrainConfig
from workbench.engine.history_wording import (
    past_progress_text,
    past_status,
    shown_run_text,
    start_weights_text,
)
from workbench.engine.run_progress import RunProgress
from workbench.engine.train_form import curve_keys
from workbench.engine.train_wording import (
    empty_card,
    form_note,
    interrupted_text,
    last_run_text,
    run_action,
    split_results_text,
    start_hint,
)
from workbench.ui import theme
from workbench.ui.theme import label
from workbench.ui.train.controls import ProgressRow, RunControls
from workbench.ui.train.form import TrainForm
from workbench.ui.train.messages import Banner, EmptyCard, RunLog, WeightsNote
from workbench.ui.train.plots import LivePlots

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.engine.history import RunSummary
    from workbench.engine.job import RunOutcome
    from workbench.ui.train.controller import TrainingController

LOG_PLACEHOLDER = "The run's log: data preparation, each epoch's results, checkpoints and errors."


class TrainTab(QWidget):
    """The Train page; :class:`~workbench.ui.train.controller.TrainingController` drives it."""

    def __init__(self, controller: TrainingController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainTab")
        self.controller = controller
        self.document: Document | None = None
        self.plots: LivePlots | None = None
        self._plots_pending = False
        #: The run in progress (or the last one) as the window knows it.
        self.run_progress = RunProgress()
        self._other_scheduled = False
        #: The run whose curves show (None: none), and whether they were read from its
        #: record (a past run) rather than drawn live.
        self.shown_run: str | None = None
        self.shown_past = False
        self._past: RunSummary | None = None
        #: True once a run was started for this document (its outcome shows, not a past run).
        self._ran = False
        self._build()

    # --- the run's figures (read by the run indicator and the tests) ---------------------------

    @property
    def run_info(self) -> dict[str, Any]:
        """The run's ``start`` event (device, sizes...); {} while no run trains."""
        return self.run_progress.info

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The metrics-log rows of the run's epochs complete."""
        return self.run_progress.rows

    @property
    def global_step(self) -> int:
        """The run's batches trained so far."""
        return self.run_progress.global_step

    @property
    def epoch(self) -> int:
        """The epoch in progress (1-based)."""
        return self.run_progress.epoch

    @property
    def epochs_total(self) -> int:
        """The epochs the run trains."""
        return self.run_progress.epochs_total

    # --- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        self.form = TrainForm()
        self.form.device_changed.connect(lambda _d: self.update_controls())
        form_scroll = QScrollArea()
        form_scroll.setObjectName("trainSettings")
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        form_scroll.setWidget(self.form)
        left = QWidget()
        left_col = QVBoxLayout(left)
        left_col.setContentsMargins(0, 0, 0, 0)
        left_col.setSpacing(0)
        head = QWidget()
        head_col = QVBoxLayout(head)
        head_col.setContentsMargins(12, 10, 12, 0)
        head_col.addWidget(label("Settings", "heading"))
        self.form_note = label(form_note(False), "muted", wrap=True)
        head_col.addWidget(self.form_note)
        left_col.addWidget(head)
        left_col.addWidget(form_scroll, 1)
        left.setMinimumWidth(300)
        left.setMaximumWidth(420)
        self.settings_column = left

        self.controls = RunControls()
        c = self.controls
        self.start_button, self.pause_button = c.start_button, c.pause_button
        self.resume_button, self.stop_button = c.resume_button, c.stop_button
        self.more_button, self.more_spin = c.more_button, c.more_spin
        self.resume_run_button, self.hint = c.resume_run_button, c.hint
        self.start_button.clicked.connect(self.controller.start)
        self.pause_button.clicked.connect(self.controller.pause)
        self.resume_button.clicked.connect(self.controller.resume)
        self.stop_button.clicked.connect(lambda: self.controller.stop())
        self.more_button.clicked.connect(lambda: self.controller.train_more())
        self.resume_run_button.clicked.connect(lambda: self.controller.resume_interrupted())

        self.title = label("", "heading")
        self.subtitle = label("", "muted", wrap=True)
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress_row = ProgressRow()
        p = self.progress_row
        self.progress, self.status_label = p.progress, p.status_label
        self.stats_label, self.memory_label = p.stats_label, p.memory_label
        self.banner = Banner()
        self.weights_note = WeightsNote()
        self.weights_note.cleared.connect(lambda: self.controller.use_weights(None))

        # The plots (built on first show), with the empty state as a card on top of them
        # until a run draws. (The plots are there, blank, from the first show: at Start only
        # curves appear.)
        self.plot_area = QWidget()
        self.plot_area.setObjectName("plotArea")
        self._plot_grid = QGridLayout(self.plot_area)
        self._plot_grid.setContentsMargins(0, 0, 0, 0)
        self.empty = EmptyCard()
        self.empty.data_requested.connect(lambda: self.controller.window.show_page("data"))
        self.empty_title, self.empty_text = self.empty.title, self.empty.text
        self.data_button = self.empty.data_button
        self._plot_grid.addWidget(self.empty, 0, 0, Qt.AlignmentFlag.AlignCenter)
        self.log = RunLog(LOG_PLACEHOLDER)

        right = QWidget()
        right_col = QVBoxLayout(right)
        right_col.setContentsMargins(14, 10, 14, 8)
        right_col.setSpacing(8)
        right_col.addWidget(self.title)
        right_col.addWidget(self.subtitle)
        right_col.addWidget(self.controls)
        right_col.addWidget(self.progress_row)
        right_col.addWidget(self.banner)
        right_col.addWidget(self.weights_note)
        right_col.addLayout(self._build_view_switch())
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.setChildrenCollapsible(False)
        vsplit.addWidget(self.plot_area)
        log_box = QWidget()
        log_col = QVBoxLayout(log_box)
        log_col.setContentsMargins(0, 4, 0, 0)
        log_col.setSpacing(2)
        log_col.addWidget(label("LOG", "section"))
        log_col.addWidget(self.log)
        vsplit.addWidget(log_box)
        vsplit.setStretchFactor(0, 4)
        vsplit.setStretchFactor(1, 1)
        vsplit.setSizes([520, 130])
        self.views = QStackedWidget()
        self.views.setObjectName("trainViews")
        self.views.addWidget(vsplit)
        right_col.addWidget(self.views, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("trainSplit")
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 950])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self.update_controls()

    def _build_view_switch(self) -> QHBoxLayout:
        """The line over the curves: which run they show, and the Curves / All runs switch."""
        self.shown_label = label("", "muted")
        self.shown_label.setObjectName("shownRun")
        self.shown_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.curves_button = QPushButton("Curves")
        self.curves_button.setToolTip("The curves of the run in progress, or of the last run")
        self.runs_button = QPushButton("All runs")
        self.runs_button.setToolTip(
            "Every run of the project: compare their curves and settings, rename, delete, "
            "restore one into the builder (View ▸ Runs, Ctrl+Shift+R)"
        )
        self.runs_button.setEnabled(False)  # until the Runs panel is added
        group = QButtonGroup(self)
        group.setExclusive(True)
        sheet = (
            f"QPushButton#viewSwitch {{ border: 1px solid {theme.BORDER}; padding: 3px 14px; "
            f"background: {theme.PANEL}; color: {theme.TEXT}; border-radius: 4px; }}"
            f"QPushButton#viewSwitch:checked {{ background: {theme.ACCENT}; "
            f"border-color: {theme.ACCENT}; color: white; }}"
        )
        for b in (self.curves_button, self.runs_button):
            b.setObjectName("viewSwitch")
            b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
            b.setCheckable(True)
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.setStyleSheet(sheet)
            group.addButton(b)
        self.curves_button.setChecked(True)
        self.curves_button.clicked.connect(lambda: self.show_runs_view(False))
        self.runs_button.clicked.connect(lambda: self.show_runs_view(True))
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.shown_label)
        row.addStretch(1)
        row.addWidget(self.curves_button)
        row.addWidget(self.runs_button)
        return row

    def add_runs_view(self, panel: QWidget) -> None:
        """Give the tab the Runs panel its "All runs" switch shows."""
        self.runs_panel = panel
        self.views.addWidget(panel)
        self.runs_button.setEnabled(True)

    def show_runs_view(self, runs: bool) -> None:
        """Show the project's runs (``runs``) or the curves.

        The runs take the settings' place too: their table needs the width, and the
        settings are for the next run, a click away.
        """
        if runs and self.views.count() < 2:
            return
        self.views.setCurrentIndex(1 if runs else 0)
        self.settings_column.setVisible(not runs)
        (self.runs_button if runs else self.curves_button).setChecked(True)
        self.shown_label.setVisible(not runs)

    def runs_view_shown(self) -> bool:
        """True while the runs show instead of the curves."""
        return self.views.currentIndex() == 1

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(1200, 700)

    # --- plots, built once the tab is first shown ----------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.form.list_devices_soon()
        self.build_plots_soon()

    def build_plots_soon(self) -> None:
        """Build the plots on a later turn of the event loop, once pyqtgraph is imported.

        pyqtgraph's import (a fifth of a second) runs on a helper thread first, so the
        window does not stall when the tab opens.
        """
        if self.plots is not None or self._plots_pending:
            return
        self._plots_pending = True
        from workbench.ui.plot_warmup import warm_up_pyqtgraph

        warm_up_pyqtgraph()
        QTimer.singleShot(0, self._build_plots_when_ready)

    def _build_plots_when_ready(self) -> None:
        from workbench.ui.plot_warmup import pyqtgraph_ready

        if not pyqtgraph_ready():
            QTimer.singleShot(20, self._build_plots_when_ready)
            return
        self.ensure_plots()

    def ensure_plots(self) -> LivePlots:
        """The plots, built now if they were not yet."""
        if self.plots is None:
            self.plots = LivePlots()
            self.plots.setObjectName("livePlots")
            self._plot_grid.addWidget(self.plots, 0, 0)
            self.empty.raise_()
            self._sync_metric_curves()
            self._plots_pending = False
            if self.shown_past and self._past is not None:
                self._draw_past(self._past)
        return self.plots

    # --- the document --------------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Show a (new) document: its settings, and an empty chart unless a run is on."""
        self.document = document
        self.form.set_document(document)
        if not self.controller.is_running():
            self._forget_shown()
            self._ran = False
            self.hide_banner()
            self.empty.show()
            if self.plots is not None:
                self.plots.reset()
                self._settle_plots()
            self.run_progress.rows = []
            self.log.clear()
            run = self.controller.last_run
            interrupted = self.controller.interrupted
            note = ""
            if interrupted is not None:
                note = last_run_text(interrupted.run.id, "interrupted")
            elif run is not None:
                note = last_run_text(run["id"], run.get("status"))
            self.progress_row.show_idle(note)
            if interrupted is not None:
                self.show_interrupted()
        self.document_changed()

    # --- the runs of the project ------------------------------------------------------------------

    def show_history(self, runs: list[RunSummary], loaded: bool) -> None:
        """The project's runs were read: with no run on and none drawn, show the newest
        run's curves (a reopened project); otherwise name the run shown."""
        self.runs_button.setText(f"All runs ({len(runs)})" if loaded else "All runs")
        if not loaded or self.controller.is_running():
            return
        by_id = {r.id: r for r in runs}
        shown = by_id.get(self.shown_run or "")
        if shown is not None:
            self._name_shown(shown)
            return
        if (self.shown_run is not None or self._ran) and not self.shown_past:
            return  # a run of this session shows (its record may not be read yet), or how it failed
        latest = next((r for r in reversed(runs) if r.curves is not None and r.curves.epochs), None)
        if latest is not None:
            self._show_past(latest)
        elif self.shown_run is not None:
            self._forget_shown()
            if self.plots is not None:
                self.plots.reset()
                self._settle_plots()
            self._update_empty()
            self.empty.show()
            self.progress_row.show_idle()

    def forget_runs(self, run_ids: list[str]) -> None:
        """These runs were deleted: if one of them shows, the next read shows another."""
        if self.shown_run in run_ids and not self.controller.is_running():
            self.shown_past = True

    def _forget_shown(self) -> None:
        self.shown_run = None
        self.shown_past = False
        self._past = None
        self.shown_label.setText("")

    def _name_shown(self, run: RunSummary) -> None:
        self.shown_label.setText(shown_run_text(run))
        self.shown_label.setVisible(not self.runs_view_shown())

    def _show_past(self, run: RunSummary) -> None:
        """Show a past run's curves and how it ended."""
        self.shown_run, self.shown_past, self._past = run.id, True, run
        self.empty.hide()
        self.progress_row.show_past(
            run.status, past_status(run), past_progress_text(run), run.epochs, run.epochs_planned
        )
        self._name_shown(run)
        entry = self._runs_entry(run.id)
        test = split_results_text(entry.get("test") if entry else None)
        self.progress_row.stats_label.setText(test or "")
        self.log.clear()
        self.log_line(f"{run.name} ({run.id}): {run.message or run.label}")
        if test is not None:
            self.log_line(test)
        self.log_line(f"Run saved in {run.path}")
        if self.plots is not None:
            self._draw_past(run)

    def _runs_entry(self, run_id: str) -> dict[str, Any] | None:
        """The project's runs entry of run ``run_id``, if it has one."""
        doc = self.document
        runs = doc.project.runs if doc is not None else []
        return next((e for e in runs if isinstance(e, dict) and e.get("id") == run_id), None)

    def _draw_past(self, run: RunSummary) -> None:
        curves = run.curves
        if self.plots is None or curves is None:
            return
        total = max(run.epochs_planned or 0, max(curves.epochs, default=0))
        self.plots.show_past(curves.epochs, curves.series, total)
        self._settle_plots()

    def show_start_weights(self) -> None:
        """Say whether the next Start trains from a restored run's weights."""
        weights = self.controller.pending_weights()
        self.weights_note.show_text(
            start_weights_text(weights.name, weights.run_id, weights.checkpoint.name, weights.epoch)
            if weights is not None and not self.controller.is_running()
            else None
        )

    def show_interrupted(self) -> None:
        """Say that the project's newest run was interrupted and how to continue it."""
        interrupted = self.controller.interrupted
        if interrupted is None:
            return
        self.show_banner(interrupted_text(interrupted.describe()), "info")

    def _sync_metric_curves(self) -> None:
        """Make the metric curves the next run will draw (so Start adds none)."""
        if self.plots is None or self.controller.is_running() or self.shown_past:
            return
        task = self.form.task()
        self.plots.set_metrics(curve_keys(self.form.config() or TrainConfig(), task), task)

    def document_changed(self) -> None:
        """The document changed (an edit, an import, a save): update texts and buttons."""
        doc = self.document
        if doc is None:
            return
        self.form.refresh()
        self._sync_metric_curves()
        dataset = self.controller.dataset_name()
        self.title.setText(f"Train {doc.name}")
        self.subtitle.setText(f"on {dataset}" if dataset else "No dataset yet")
        self._update_empty()
        self.update_controls()
        self.show_start_weights()

    def _update_empty(self) -> None:
        """The card over the empty plots: what to do next."""
        doc = self.document
        if doc is None:
            return
        c = self.controller
        card = empty_card(doc, c.start_problem(), c.can_resume_interrupted(), c.dataset_name())
        self.empty.show_text(card)

    # --- controls ------------------------------------------------------------------------------------

    def device(self) -> str:
        """The device chosen in the picker."""
        return self.form.device()

    def more_epochs(self) -> int:
        """Epochs "Train more" adds."""
        return self.controls.more_epochs()

    def update_controls(self) -> None:
        """Enable the buttons that make sense now."""
        c = self.controller
        running = c.is_running()
        problem = c.start_problem() if not running else None
        can_more = c.can_train_more()
        last_status = c.last_run.get("status") if c.last_run is not None else None
        self.controls.show_state(
            c.state,
            running,
            problem,
            can_more,
            c.can_resume_interrupted(),
            start_hint(running, problem, last_status, can_more),
        )
        self.form.setEnabled(not running)
        self.form_note.setText(form_note(running))
        if running:
            self.progress_row.show_state(c.state)

    def show_banner(self, message: str, kind: str = "error") -> None:
        """Show ``message`` above the plots (``error`` red, ``info`` blue) until dismissed."""
        self.banner.show_message(message, kind)

    def hide_banner(self) -> None:
        """Hide the banner."""
        self.banner.hide()

    def banner_message(self) -> str:
        """The banner's text while it shows, else ''."""
        return self.banner.message()

    def log_line(self, text: str) -> None:
        """Append a line (with the time) to the log panel."""
        self.log.add(text)

    # --- a run ------------------------------------------------------------------------------------

    def begin_run(self, new: bool, dataset: str, action: str | None = None) -> None:
        """A run is starting: show the plots (cleared for a new run); ``action`` names it in the log."""
        plots = self.ensure_plots()
        if new:
            plots.reset()
            self._forget_shown()
            self.shown_label.setText("Showing the new run")
            self.shown_label.setVisible(not self.runs_view_shown())
        self.shown_past = False
        self._ran = True
        self.show_runs_view(False)  # a run shows itself in its curves
        self.run_progress.begin(new)
        self.weights_note.show_text(None)
        self.empty.hide()
        self.hide_banner()
        self.progress_row.show_preparing()
        self.log_line(run_action(new, dataset, action))

    def apply_events(self, events: list[tuple[Any, ...]]) -> None:
        """Take the worker's events since the last tick; redraw the curves once."""
        plots = self.ensure_plots()
        run = self.run_progress
        for event in events:
            kind = event[0]
            if kind == "batches":
                xs = event[1] / run.batches_per_epoch
                plots.add_batches(xs, event[2])
                plots.add_lr(float(xs[0]), float(event[3]["lr"]))
            lines = run.apply(event)
            if kind == "epoch":
                plots.add_epoch(event[1])
            elif kind == "start":
                self._show_start(plots)
            for line in lines:
                self.log_line(line)
            if kind == "error":
                self.show_banner(sentence(f"Training failed: {event[1]}"))
        plots.redraw_loss()
        if not self._other_scheduled:
            # The other plots repaint in a frame of their own, a moment after the loss plot's.
            self._other_scheduled = True
            QTimer.singleShot(15, self._redraw_other)

    def _redraw_other(self) -> None:
        self._other_scheduled = False
        if self.plots is not None:
            self.plots.redraw_other()

    def _show_start(self, plots: LivePlots) -> None:
        """The run reported its start (``run_progress`` has taken it)."""
        run = self.run_progress
        info = run.info
        plots.start_run(
            batches_per_epoch=run.batches_per_epoch,
            total_epochs=run.epochs_total,
            metric_keys=list(info["metric_keys"]),
            task=str(info.get("task", "classification")),
            epoch=int(info["epoch"]),
            global_step=run.global_step,
            history=run.rows,
        )
        self.progress_row.show_start(run)

    def resumed(self) -> None:
        """The run continues after a pause (the speed is measured afresh)."""
        self.run_progress.speed.clear()

    def tick(self, paused: bool = False) -> None:
        """Refresh the progress bar and its numbers (every drain tick)."""
        starting = self.controller.state == "starting"
        self.progress_row.show_progress(self.run_progress, starting, paused)

    def end_run(self, outcome: RunOutcome) -> None:
        """The run is over: show how it ended."""
        run = self.run_progress
        self.progress_row.show_end(outcome.status, outcome.epochs_done, run)
        if outcome.status == "failed":
            if not self.banner_message():
                self.show_banner(sentence(f"Training failed: {outcome.message}"))
            if not run.started and not run.failure_logged:
                self.log_line(f"Failed: {outcome.message}")
        elif outcome.status == "stopped" and not run.started:
            self.log_line("Stopped before training started")
        test = split_results_text(outcome.test)
        if test is not None:
            self.log_line(test)
            self.progress_row.stats_label.setText(test)
        if outcome.run_dir:
            self.log_line(f"Run saved in {outcome.run_dir}")
        if outcome.run_id is not None:
            self.shown_run, self.shown_past = outcome.run_id, False
            self.shown_label.setText(f"Showing run {outcome.run_id}")
        run.end()
        self._settle_plots()
        if not run.rows and (self.plots is None or not len(self.plots.raw)):
            self._update_empty()
            self.empty.show()  # nothing was drawn (it failed or was stopped before training)
        self.update_controls()

    def _settle_plots(self) -> None:
        """Draw what the last ticks left (one plot per turn of the event loop, as during a run)."""
        plots = self.plots
        if plots is None or self.controller.is_running():
            return
        if plots.pending():
            plots.redraw()
            QTimer.singleShot(40, self._settle_plots)

    def shutdown(self) -> None:
        """The window is closing."""
        self.form.commit_pending()


__all__ = ["TrainTab"]
