"""The Train tab's controller: one run at a time, off the GUI thread.

Start copies what the run needs from the document (graph, dataset settings, training
settings) into a :class:`~workbench.engine.job.TrainJob` and hands its ``run`` to a thread
(:func:`workbench.ui.workers.run_task`). A QTimer drains the job's event feed
:data:`DRAIN_HZ` times a second and hands the events to the Train tab. The GUI never waits
on the worker: Pause, Resume and Stop set flags the trainer checks at batch boundaries,
and the run's end is handled when the thread's ``finished`` signal arrives; the run is
then recorded in the project's runs list.
"""

from __future__ import annotations

import atexit
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from shiboken6 import isValid

from workbench.engine.config import TrainConfig, TrainError
from workbench.engine.job import FEED_HZ, RunOutcome, TrainJob, last_run
from workbench.engine.train_wording import dataset_name, start_problem, status_message
from workbench.ui.train.tab import TrainTab
from workbench.ui.workers import Task, run_task

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.engine.runs import Interrupted
    from workbench.ui.window import MainWindow

#: How often the GUI drains the feed (Hz): as often as the job reports.
DRAIN_HZ = FEED_HZ

#: Jobs whose thread has not ended; asked to stop when the interpreter exits.
_LIVE_JOBS: set[TrainJob] = set()


@dataclass(frozen=True)
class StartWeights:
    """Trained weights the next Start begins from: a run restored into the builder."""

    run_id: str
    name: str
    checkpoint: Path
    #: The epoch the weights are from, when known.
    epoch: int | None = None
    #: The model before the restore: while the document is back to it (the restore was
    #: undone) the weights do not apply. None: they always apply.
    before: dict[str, Any] | None = None


