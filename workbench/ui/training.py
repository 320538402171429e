"""Training in the background: a worker thread runs the Trainer, the GUI drains its events.

:class:`TrainingController` owns one run at a time. Start copies what the run needs
from the document (graph, dataset settings, training settings) into a :class:`TrainJob`
and hands it to a thread (:func:`workbench.ui.workers.run_task`). The job does all the
heavy work there: it imports torch and sets up a training session
(:mod:`workbench.engine.session`, as ``workbench train`` does: the dataset opened and
prepared, the model compiled, the run folder made) and calls its ``fit``. A :class:`FeedCallback` appends
events to a thread-safe :class:`EventFeed` — batch losses are read from the device in
bursts, at most ~25 times a second — and a GUI-side QTimer drains the feed at the same
rate and hands the events to the Train tab. The GUI never waits on the worker: Pause,
Resume and Stop set flags the trainer checks at batch boundaries, and the run's end is
handled when the thread's ``finished`` signal arrives.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from shiboken6 import isValid

from workbench.engine.config import TrainConfig, TrainError
from workbench.ui.workers import Task, run_task

if TYPE_CHECKING:
    import torch

    from workbench.core.document import Document
    from workbench.core.graph import Graph
    from workbench.data.base import DataSettings
    from workbench.engine.runs import Interrupted
    from workbench.engine.trainer import Trainer
    from workbench.ui.train_tab import TrainTab
    from workbench.ui.window import MainWindow

#: How often the GUI drains the feed, and the most often the worker reads losses (Hz).
DRAIN_HZ = 25
#: Epochs "Train more" adds unless told otherwise.
DEFAULT_MORE_EPOCHS = 5

Event = tuple[Any, ...]

#: Jobs whose thread has not ended; asked to stop when the interpreter exits.
_LIVE_JOBS: set[TrainJob] = set()


class EventFeed:
    """A thread-safe buffer of events: the worker appends, the GUI takes them all per tick.

    ``deque.append`` and ``popleft`` are atomic, so neither side ever holds a lock the
    other could wait on.
    """

    def __init__(self) -> None:
        self._events: deque[Event] = deque()
        #: Set once an ``error`` event was put (so a failure is reported once).
        self.error_reported = False

    def put(self, *event: Any) -> None:
        """Append one event, e.g. ``put("log", "text")``."""
        self._events.append(event)

    def log(self, text: str) -> None:
        """Append a line for the log panel."""
        self._events.append(("log", text))

    def take(self) -> list[Event]:
        """Remove and return every event appended so far, oldest first."""
        out: list[Event] = []
        pop = self._events.popleft
        while True:
            try:
                out.append(pop())
            except IndexError:
                return out

    def __len__(self) -> int:
        return len(self._events)


class FeedCallback:
    """Reports a run to an :class:`EventFeed` from the training thread.

    It has every hook of :class:`workbench.engine.trainer.Callback` without subclassing
    it, so that importing this module (with the window) does not import torch.

    Batch losses stay tensors until a flush, which happens at most ``1 / interval``
    times a second (and at every epoch end): one read from the device per flush, not
    one per batch, so a GPU is not made to wait batch by batch.

    Events: ``("start", info)``, ``("batches", steps, losses, info)``, ``("epoch", row)``,
    ``("checkpoint", kind, epoch)``, ``("end", status, message)``, ``("error", message)``.
    """

    def __init__(
        self,
        feed: EventFeed,
        interval: float = 1.0 / DRAIN_HZ,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self.feed = feed
        self.interval = interval
        self.cancelled = cancelled
        self._pending: list[torch.Tensor] = []
        self._last = 0.0
        self._cuda = False

    def on_fit_start(self, trainer: Trainer) -> None:
        """Describe the run: device, sizes, metric names and the history of a continued run."""
        import torch

        self._cuda = trainer.device.type == "cuda"
        total_memory = None
        if self._cuda:
            total_memory = int(torch.cuda.get_device_properties(trainer.device).total_memory)
            with contextlib.suppress(Exception):
                torch.cuda.reset_peak_memory_stats(trainer.device)
        run = trainer.run
        self.feed.put(
            "start",
            {
                "run_id": run.id if run is not None else None,
                "run_dir": str(run.path) if run is not None else None,
                "device": str(trainer.device),
                "epochs": int(trainer.config.epochs),
                "epoch": int(trainer.epoch),
                "global_step": int(trainer.global_step),
                "batches_per_epoch": int(trainer.batches_per_epoch),
                "batch_size": int(trainer.config.batch_size),
                "num_train": int(trainer.num_train),
                "num_val": len(trainer.prepared.val),
                "task": trainer.prepared.task,
                "metric_keys": list(trainer.metric_keys()),
                "monitor": trainer.monitor,
                "loss": getattr(trainer, "loss_name", ""),
                "history": [dict(row) for row in trainer.history],
                "notes": list(trainer.prepared.notes) + list(trainer.notes),
                "best_epoch": trainer.best_epoch,
                "total_memory": total_memory,
                "time": time.perf_counter(),
            },
        )
        self._last = time.perf_counter()

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """Tell the GUI a new epoch began."""
        self.feed.put("epoch_start", epoch, time.perf_counter())

    def on_batch_end(self, trainer: Trainer, batch: int, loss: torch.Tensor) -> None:
        """Keep the loss; flush when the interval has passed."""
        self._pending.append(loss)
        now = time.perf_counter()
        if now - self._last >= self.interval:
            self._last = now
            self._flush(trainer, now)
            if self.cancelled is not None and self.cancelled():
                trainer.request_stop()

    def _flush(self, trainer: Trainer, now: float | None = None) -> None:
        if not self._pending:
            return
        import numpy as np
        import torch

        pending, self._pending = self._pending, []
        losses = torch.stack(pending).float().cpu().numpy().astype(np.float64)
        last = trainer.global_step
        steps = np.arange(last - len(losses) + 1, last + 1, dtype=np.float64)
        info: dict[str, Any] = {
            "epoch": trainer.current_epoch,
            "batch": trainer.batch,
            "global_step": last,
            "lr": trainer.lr,
            "time": now if now is not None else time.perf_counter(),
        }
        if self._cuda:
            info["memory"] = int(torch.cuda.memory_allocated(trainer.device))
            info["peak_memory"] = int(torch.cuda.max_memory_allocated(trainer.device))
        self.feed.put("batches", steps, losses, info)

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """Nothing: the epoch's row carries the validation metrics."""

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Flush the epoch's last losses, then report its row."""
        self._flush(trainer)
        self.feed.put("epoch", dict(metrics))

    def on_checkpoint(self, trainer: Trainer, path: Path, kind: str) -> None:
        """Report a written checkpoint."""
        self.feed.put("checkpoint", kind, int(trainer.epoch))

    def on_fit_end(self, trainer: Trainer) -> None:
        """Report how the run ended."""
        self._flush(trainer)
        self.feed.put("end", trainer.status, trainer.message)

    def on_exception(self, trainer: Trainer, error: BaseException) -> None:
        """Report the failure (the losses read so far are kept)."""
        with contextlib.suppress(Exception):  # the device itself may be what failed
            self._flush(trainer)
        self._pending = []
        self.feed.error_reported = True
        self.feed.put("error", trainer.message or str(error))


