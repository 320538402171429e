"""One training run on a worker thread, as the window runs it: its inputs, its control
flags, the feed of events it reports through, and how it ended.

The window (:mod:`workbench.ui.train.controller`) fills a :class:`TrainJob` on Start and
hands its :meth:`~TrainJob.run` to a thread. The job sets a training session up through
:mod:`workbench.engine.session` (as ``workbench train`` does: the dataset opened and
prepared, the model compiled, the run folder made) and calls its ``fit``. A
:class:`FeedCallback` appends events to a thread-safe :class:`EventFeed` (batch losses are
read from the device in bursts, at most :data:`FEED_HZ` times a second), which the window
drains on a timer. Pause, Resume and Stop set flags the trainer checks at batch
boundaries. Nothing here imports Qt, and torch only inside the functions that train.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.engine.config import TrainConfig, TrainError

if TYPE_CHECKING:
    import torch

    from workbench.core.document import Document
    from workbench.core.graph import Graph
    from workbench.data.base import DataSettings
    from workbench.engine.trainer import Trainer

#: The most often a job reads batch losses from the device and reports the preparation's
#: progress (Hz); the window drains the feed as often.
FEED_HZ = 25

Event = tuple[Any, ...]


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
    it, so that importing this module (the window does) does not import torch.

    Batch losses stay tensors until a flush, which happens at most ``1 / interval``
    times a second (and at every epoch end): one read from the device per flush, not
    one per batch, so a GPU is not made to wait batch by batch.

    Events: ``("start", info)``, ``("batches", steps, losses, info)``, ``("epoch", row)``,
    ``("checkpoint", kind, epoch)``, ``("end", status, message)``, ``("error", message)``.
    """

    def __init__(
        self,
        feed: EventFeed,
        interval: float = 1.0 / FEED_HZ,
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

    def on_note(self, trainer: Trainer, text: str) -> None:
        """Put a note of the running trainer in the log (as the start's notes are)."""
        self.feed.log(f"Note: {text}")

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
    #: The test split's figures when the run ended (the trainer's ``test_record``), or
    #: why there are none.
    test: dict[str, Any] | None = None
    #: The test split's per-sample results (an ``Evaluation``) when the run ended, for the
    #: window's Evaluate tab; never recorded.
    evaluation: Any = None

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
            test=self.test,
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
    def pause_requested(self) -> bool:
        """True from a pause request until :meth:`resume` (the loop may not have paused yet)."""
        return self._pause

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
            outcome.test = trainer.test_record
            outcome.evaluation = trainer.test_evaluation
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
            if now - last[0] >= 1.0 / FEED_HZ or (total and done >= total):
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


def last_run(document: Document) -> dict[str, Any] | None:
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


__all__ = [
    "FEED_HZ",
    "Event",
    "EventFeed",
    "FeedCallback",
    "RunOutcome",
    "TrainJob",
    "last_run",
    "warm_up_training",
]
