"""Run a function off the GUI thread, with throttled progress, cancel and queued results.

``run_task(fn)`` starts ``fn(progress, cancelled)`` on a fresh :class:`QThread` and
returns a :class:`Task` living in the GUI thread. The function reports through the
two callbacks the data layer already understands (``progress(done, total)`` and
``cancelled() -> bool``); the task turns that into Qt signals delivered on the GUI
thread: ``progressed`` (at most ~30 per second), ``partial`` (batched results, for
thumbnails and the like), then exactly one of ``succeeded``, ``failed`` or
``cancelled``, and last ``finished`` — emitted only once the thread has really ended,
so nothing is left running after it. The GUI thread never waits on the thread.
"""

from __future__ import annotations

import atexit
import gc
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, QTimer, Signal, Slot

#: Progress and partial results reach the GUI at most this often.
MAX_RATE_HZ = 30.0

ProgressFn = Callable[[int, int], None]
CancelledFn = Callable[[], bool]
PublishFn = Callable[[Any], None]

#: Every task that has not finished yet, so Python keeps its thread and worker alive.
_LIVE: set[Task] = set()


class _Worker(QObject):
    """Runs the function on the task's thread and reports through queued signals.

    It belongs to the GUI thread (it is never moved): ``run`` is called directly by the
    thread's ``started`` signal, and its signals, emitted from the task's thread, reach
    the GUI thread queued. Moving it back with ``moveToThread`` from the task's thread,
    as an earlier version did, could deadlock: that call holds Python's GIL while it
    waits for Qt's connection locks, which the GUI thread may hold while it waits for the
    GIL (PySide asks Python whether ``disconnectNotify`` is overridden during a
    ``disconnect``).
    """

    progressed = Signal(int, int)
    partial = Signal(object)
    done = Signal(str, object)  # outcome ("ok", "error", "cancelled"), value

    def __init__(self, fn: Callable[..., Any], with_publish: bool, stop: threading.Event) -> None:
        super().__init__()
        self._fn = fn
        self._with_publish = with_publish
        self._stop = stop
        self._last_emit = 0.0
        self._pending_progress: tuple[int, int] | None = None
        self._pending_partial: list[Any] = []

    # The callbacks below run in the worker thread, inside ``fn``.

    def _cancelled(self) -> bool:
        return self._stop.is_set()

    def _progress(self, done: int, total: int) -> None:
        self._pending_progress = (int(done), int(total))
        self._maybe_flush(final=bool(total) and done >= total)

    def _publish(self, item: Any) -> None:
        self._pending_partial.append(item)
        self._maybe_flush()

    def _maybe_flush(self, final: bool = False) -> None:
        now = time.monotonic()
        if final or now - self._last_emit >= 1.0 / MAX_RATE_HZ:
            self._last_emit = now
            self._flush()

    def _flush(self) -> None:
        if self._pending_partial:
            batch, self._pending_partial = self._pending_partial, []
            self.partial.emit(batch)
        if self._pending_progress is not None:
            done, total = self._pending_progress
            self._pending_progress = None
            self.progressed.emit(done, total)

    @Slot()
    def run(self) -> None:
        outcome: str
        value: Any = None
        try:
            if self._with_publish:
                value = self._fn(self._progress, self._cancelled, self._publish)
            else:
                value = self._fn(self._progress, self._cancelled)
            outcome = "cancelled" if self._stop.is_set() else "ok"
        except BaseException as e:  # noqa: BLE001 - every failure goes back to the GUI
            # Whatever a cancelled function raises on its way out means "cancelled".
            outcome, value = ("cancelled", None) if self._stop.is_set() else ("error", e)
        if outcome == "ok":
            self._flush()
        self._fn = None  # type: ignore[assignment]  # drop references held by the closure
        thread = QThread.currentThread()
        self.done.emit(outcome, value)
        # End the thread from here (run() is called before its event loop starts, and
        # Qt returns from exec() at once after quit()), so it ends even if the GUI
        # thread no longer processes events, for example while the app shuts down.
        thread.quit()


