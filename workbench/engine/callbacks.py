"""The trainer's callbacks: the hooks a run reports through, and the callbacks that ship with it.

:class:`Callback` is the base class whose hooks do nothing by default. The trainer puts
its own before the caller's: best-epoch tracking and restore-best (:class:`BestWeights`),
early stopping (:class:`EarlyStopping`) and, with a run folder, the checkpoints
(:class:`ModelCheckpoint`) and the run's record (:class:`RunRecorder`). The command line
adds the metrics file (:class:`MetricsLogger`) and the progress bar (:class:`ProgressBar`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import torch

from workbench.core.fileio import os_error_text
from workbench.engine.checkpoint import copy_checkpoint, load_checkpoint
from workbench.engine.config import TrainError
from workbench.engine.runs import clean_json

if TYPE_CHECKING:
    from workbench.engine.trainer import Trainer


class Callback:
    """Base class for training callbacks; every hook does nothing unless overridden.

    Hooks run on the training thread. ``on_batch_end`` runs once per batch, so keep it
    cheap: its ``loss`` is a tensor on the device, and reading it (``.item()``) waits
    for the device.
    """

    def on_fit_start(self, trainer: Trainer) -> None:
        """Called once before the first epoch (after a resumed run's state is restored)."""

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """Called before epoch ``epoch`` (1-based) trains."""

    def on_batch_end(self, trainer: Trainer, batch: int, loss: torch.Tensor) -> None:
        """Called after each optimizer step with the batch index (0-based) and the detached batch loss."""

    def on_validation_start(self, trainer: Trainer) -> None:
        """Called when an epoch's training steps are done and its validation begins (not
        called without validation data)."""

    def on_validation_end(self, trainer: Trainer, metrics: dict[str, float]) -> None:
        """Called after validation with the ``val_*`` metrics (not called without validation data)."""

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Called after each epoch with its row of the metrics log (after its checkpoints are written)."""

    def on_checkpoint(self, trainer: Trainer, path: Path, kind: str) -> None:
        """Called after a checkpoint was written; ``kind`` is ``best`` or ``last``."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """Called once when a run ends normally, early or by request (``trainer.status`` says which)."""

    def on_note(self, trainer: Trainer, text: str) -> None:
        """Called when the trainer has something to tell once the run is under way (a
        failed CUDA-graph capture, say); the note is also added to ``trainer.notes``."""

    def on_test_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Called at the end of a recorded run once its best weights were evaluated on the
        test split, with the ``{"split": "test", ...}`` line of its metrics file."""

    def on_exception(self, trainer: Trainer, error: BaseException) -> None:
        """Called when the run fails or is interrupted; ``trainer.message`` holds the user message."""


class MetricsLogger(Callback):
    """Writes the metrics log as JSON lines, one per epoch, to a file (e.g. ``--metrics``).

    The file is rewritten at the start of a run, with the history of a resumed run first.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def on_fit_start(self, trainer: Trainer) -> None:
        """Start the file (with the history of a resumed run)."""
        try:
            with open(self.path, "w", encoding="utf-8") as f:
                for row in trainer.history:
                    f.write(json.dumps(clean_json(row)) + "\n")
        except OSError as e:
            raise TrainError(
                f"{self.path}: cannot write the metrics file ({os_error_text(e)})"
            ) from None

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Append the epoch's line."""
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(clean_json(metrics)) + "\n")

    def on_test_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Append the test split's line (the last one)."""
        self.on_epoch_end(trainer, metrics)


