"""Scanning a dataset off the GUI thread, one scan at a time for each owner.

The import dialog and the Data tab's controller each hold a :class:`ScanSlot`: it runs
a scan (or a description, or a sample's generation) through
:func:`workbench.ui.workers.run_task` and delivers its outcome only while it is still the
current one, so a scan that was replaced or stopped never shows up. What is scanned and
how a result reads is :mod:`workbench.data.describe`'s.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from workbench.data import DataError
from workbench.data.describe import failure_text
from workbench.ui.workers import CancelledFn, ProgressFn, Task, run_task


class ScanSlot:
    """Runs one background task for its owner; starting another or stopping it drops its outcome.

    A dropped task is cancelled and its thread ends by itself soon after (the GUI never
    waits for it).
    """

    def __init__(self) -> None:
        self._task: Task | None = None

    def start(
        self,
        fn: Callable[[ProgressFn, CancelledFn], Any],
        name: str,
        succeeded: Callable[[Any], None],
        failed: Callable[[BaseException], None],
        cancelled: Callable[[], None] | None = None,
        progressed: Callable[[int, int], None] | None = None,
    ) -> Task:
        """Stop the current task and run ``fn(progress, cancelled)`` instead.

        The callbacks run on the GUI thread, each only if the task is still this slot's;
        the slot is free again before ``succeeded``, ``failed`` or ``cancelled`` runs.
        """
        self.stop()
        task = run_task(fn, name=name)
        if progressed is not None:
            task.progressed.connect(
                lambda done, total: progressed(done, total) if task is self._task else None
            )
        task.succeeded.connect(lambda value: self._end(task, succeeded, value))
        task.failed.connect(lambda error: self._end(task, failed, error))
        task.cancelled.connect(lambda: self._end(task, cancelled))
        self._task = task
        return task

    def _end(self, task: Task, callback: Callable[..., None] | None, *args: Any) -> None:
        if task is not self._task:
            return  # replaced or stopped
        self._task = None
        if callback is not None:
            callback(*args)

    def busy(self) -> bool:
        """True while a task runs (one that was not stopped)."""
        return self._task is not None

    def cancel(self) -> None:
        """Ask the task to stop; its ``cancelled`` callback still runs when it has."""
        if self._task is not None:
            self._task.cancel()

    def stop(self) -> None:
        """Cancel the task and drop its outcome."""
        if self._task is not None:
            self._task.cancel()
            self._task = None


def report_failure(error: BaseException, path: str) -> str:
    """The one line to show for a failed scan; a bug's traceback also goes to stderr.

    Bad data is a :class:`DataError` whose message names the file. Anything else is a
    bug: it is said in one line too, with the details kept on stderr for a report.
    """
    if not isinstance(error, DataError):
        traceback.print_exception(type(error), error, error.__traceback__)
    return failure_text(error, path)