@dataclass
class RunOutcome:
    """How a run ended, as the GUI records it in the project's runs list."""

    status: str  # finished, stopped, failed
    message: str
    run_id: str | None = None
    run_dir: str | None = None
    epochs_done: int = 0
    monitor: str | None = None
    best_epoch: int | None = None
    best_value: float | None = None
    final: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)
    started: str = ""
    ended: str = ""
    continued: bool = False
    #: Set when continuing was refused (a damaged checkpoint, changed data): an intact
    #: checkpoint of that run a new run could start from, and the run's id.
    refused_weights: str | None = None
    refused_run: str | None = None
    #: The run whose weights this run started from ({"run", "checkpoint", "epoch"}).
    from_run: dict[str, Any] | None = None

    def record(self) -> dict[str, Any]:
        """The fields of the project's runs entry (``id`` and ``path`` are added by the caller)."""
        from workbench.engine.session import run_entry

        return run_entry(
            self.status,
            self.message,
            epochs=self.epochs_done,
            ended=self.ended,
            training=self.training,
            monitor=self.monitor,
            best_epoch=self.best_epoch,
            best_value=self.best_value,
            final=self.final,
            started=None if self.continued else self.started,
            from_run=self.from_run,
        )


class _Stopped(Exception):
    """The run was stopped before the trainer started."""