class Task(QObject):
    """A function running on its own thread; see the module docstring.

    Signals (all delivered on the GUI thread):
        progressed(done, total): Throttled progress; ``total`` is 0 while unknown.
        partial(list): Items the function published since the last batch.
        succeeded(object): The function's return value.
        failed(object): The exception it raised.
        cancelled(): It stopped because :meth:`cancel` was called.
        finished(): Always last, after the thread has ended.
    """

    progressed = Signal(int, int)
    partial = Signal(object)
    succeeded = Signal(object)
    failed = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self, fn: Callable[..., Any], *, with_publish: bool = False, name: str = ""
    ) -> None:
        super().__init__()
        self.name = name or getattr(fn, "__name__", "task")
        self._stop = threading.Event()
        self._running = False
        self._outcome: str | None = None
        self._thread: QThread | None = QThread()
        self._thread.setObjectName(f"task:{self.name}")
        self._worker: _Worker | None = _Worker(fn, with_publish, self._stop)
        # run() on the new thread (a direct call from its started signal); the worker
        # itself stays in the GUI thread, so its signals reach the task queued
        self._thread.started.connect(self._worker.run, Qt.ConnectionType.DirectConnection)
        self._worker.progressed.connect(self._on_progress)
        self._worker.partial.connect(self._on_partial)
        self._worker.done.connect(self._on_done)
        self._thread.finished.connect(self._on_thread_finished)

    def start(self) -> Task:
        """Start the thread (once); returns self."""
        if self._thread is None or self._running or self._outcome is not None:
            return self
        self._running = True
        _LIVE.add(self)
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Ask the function to stop; it notices the next time it calls ``cancelled()``."""
        self._stop.set()

    def is_cancelling(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._stop.is_set()

    def is_running(self) -> bool:
        """True from :meth:`start` until ``finished`` was emitted."""
        return self._running

    @property
    def outcome(self) -> str | None:
        """ "ok", "error" or "cancelled" once the function returned; None before."""
        return self._outcome

    @Slot(int, int)
    def _on_progress(self, done: int, total: int) -> None:
        if self._outcome is None and not self._stop.is_set():
            self.progressed.emit(done, total)

    @Slot(object)
    def _on_partial(self, items: list[Any]) -> None:
        if self._outcome is None and not self._stop.is_set():
            self.partial.emit(items)

    @Slot(str, object)
    def _on_done(self, outcome: str, value: Any) -> None:
        self._outcome = outcome
        if self._thread is not None:
            self._thread.quit()
        if outcome == "ok":
            self.succeeded.emit(value)
        elif outcome == "error":
            self.failed.emit(value)
        else:
            self.cancelled.emit()

    @Slot()
    def _on_thread_finished(self) -> None:
        # ``QThread.finished`` arrives just before the thread's last C++ steps; free
        # the objects only once it has really ended, without ever waiting on it.
        thread = self._thread
        if thread is not None and not thread.isFinished():
            QTimer.singleShot(2, self._on_thread_finished)
            return
        self._thread = None
        self._worker = None
        self._running = False
        _LIVE.discard(self)
        self.finished.emit()


def run_task(fn: Callable[[ProgressFn, CancelledFn], Any], *, name: str = "") -> Task:
    """Start ``fn(progress, cancelled)`` off the GUI thread and return its :class:`Task`."""
    return Task(fn, name=name).start()


def run_task_with_partial(
    fn: Callable[[ProgressFn, CancelledFn, PublishFn], Any], *, name: str = ""
) -> Task:
    """Like :func:`run_task`, but ``fn`` also gets ``publish(item)`` for partial results."""
    return Task(fn, with_publish=True, name=name).start()


def running_tasks() -> list[Task]:
    """Tasks whose ``finished`` has not been emitted yet."""
    return list(_LIVE)


def cancel_all() -> None:
    """Ask every running task to stop (for example when the window closes)."""
    for task in list(_LIVE):
        task.cancel()


def _drain_at_exit(timeout_s: float = 5.0) -> None:
    """At interpreter exit: cancel the tasks and let their threads end.

    Destroying a QThread that still runs aborts the process. The GUI is gone by now,
    so sleeping here (which releases the GIL the workers need) freezes nothing.
    """
    cancel_all()
    deadline = time.monotonic() + timeout_s
    for task in list(_LIVE):
        thread = task._thread
        while thread is not None and not thread.isFinished() and time.monotonic() < deadline:
            time.sleep(0.005)


atexit.register(_drain_at_exit)


class _GuiGarbageCollector(QObject):
    """Runs Python's cyclic garbage collector on the GUI thread only.

    Automatic collection runs on whichever thread happens to allocate. On a worker
    thread it may destroy Qt objects caught in reference cycles (closed dialogs, old
    widgets) off the GUI thread; measured here during training, that deadlocked the
    worker (waiting for the interpreter inside a QObject destructor) against the GUI
    thread. So automatic collection is off and a timer collects the young generations as
    the thresholds ask; full collections (a stall of up to ~0.2 s once torch is loaded)
    happen at most once a minute. The pattern is pyqtgraph's ``GarbageCollector``.
    """

    INTERVAL_MS = 200
    FULL_EVERY_S = 60.0

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self._last_full = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(self.INTERVAL_MS)
        self._timer.timeout.connect(self.collect)

    def start(self) -> None:
        """Switch automatic collection off and start the timer."""
        gc.disable()
        self._timer.start()

    @Slot()
    def collect(self) -> None:
        """Collect what the thresholds ask for (the oldest generation at most once a minute)."""
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = -1
        for g in (0, 1):
            if thresholds[g] and counts[g] > thresholds[g]:
                generation = g
        now = time.monotonic()
        if (
            thresholds[2]
            and counts[2] > thresholds[2]
            and now - self._last_full > self.FULL_EVERY_S
        ):
            generation = 2
            self._last_full = now
        if generation >= 0:
            gc.collect(generation)


_GC: _GuiGarbageCollector | None = None


def install_gui_garbage_collector() -> None:
    """Collect garbage on the GUI thread only from now on (idempotent; needs a QApplication)."""
    global _GC
    app = QCoreApplication.instance()
    if _GC is not None or app is None:
        return
    _GC = _GuiGarbageCollector(app)
    _GC.start()


class WhenIdle:
    """Functions to call once a background job has ended: "do this when the export (or
    evaluation) is done". Each is called once, on a later turn of the event loop.

    ``busy()`` says whether the job runs; its owner calls :meth:`job_ended` when it ends.
    """

    def __init__(self, busy: Callable[[], bool]) -> None:
        self._busy = busy
        self._queue: list[Callable[[], None]] = []

    def __call__(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` once the job has ended (on the next turn of the event loop if none runs)."""
        if self._busy():
            if fn not in self._queue:
                self._queue.append(fn)
        else:
            QTimer.singleShot(0, fn)

    def job_ended(self) -> None:
        """The job ended: call what waited for it."""
        queued, self._queue = self._queue, []
        for fn in queued:
            QTimer.singleShot(0, fn)