class TrainingController(QObject):
    """Runs training for the window's document and keeps the Train tab current.

    Signals:
        state_changed(str): ``idle``, ``starting``, ``running``, ``paused`` or ``stopping``.
        run_finished(object): The :class:`RunOutcome`, once the thread has ended.
    """

    state_changed = Signal(str)
    run_finished = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.document: Document | None = None
        self.job: TrainJob | None = None
        self.task: Task | None = None
        self.state = "idle"
        #: The last run of this document: {"id", "dir", "status", "epochs"} or None.
        self.last_run: dict[str, Any] | None = None
        self.last_outcome: RunOutcome | None = None
        #: The document's newest run when its process was killed while it trained, or None.
        self.interrupted: Interrupted | None = None
        #: Interrupted runs whose resuming was refused (not offered again in this session).
        self._refused: set[str] = set()
        #: Weights the next Start begins from (see :meth:`use_weights`).
        self.start_weights: StartWeights | None = None
        self._job_document: Document | None = None
        self._then: list[Callable[[], None]] = []
        self._stop_asked_at: float | None = None
        #: Seconds from the last stop request to the end of the thread.
        self.last_stop_seconds: float | None = None
        self._gc = GuiThreadGC()
        gc_state = self._gc
        self.destroyed.connect(lambda *_a: gc_state.give_back())  # no reference to self
        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(int(1000 / DRAIN_HZ))
        self._drain_timer.timeout.connect(self._drain)
        self.tab: TrainTab = TrainTab(self)

    # --- state -----------------------------------------------------------------------------------

    def is_running(self) -> bool:
        """True from Start until the worker thread has ended."""
        return self.task is not None

    def is_stopping(self) -> bool:
        """True after Stop while the run winds down."""
        return self.state == "stopping"

    def is_paused(self) -> bool:
        """True while the training loop waits in a pause."""
        return self.job is not None and self.job.is_paused

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.tab.update_controls()
            self.state_changed.emit(state)

    # --- the document ----------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Follow the window's document (a run of the previous one is stopped)."""
        if self.document is not None:
            self.document.unsubscribe(self._on_document_changed)
        self.document = document
        document.subscribe(self._on_document_changed)
        if self.is_running() and self._job_document is not document:
            self.stop()
        self.start_weights = None
        self.last_run = last_run(document)
        self._find_interrupted()
        self.tab.set_document(document)

    def runs_changed(self) -> None:
        """Runs were deleted: the last run and an interrupted one are looked up again."""
        if self.document is None or self.is_running():
            return
        self.last_run = last_run(self.document)
        self._find_interrupted()
        self.tab.update_controls()

    def use_weights(self, weights: StartWeights | None) -> None:
        """Have the next Start train a new run from ``weights`` (None: from scratch)."""
        self.start_weights = weights
        self.tab.show_start_weights()

    def pending_weights(self) -> StartWeights | None:
        """The weights the next Start begins from, or None (none, or their restore was undone)."""
        weights, doc = self.start_weights, self.document
        if weights is None or doc is None:
            return None
        if weights.before is not None and doc.graph.to_dict() == weights.before:
            return None
        return weights

    def _on_document_changed(self, document: Document) -> None:
        self.tab.document_changed()

    def dataset_name(self) -> str | None:
        """The file or folder name of the document's dataset, or None without one."""
        return dataset_name(self.document)

    def start_problem(self) -> str | None:
        """Why Start cannot be pressed now, or None when it can."""
        return start_problem(self.document)

    def can_train_more(self) -> bool:
        """True when the last run can continue: it ended (finished or stopped) with a checkpoint."""
        run = self.last_run
        if run is None or self.is_running() or self.document is None:
            return False
        return (
            run.get("status") in ("finished", "stopped")
            and (Path(run["dir"]) / "checkpoints" / "last.pt").is_file()
        )

    def can_resume_interrupted(self) -> bool:
        """True when the document's newest run was interrupted (killed) and can be resumed now."""
        doc = self.document
        return (
            self.interrupted is not None
            and not self.is_running()
            and doc is not None
            and doc.path is not None
        )

    def _find_interrupted(self) -> None:
        """Look for an interrupted run of the document (status files only: no torch, no wait)."""
        from workbench.core.project import ProjectError
        from workbench.engine.runs import interrupted_run

        self.interrupted = None
        doc = self.document
        if doc is None or doc.path is None:
            return
        try:
            found = interrupted_run(doc.path)
        except (OSError, ProjectError, ValueError):
            return
        if found is not None and found.run.id not in self._refused:
            self.interrupted = found

    # --- control -----------------------------------------------------------------------------------

    def start(self, init_from: Path | None = None) -> bool:
        """Start a new run with the form's settings; False (with a message) when it cannot.

        ``init_from``: a checkpoint of an earlier run whose weights the new run starts from;
        by default the weights of a run restored into the builder (:meth:`use_weights`),
        used by this one Start.
        """
        if self.is_running():
            return False
        weights = self.pending_weights() if init_from is None else None
        if weights is not None:
            init_from = weights.checkpoint
        problem = self.start_problem()
        if problem is not None:
            self.tab.show_banner(problem)
            return False
        config = self._config()
        if config is None:
            return False
        doc = self.document
        assert doc is not None
        if doc.path is None and not self._save_first():
            return False
        assert doc.path is not None
        from workbench.data import DataError
        from workbench.data.link import settings_from_project

        try:
            settings = settings_from_project(doc.project, doc.path)
        except DataError as e:
            self.tab.show_banner(f"The project's dataset settings cannot be used: {e}")
            return False
        assert settings is not None
        job = TrainJob(
            doc.path, config, graph=doc.graph.copy(), settings=settings, init_from=init_from
        )
        action = None
        if weights is not None:
            action = f"Starting a new run from the weights of “{weights.name}” ({weights.run_id})"
            self.use_weights(None)  # once: the next Start begins from scratch again
        self.tab.begin_run(new=True, dataset=Path(settings.path).name, action=action)
        return self._launch(job)

    def train_more(self, epochs: int | None = None) -> bool:
        """Continue the last run for ``epochs`` more epochs (the tab's spin box by default)."""
        if self.is_running() or not self.can_train_more():
            return False
        config = self._config()
        if config is None:
            return False
        more = int(epochs if epochs is not None else self.tab.more_epochs())
        assert (
            self.last_run is not None
            and self.document is not None
            and self.document.path is not None
        )
        job = TrainJob(
            self.document.path, config, continue_run=Path(self.last_run["dir"]), more_epochs=more
        )
        self.tab.begin_run(new=False, dataset=self.dataset_name() or "")
        return self._launch(job)

    def resume_interrupted(self) -> bool:
        """Continue the interrupted run from its checkpoint, as ``workbench train --resume`` does.

        The run keeps its own settings (the form's apply to new runs). A damaged checkpoint or
        changed data is refused; the window then offers a new run from the run's weights.
        """
        if not self.can_resume_interrupted():
            return False
        interrupted, doc = self.interrupted, self.document
        assert interrupted is not None and doc is not None and doc.path is not None
        try:  # only the thread count of the preparation is read from it
            config = TrainConfig.from_dict(doc.project.training)
        except TrainError:
            config = TrainConfig()
        job = TrainJob(doc.path, config, resume_run=interrupted.run.path)
        self.interrupted = None
        self.tab.begin_run(
            new=False,
            dataset=self.dataset_name() or "",
            action=f"Resuming run {interrupted.run.id}",
        )
        return self._launch(job)

    def _config(self) -> TrainConfig | None:
        doc = self.document
        assert doc is not None
        try:
            config = TrainConfig.from_dict(doc.project.training, device=self.tab.device())
        except TrainError as e:
            self.tab.show_banner(f"The training settings are not valid: {e}")
            return None
        return config

    def _save_first(self) -> bool:
        self.window.show_status(
            "Save the project first: its runs are kept in a folder beside it", 10000
        )
        return (
            bool(self.window.save_project())
            and self.document is not None
            and self.document.path is not None
        )

    def _launch(self, job: TrainJob) -> bool:
        self.job = job
        self._job_document = self.document
        self.last_outcome = None
        self.last_stop_seconds = None
        self._stop_asked_at = None
        self.tab.hide_banner()
        _LIVE_JOBS.add(job)
        self._gc.take_over()
        self.task = run_task(job.run, name="train")
        self.task.finished.connect(self._on_task_finished)
        self._drain_timer.start()
        self._set_state("starting")
        return True

    def pause(self) -> None:
        """Pause the run at the next batch boundary."""
        if self.job is not None and self.state == "running":
            self.job.request_pause()
            self._set_state("paused")

    def resume(self) -> None:
        """Continue a paused run."""
        if self.job is not None and self.state == "paused":
            self.job.resume()
            self.tab.resumed()
            self._set_state("running")

    def stop(self, then: Callable[[], None] | None = None) -> None:
        """Ask the run to end (within a batch); ``then`` is called once the thread has ended.

        Never waits: the end is handled when the worker's thread reports ``finished``.
        """
        if then is not None:
            if self.is_running():
                self._then.append(then)
            else:
                QTimer.singleShot(0, then)
        if self.job is None or not self.is_running():
            return
        if self._stop_asked_at is None:
            self._stop_asked_at = time.perf_counter()
        self.job.request_stop()
        self._set_state("stopping")

    def shutdown(self) -> None:
        """The window is closing: ask a run to stop (the thread ends by itself)."""
        self._drain_timer.stop()
        if self.job is not None:
            self.job.request_stop()
        self.tab.shutdown()

    # --- events ------------------------------------------------------------------------------------

    @Slot()
    def _drain(self) -> None:
        job = self.job
        if job is None or not isValid(self.tab):
            return
        events = job.feed.take()
        if events:
            if self.state == "starting" and any(ev[0] == "start" for ev in events):
                self._set_state("running")
                if job.pause_requested:
                    self._set_state("paused")
            self.tab.apply_events(events)
        self.tab.tick(paused=self.is_paused())
        self._gc.collect()

    @Slot()
    def _on_task_finished(self) -> None:
        job = self.job
        self._gc.give_back()
        if not isValid(self.tab):  # the window was destroyed without closing (tests, crashes)
            _LIVE_JOBS.discard(self.job)
            self.task = self.job = None
            return
        self._drain()
        self._drain_timer.stop()
        if self._stop_asked_at is not None:
            self.last_stop_seconds = time.perf_counter() - self._stop_asked_at
        self.task = None
        self.job = None
        _LIVE_JOBS.discard(job)
        outcome = job.outcome if job is not None else None
        if outcome is None:  # the task was cancelled before the job began
            outcome = RunOutcome("stopped", "stopped before training started")
        self.last_outcome = outcome
        document = self._job_document
        self._job_document = None
        if outcome.run_id is not None and outcome.run_dir is not None and document is not None:
            self._record(document, outcome)
            if document is self.document:
                self.last_run = {
                    "id": outcome.run_id,
                    "dir": outcome.run_dir,
                    "status": outcome.status,
                    "epochs": outcome.epochs_done,
                }
        if outcome.refused_run is not None:
            self._refused.add(outcome.refused_run)
        self._find_interrupted()
        self._set_state("idle")
        self.tab.end_run(outcome)
        if document is not self.document and self.document is not None:
            self.tab.set_document(self.document)  # the run belonged to a project closed meanwhile
        self.window.show_status(
            status_message(outcome.status, outcome.message),
            15000 if outcome.status == "failed" else 10000,
        )
        self.run_finished.emit(outcome)
        then, self._then = self._then, []
        for fn in then:
            QTimer.singleShot(0, fn)
        if outcome.refused_weights is not None and document is self.document:
            QTimer.singleShot(0, lambda: self.offer_new_run(outcome))

    def offer_new_run(self, outcome: RunOutcome) -> bool:
        """Continuing was refused: ask whether to start a new run from the run's intact weights."""
        if outcome.refused_weights is None or self.is_running():
            return False
        if not self.ask_new_run_from_weights(outcome.message):
            return False
        return self.start(init_from=Path(outcome.refused_weights))

    def ask_new_run_from_weights(self, message: str) -> bool:
        """The question dialog: "Start a new run from these weights" or Cancel."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(self.window)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("This run cannot be continued")
        box.setText(message[:1].upper() + message[1:] + ".")
        box.setInformativeText(
            "A new run can start from the weights this run saved, on the data as it is now."
        )
        start = box.addButton(
            "Start a new run from these weights", QMessageBox.ButtonRole.AcceptRole
        )
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.exec()
        return box.clickedButton() is start

    def _record(self, document: Document, outcome: RunOutcome) -> None:
        """Add or update the run's entry in the project's runs list (saved with the project)."""
        from workbench.engine.session import update_runs

        assert outcome.run_dir is not None and outcome.run_id is not None
        update_runs(
            document.project.runs,
            outcome.run_id,
            Path(outcome.run_dir),
            document.path,
            outcome.record(),
        )
        # A run is not a user edit: write it into the project file, don't mark it modified.
        document.save_runs()


class GuiThreadGC:
    """While a run is on, Python's cyclic garbage collector runs on the GUI thread only.

    Automatic collection runs on whichever thread happens to allocate. On the training
    thread it would destroy Qt objects left in reference cycles (old windows, dialogs) off
    the GUI thread — measured here: a deadlock between that thread, waiting for the
    interpreter inside a QObject destructor, and the GUI thread destroying widgets.
    So during a run automatic collection is off, the objects that existed at Start are
    frozen (a full collection of them costs ~0.2 s, a stall), and the drain timer collects
    the young generations as the thresholds say. Everything is put back at the end.
    """

    def __init__(self) -> None:
        self.active = False
        self._was_enabled = True

    def take_over(self) -> None:
        """Stop automatic collection (called on the GUI thread at Start)."""
        if self.active:
            return
        self.active = True
        self._was_enabled = gc.isenabled()
        gc.disable()
        gc.freeze()

    def collect(self) -> None:
        """Collect what the thresholds ask for (called on the GUI thread at every drain)."""
        if not self.active:
            return
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = -1
        for g in range(3):
            if thresholds[g] and counts[g] > thresholds[g]:
                generation = g
        if generation >= 0:
            gc.collect(generation)

    def give_back(self) -> None:
        """Automatic collection as before (called on the GUI thread when the run's thread ended)."""
        if not self.active:
            return
        self.active = False
        gc.unfreeze()
        if self._was_enabled:
            gc.enable()


def _stop_at_exit() -> None:
    """At interpreter exit: stop every run, paused ones included, so their threads can end.

    Registered after :mod:`workbench.ui.workers`, so it runs before that module waits
    for the threads.
    """
    for job in list(_LIVE_JOBS):
        job.request_stop()


atexit.register(_stop_at_exit)


__all__ = ["DRAIN_HZ", "GuiThreadGC", "StartWeights", "TrainingController"]