class TrainJob:
    """One run's inputs, its control flags and its outcome; shared by the GUI and the worker.

    The GUI fills it on Start (copies, never the document's own objects) and calls
    :meth:`request_stop`, :meth:`request_pause` and :meth:`resume`; the worker runs
    :meth:`run` and leaves :attr:`outcome` behind.
    """

    def __init__(
        self,
        project_path: Path,
        config: TrainConfig,
        graph: Graph | None = None,
        settings: DataSettings | None = None,
        continue_run: Path | None = None,
        more_epochs: int = 0,
        init_from: Path | None = None,
        resume_run: Path | None = None,
    ) -> None:
        self.project_path = Path(project_path)
        self.config = config
        self.graph = graph
        self.settings = settings
        self.continue_run = Path(continue_run) if continue_run is not None else None
        self.more_epochs = more_epochs
        #: A new run starts from this checkpoint's weights (of an earlier run).
        self.init_from = Path(init_from) if init_from is not None else None
        #: An interrupted run (its process was killed) resumed as ``workbench train --resume`` does.
        self.resume_run = Path(resume_run) if resume_run is not None else None
        self.from_run: dict[str, Any] | None = None
        self.feed = EventFeed()
        self.outcome: RunOutcome | None = None
        self.trainer: Trainer | None = None
        self.run_id: str | None = None
        self.run_dir: Path | None = None
        self._lock = threading.Lock()
        self._stop = False
        self._pause = False
        self._task_cancelled: Callable[[], bool] = lambda: False

    # --- control (any thread) --------------------------------------------------------------

    def request_stop(self) -> None:
        """End the run at the next batch boundary (or before training if it has not begun)."""
        with self._lock:
            self._stop = True
            trainer = self.trainer
        if trainer is not None:
            trainer.request_stop()

    def request_pause(self) -> None:
        """Pause at the next batch boundary."""
        with self._lock:
            self._pause = True
            trainer = self.trainer
        if trainer is not None:
            trainer.request_pause()

    def resume(self) -> None:
        """Continue a paused run."""
        with self._lock:
            self._pause = False
            trainer = self.trainer
        if trainer is not None:
            trainer.resume()

    @property
    def stop_requested(self) -> bool:
        """True once a stop was asked for (here or by cancelling the task)."""
        return self._stop or self._task_cancelled()

    @property
    def is_paused(self) -> bool:
        """True while the training loop actually waits in a pause."""
        trainer = self.trainer
        return trainer is not None and trainer.is_paused

    def _attach(self, trainer: Trainer) -> None:
        with self._lock:
            self.trainer = trainer
            if self._stop:
                trainer.request_stop()
            elif self._pause:
                trainer.request_pause()

    # --- the work (the worker thread) ---------------------------------------------------------

    def run(
        self, progress: Callable[[int, int], None], cancelled: Callable[[], bool]
    ) -> RunOutcome:
        """Prepare and train; never raises: every failure becomes a ``failed`` outcome."""
        from workbench.engine.runs import ResumeRefused

        self._task_cancelled = cancelled
        started = time.strftime("%Y-%m-%dT%H:%M:%S")
        try:
            outcome = self._run()
        except _Stopped:
            outcome = RunOutcome("stopped", "stopped before training started")
        except ResumeRefused as e:
            outcome = RunOutcome(
                "failed",
                str(e),
                refused_run=e.run_id,
                refused_weights=str(e.weights) if e.weights is not None else None,
            )
        except TrainError as e:
            outcome = RunOutcome("failed", str(e))
        except Exception as e:  # noqa: BLE001 - the window stays up and says what happened
            traceback.print_exception(type(e), e, e.__traceback__)
            first = (str(e).strip().splitlines() or [""])[0]
            outcome = RunOutcome(
                "failed",
                f"training failed: {type(e).__name__}: {first}"
                if first
                else f"training failed: {type(e).__name__}",
            )
        if outcome.status == "failed" and not self.feed.error_reported:
            self.feed.error_reported = True
            self.feed.put("error", outcome.message)
        trainer = self.trainer
        outcome.run_id = self.run_id
        outcome.run_dir = str(self.run_dir) if self.run_dir is not None else None
        outcome.started = started
        outcome.ended = time.strftime("%Y-%m-%dT%H:%M:%S")
        outcome.continued = self.continue_run is not None or self.resume_run is not None
        outcome.from_run = self.from_run
        if trainer is not None:
            outcome.epochs_done = trainer.epoch
            outcome.training = trainer.config.to_dict()
            if trainer.history:
                outcome.monitor = trainer.monitor
                outcome.best_epoch, outcome.best_value = trainer.best_epoch, trainer.best_value
                outcome.final = dict(trainer.history[-1])
        self.outcome = outcome
        # Nothing of the run stays referenced once the GUI has read the outcome.
        self.trainer = None
        return outcome

    def _check_stop(self) -> None:
        if self.stop_requested:
            raise _Stopped

    def _run(self) -> RunOutcome:
        feed = self.feed
        import torch

        from workbench.engine.devices import default_cpu_threads
        from workbench.engine.runs import RunDir
        from workbench.engine.session import (
            SessionCancelled,
            continued_session,
            new_session,
            resumed_session,
        )

        config = self.config
        # Leave a core to the window while the data is prepared too (fit() sets it again).
        torch.set_num_threads(config.cpu_threads or default_cpu_threads())
        self._check_stop()
        last = [0.0]

        def prepare_progress(done: int, total: int) -> None:
            now = time.perf_counter()
            if now - last[0] >= 1.0 / DRAIN_HZ or (total and done >= total):
                last[0] = now
                feed.put("prepare", done, total)

        steps: dict[str, Any] = {
            "log": feed.log,
            "progress": prepare_progress,
            "cancelled": lambda: self.stop_requested,
        }
        # FeedCallback has Callback's hooks without subclassing it (no torch import with the window)
        callbacks: list[Any] = [FeedCallback(feed, cancelled=self._task_cancelled)]
        try:
            if self.resume_run is not None:
                session = resumed_session(
                    self.project_path, callbacks, run=RunDir(self.resume_run), **steps
                )
            elif self.continue_run is not None:
                run = RunDir(self.continue_run)
                if not run.last.exists():
                    raise TrainError(f"run {run.id} has no checkpoint to continue from")
                session = continued_session(
                    self.project_path,
                    run,
                    run.last,
                    callbacks,
                    more_epochs=self.more_epochs,
                    device=config.device,
                    verb="continued",
                    **steps,
                )
            else:
                assert self.graph is not None and self.settings is not None
                session = new_session(
                    self.project_path,
                    self.graph,
                    self.settings,
                    config,
                    callbacks,
                    init_from=self.init_from,
                    **steps,
                )
        except SessionCancelled:
            raise _Stopped from None
        self.from_run = session.from_run
        self.run_id, self.run_dir = session.run.id, session.run.path
        self._attach(session.trainer)
        result = session.fit()  # raises TrainError on failure, after recording it
        return RunOutcome(result.status, result.message)


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
        from workbench.ui.train_tab import TrainTab

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
        self.last_run = _last_run_of(document)
        self._find_interrupted()
        self.tab.set_document(document)

    def _on_document_changed(self, document: Document) -> None:
        self.tab.document_changed()

    def dataset_name(self) -> str | None:
        """The file or folder name of the document's dataset, or None without one."""
        doc = self.document
        if doc is None or not doc.project.dataset:
            return None
        path = str(doc.project.dataset.get("path") or "")
        return Path(path).name or path or None

    def start_problem(self) -> str | None:
        """Why Start cannot be pressed now, or None when it can."""
        doc = self.document
        if doc is None:
            return "Open a project first."
        if not doc.project.dataset:
            return "Import a dataset first (Data tab)."
        if not doc.graph.of_type("Input") or not doc.graph.of_type("Output"):
            return "The model needs an Input and an Output layer (Model tab)."
        if doc.analysis.errors:
            n = len(doc.analysis.errors)
            return f"Fix the model's {n} error{'s' if n != 1 else ''} first (Model tab)."
        return None

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

        ``init_from``: a checkpoint of an earlier run whose weights the new run starts from.
        """
        if self.is_running():
            return False
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
        self.tab.begin_run(new=True, dataset=Path(settings.path).name)
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
                if job._pause:
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
        if outcome.status == "failed":
            self.window.show_status(f"Training failed: {outcome.message}", 15000)
        else:
            message = outcome.message
            if not message.startswith(outcome.status):  # "stopped at epoch 5, batch 12; …"
                message = f"{outcome.status}: {message}"
            self.window.show_status(f"Training {message}", 10000)
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


def warm_up_training() -> list[tuple[str, str]]:
    """Import torch and everything a run uses; return this machine's devices as (id, label).

    Runs on a helper thread when the Train tab is first shown, so that Start does not
    spend its first moments importing (and the window does not share the interpreter
    with a long import just then).
    """
    import importlib

    from workbench.engine.devices import list_devices

    devices = [(d.id, d.label()) for d in list_devices()]
    for name in (
        "workbench.engine.trainer",
        "workbench.engine.compiler",
        "workbench.engine.runs",
        "workbench.engine.session",
        "workbench.engine.checkpoint",
        "workbench.engine.metrics",
        "workbench.engine.optim",
        "workbench.data.prepared",
        "workbench.data.tables",
        "workbench.data.arrays",
        "workbench.data.images",
        "workbench.data.image_pipeline",
    ):
        try:
            importlib.import_module(name)
        except ImportError:  # pragma: no cover - a run reports it when it needs the module
            pass
    # An optimizer's first use imports torch._dynamo and sympy (~800 modules); a first
    # convolution initialises the CPU kernels. Both happen here rather than at Start.
    import torch

    with contextlib.suppress(Exception):
        model = torch.nn.Sequential(
            torch.nn.Conv2d(1, 2, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2)
        )
        model(torch.zeros(2, 1, 6, 6))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model(torch.zeros(2, 1, 6, 6)).sum().backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
    return devices


def _last_run_of(document: Document) -> dict[str, Any] | None:
    """The newest run in the project's runs list whose folder still exists."""
    if document.path is None:
        return None
    base = document.path.resolve().parent
    for entry in reversed(document.project.runs):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            continue
        path = Path(str(entry.get("path") or ""))
        run_dir = path if path.is_absolute() else base / path
        if run_dir.is_dir():
            return {
                "id": entry["id"],
                "dir": str(run_dir),
                "status": entry.get("status"),
                "epochs": entry.get("epochs"),
            }
    return None