class ProgressBar(Callback):
    """A plain-text progress bar: redrawn with ``\\r`` on a terminal, a line per epoch otherwise.

    It never reads a loss during an epoch (no device sync); the epoch's line shows the
    metrics once they are known.
    """

    def __init__(
        self, stream: IO[str] | None = None, width: int = 24, interval: float = 0.1
    ) -> None:
        self.stream = stream
        self.width = width
        self.interval = interval
        self._last = 0.0
        self._start = 0.0
        self._tty = False

    @property
    def _out(self) -> IO[str]:
        return self.stream if self.stream is not None else sys.stderr

    def on_fit_start(self, trainer: Trainer) -> None:
        """Note whether the output is a terminal."""
        isatty = getattr(self._out, "isatty", None)
        self._tty = bool(isatty and isatty())
        start = f", continuing after epoch {trainer.epoch}" if trainer.epoch else ""
        print(
            f"training on {trainer.device} for {trainer.config.epochs} epochs{start}: "
            f"{trainer.num_train:,} training samples, {trainer.batches_per_epoch} batches per epoch",
            file=self._out,
        )
        for note in trainer.notes:
            print(f"note: {note}", file=self._out)

    def on_note(self, trainer: Trainer, text: str) -> None:
        """Print the note on its own line (over the bar on a terminal; the next redraw restores it)."""
        prefix = "\r\x1b[2K" if self._tty else ""
        print(f"{prefix}note: {text}", file=self._out)

    def on_epoch_start(self, trainer: Trainer, epoch: int) -> None:
        """Remember when the epoch started."""
        self._start = self._last = time.perf_counter()

    def on_batch_end(self, trainer: Trainer, batch: int, loss: torch.Tensor) -> None:
        """Redraw the bar at most every ``interval`` seconds (terminal only)."""
        if not self._tty:
            return
        now = time.perf_counter()
        total = trainer.batches_per_epoch
        if now - self._last < self.interval and batch + 1 < total:
            return
        self._last = now
        done = batch + 1
        filled = int(self.width * done / max(1, total))
        elapsed = now - self._start
        rate = done * trainer.config.batch_size / elapsed if elapsed > 0 else 0.0
        eta = elapsed / done * (total - done)
        line = (
            f"\repoch {trainer.current_epoch}/{trainer.config.epochs} [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{done}/{total}  {rate:,.0f} samples/s  ETA {_clock(eta)}"
        )
        self._out.write(line)
        self._out.flush()

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Print the epoch's summary line."""
        parts = [f"epoch {metrics['epoch']}/{trainer.config.epochs}"]
        for key, value in metrics.items():
            if key in ("epoch", "epoch_seconds", "samples_per_s") or value is None:
                continue
            parts.append(f"{key} {value:.4g}")
        parts.append(f"{metrics['epoch_seconds']:.1f}s ({metrics['samples_per_s']:,.0f} samples/s)")
        prefix = "\r\x1b[2K" if self._tty else ""
        self._out.write(prefix + "  ".join(parts) + "\n")
        self._out.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        """Print how the run ended."""
        print(trainer.message, file=self._out)

    def on_exception(self, trainer: Trainer, error: BaseException) -> None:
        """End the current line so the error starts on a fresh one."""
        if self._tty:
            self._out.write("\n")
            self._out.flush()


class BestWeights(Callback):
    """Tracks the best epoch by the monitored metric and, when configured, puts its weights back at the end.

    Without a run folder the best weights are kept in memory; with one they are read
    back from ``best.pt``.
    """

    def __init__(self) -> None:
        self._best_state: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Note a new best epoch (and keep its weights in memory when nothing is recorded)."""
        value = metrics.get(trainer.monitor)
        if value is None or not math.isfinite(value):
            return
        maximize = trainer.config.monitor_is_max()
        delta = trainer.config.min_delta
        best = trainer.best_value
        if best is None or (value > best + delta if maximize else value < best - delta):
            trainer.best_value, trainer.best_epoch = float(value), int(metrics["epoch"])
            if trainer.run is None and trainer.config.restore_best:
                self._best_state = {
                    k: v.detach().clone() for k, v in trainer.model.state_dict().items()
                }

    def on_fit_end(self, trainer: Trainer) -> None:
        """Load the best epoch's weights when configured, and say so in the run's message."""
        if (
            trainer.run is None
            and trainer.config.restore_best
            and trainer.best_epoch not in (None, trainer.epoch)
        ):
            # kept for extend(): the run continues from its last epoch, not from the best one
            trainer.last_state = copy.deepcopy(trainer.state_dict())
        if self._restore(trainer):
            trainer.message += " (the model holds the best epoch's weights)"

    def _restore(self, trainer: Trainer) -> bool:
        """Load the best epoch's weights into the model when configured; True if it changed anything."""
        if not trainer.config.restore_best or trainer.best_epoch is None:
            return False
        if trainer.best_epoch == trainer.epoch and not (trainer.stop_requested and trainer.batch):
            return False  # the model already holds them
        if trainer.run is not None and trainer.run.best.exists():
            state = load_checkpoint(trainer.run.best, trainer.device)
            if state.get("epoch") != trainer.best_epoch:
                return False
            trainer.model.load_state_dict(state["model"])
            return True
        if self._best_state is not None:
            trainer.model.load_state_dict(self._best_state)
            return True
        return False


