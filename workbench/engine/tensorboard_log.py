"""The run's curves as TensorBoard event files in its folder, so ``tensorboard --logdir net.runs`` shows every run.

:class:`TensorBoardLogger` is one of the trainer's own callbacks (beside the run record):
each epoch's row of the metrics log becomes one event, at step = the epoch, written and
flushed at the end of the epoch. The events are written here, on the training thread,
with tensorboardX's record writer and protocol buffers rather than its ``SummaryWriter``:
that one writes from a background thread whose ``flush`` does not wait for what is
queued, and whose failure would leave the queue full and block training.

The event file always mirrors metrics.jsonl: a run that starts again (resumed from a
checkpoint, or trained for more epochs) replaces the run's event files with one holding
its history so far, so an epoch logged after the last checkpoint of a killed process is
not shown twice. Writing the curves never fails a run: the first error is logged as one
line and the run goes on without them.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import socket
import time
from collections.abc import Callable, Mapping
from itertools import count
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.fileio import os_error_text
from workbench.engine.trainer import Callback

if TYPE_CHECKING:
    from workbench.engine.trainer import Trainer

log = logging.getLogger(__name__)

#: What TensorBoard recognises as an event file ("tfevents" in the name).
EVENT_FILE_PREFIX = "events.out.tfevents."
#: The metrics-log keys with their own tag; other ``val_*`` keys go under ``val/``.
_TAGS = {
    "train_loss": "loss/train",
    "val_loss": "loss/val",
    "lr": "optim/lr",
    "epoch_seconds": "speed/epoch_seconds",
    "samples_per_s": "speed/samples_per_s",
}
_files = count(1)


def tag_for(key: str) -> str | None:
    """The TensorBoard tag of a metrics-log key (``val_accuracy`` -> ``val/accuracy``), or None for ``epoch``."""
    if key == "epoch":
        return None
    if key in _TAGS:
        return _TAGS[key]
    for prefix in ("val_", "test_", "train_"):
        if key.startswith(prefix):
            return f"{prefix[:-1]}/{key[len(prefix) :]}"
    return f"other/{key}"


def event_files(folder: Path) -> list[Path]:
    """The TensorBoard event files in ``folder``."""
    try:
        return sorted(p for p in folder.iterdir() if p.name.startswith(EVENT_FILE_PREFIX))
    except OSError:
        return []


def _error_text(error: BaseException) -> str:
    if isinstance(error, OSError):
        return os_error_text(error)
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


class EventWriter:
    """One event file, written synchronously: ``write(step, values)`` then ``flush()``."""

    def __init__(self, folder: Path, purge: bool = False) -> None:
        """Create the file in ``folder``.

        Args:
            folder: The run's folder.
            purge: Start with TensorBoard's "restarted at step 1" marker, which hides
                the events of older files in the folder (used when they cannot be removed).
        """
        from tensorboardX import RecordWriter
        from tensorboardX.proto.event_pb2 import Event, SessionLog
        from tensorboardX.proto.summary_pb2 import Summary

        self._event, self._summary = Event, Summary
        name = (
            f"{EVENT_FILE_PREFIX}{int(time.time()):010d}.{socket.gethostname()}"
            f".{os.getpid()}.{next(_files)}"
        )
        self.path = folder / name
        self._writer = RecordWriter(str(self.path))
        self._put(Event(wall_time=time.time(), file_version="brain.Event:2"))
        if purge:
            self._put(
                Event(
                    wall_time=time.time(), step=1, session_log=SessionLog(status=SessionLog.START)
                )
            )

    def _put(self, event: Any) -> None:
        self._writer.write(event.SerializeToString())

    def write(self, step: int, values: Mapping[str, Any]) -> None:
        """One event at ``step`` with a scalar per tag (values that are not finite numbers are left out)."""
        scalars = [
            self._summary.Value(tag=tag, simple_value=float(value))
            for tag, value in values.items()
            if isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
        ]
        if scalars:
            summary = self._summary(value=scalars)
            self._put(self._event(wall_time=time.time(), step=int(step), summary=summary))

    def flush(self) -> None:
        """Write what is buffered through to the disk."""
        self._writer.flush()

    def close(self) -> None:
        """Flush and close the file."""
        try:
            self._writer.flush()
        finally:
            self._writer.close()


def row_scalars(row: Mapping[str, Any]) -> dict[str, Any]:
    """A metrics-log row as ``{tag: value}``."""
    out = {}
    for key, value in row.items():
        tag = tag_for(key)
        if tag is not None:
            out[tag] = value
    return out


class TensorBoardLogger(Callback):
    """Writes each epoch's row of the metrics log to an event file in the run's folder."""

    def __init__(self) -> None:
        self._writer: EventWriter | None = None
        self._failed = False

    def on_fit_start(self, trainer: Trainer) -> None:
        """Replace the folder's event files with one holding the run's history so far."""
        run = trainer.run
        self._failed = False
        if run is None:
            return
        self._close()
        leftovers = False
        for old in event_files(run.path):
            try:
                old.unlink()
            except OSError:
                leftovers = True  # open in another program (Windows); hidden by the purge marker
        self._guard(trainer, lambda: self._start(run.path, leftovers, trainer.history))

    def _start(self, folder: Path, purge: bool, history: list[dict[str, Any]]) -> None:
        self._writer = EventWriter(folder, purge=purge)
        for row in history:
            self._writer.write(int(row["epoch"]), row_scalars(row))
        self._writer.flush()

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Write the epoch's event and flush it (before the epoch's checkpoints)."""
        writer = self._writer
        if writer is None:
            return

        def write() -> None:
            writer.write(int(metrics["epoch"]), row_scalars(metrics))
            writer.flush()

        self._guard(trainer, write)

    def on_fit_end(self, trainer: Trainer) -> None:
        """Close the file."""
        self._close()

    def on_exception(self, trainer: Trainer, error: BaseException) -> None:
        """Close the file (what was written stays)."""
        self._close()

    def _guard(self, trainer: Trainer, action: Callable[[], None]) -> None:
        """Run ``action``; on any error log one line, close the file and write no more this run."""
        if self._failed:
            return
        try:
            action()
        except Exception as e:  # a curve that cannot be written must never stop training
            self._failed = True
            self._close()
            run = trainer.run.id if trainer.run is not None else "?"
            log.warning(
                "run %s: the TensorBoard curves are not written from here on (%s)",
                run,
                _error_text(e),
            )

    def _close(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()


__all__ = ["EventWriter", "TensorBoardLogger", "event_files", "row_scalars", "tag_for"]