class EarlyStopping(Callback):
    """Ends the run once the monitored metric has not improved for ``patience`` epochs (when configured)."""

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Set ``trainer.stopped_early`` when the patience has run out."""
        cfg = trainer.config
        if (
            cfg.early_stop
            and trainer.best_epoch is not None
            and trainer.epoch - trainer.best_epoch >= cfg.patience
        ):
            trainer.stopped_early = True


class ModelCheckpoint(Callback):
    """Writes ``checkpoints/best.pt`` when the best epoch improves and ``checkpoints/last.pt`` after every epoch."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Make the checkpoints folder."""
        if trainer.run is not None:
            trainer.run.checkpoints.mkdir(exist_ok=True)

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Write the epoch's checkpoints."""
        run = trainer.run
        if run is None:
            return
        # best before last: a crash in between leaves last.pt one epoch behind, never ahead of best.pt
        if trainer.best_epoch == trainer.epoch:
            trainer.save_checkpoint(run.best, "best")
            copy_checkpoint(run.best, run.last)
            trainer.call_hook("on_checkpoint", run.last, "last")
        else:
            trainer.save_checkpoint(run.last, "last")


class RunRecorder(Callback):
    """Records the run in its folder: ``config.json`` at the start, ``metrics.jsonl`` and ``status.json`` as it goes."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Write the run's configuration, its history so far and a ``running`` status."""
        run = trainer.run
        if run is None:
            return
        run.path.mkdir(parents=True, exist_ok=True)
        run.checkpoints.mkdir(exist_ok=True)
        prep = trainer.prepared
        info = {
            "training": trainer.config.to_dict(),
            "seed": trainer.seed,
            "device": str(trainer.device),
            "task": prep.task,
            "classes": prep.classes,
            "input_shape": list(prep.input_shape),
            "input_dtype": prep.input_dtype,
            "num_targets": prep.num_targets,
            "loss": trainer.loss_name,
            "monitor": trainer.monitor,
            "split_sizes": {"train": len(prep.train), "val": len(prep.val), "test": len(prep.test)},
            "preprocessing": prep.preprocessing,
            "notes": list(prep.notes) + trainer.notes,
        }
        previous = run.read_config() if run.config_path.exists() else {}
        info = {**previous, **trainer.run_info, **info}
        fingerprint = info.pop("data_fingerprint", None)  # kept apart: a big folder makes it long
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        info.setdefault("created", now)
        if trainer.epoch > 0:  # resumed from a checkpoint, or trained for more epochs
            resumed = info.get("resumed")
            info["resumed"] = [
                *(resumed if isinstance(resumed, list) else []),
                {"at": now, "after_epoch": trainer.epoch},
            ]
        run.write_config(info)
        if isinstance(fingerprint, dict) and not run.fingerprint_path.exists():
            run.write_fingerprint(fingerprint)  # the data as the run first saw it
        run.write_metrics(trainer.history)  # a resumed run drops rows after its checkpoint
        run.write_status(
            "running",
            f"epoch {trainer.epoch} of {trainer.config.epochs}",
            epoch=trainer.epoch,
            epochs=trainer.config.epochs,
            pid=os.getpid(),
        )

    def on_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Append the epoch's row to the metrics log (before its checkpoints are written)."""
        if trainer.run is not None:
            trainer.run.append_metrics(metrics)

    def on_test_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """Append the test split's line, the metrics log's last."""
        if trainer.run is not None:
            trainer.run.append_metrics(metrics)

    def on_note(self, trainer: Trainer, text: str) -> None:
        """Add the note to the run's ``config.json``."""
        run = trainer.run
        if run is None or not run.config_path.exists():
            return
        info = run.read_config()
        notes = info.get("notes")
        info["notes"] = [*(notes if isinstance(notes, list) else []), text]
        run.write_config(info)

    def on_checkpoint(self, trainer: Trainer, path: Path, kind: str) -> None:
        """Once ``last.pt`` holds an epoch, say so in the status."""
        run = trainer.run
        if run is not None and kind == "last" and path == run.last:
            epoch, epochs = trainer.epoch, trainer.config.epochs
            run.write_status("running", f"epoch {epoch} of {epochs}", epoch=epoch, epochs=epochs)

    def on_fit_end(self, trainer: Trainer) -> None:
        """Write how the run ended."""
        if trainer.run is not None:
            trainer.run.write_status(
                trainer.status,
                trainer.message,
                epoch=trainer.epoch,
                epochs=trainer.config.epochs,
                best_epoch=trainer.best_epoch,
                best_value=trainer.best_value,
                monitor=trainer.monitor,
                stopped_early=trainer.stopped_early,
            )

    def on_exception(self, trainer: Trainer, error: BaseException) -> None:
        """Write the failed (or stopped) status."""
        if trainer.run is not None:
            with contextlib.suppress(Exception):
                trainer.run.write_status(
                    trainer.status,
                    trainer.message,
                    epoch=trainer.epoch,
                    epochs=trainer.config.epochs,
                )


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


__all__ = [
    "BestWeights",
    "Callback",
    "EarlyStopping",
    "MetricsLogger",
    "ModelCheckpoint",
    "ProgressBar",
    "RunRecorder",
]
