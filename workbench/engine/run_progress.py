"""What the window knows of the run in progress, kept up to date from its feed's events.

:class:`RunProgress` takes the events of a :class:`~workbench.engine.job.EventFeed` one by
one and keeps the counters (epoch, batch, step, epochs complete), the speed over the last
seconds and the time left; it gives back the log lines each event adds. The Train tab
shows its figures and the run indicator reads them; neither needs Qt to compute them.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from workbench.core.text import capitalized, clock
from workbench.engine.train_wording import (
    batch_text,
    epoch_line,
    memory_text,
    prepare_text,
    start_lines,
)

#: The speed is measured over about this many seconds.
SPEED_WINDOW_S = 3.0


class Throughput:
    """Training steps per second over the last few seconds (from ``(time, step)`` points)."""

    def __init__(self, window: float = SPEED_WINDOW_S) -> None:
        self.window = window
        self.points: deque[tuple[float, int]] = deque()

    def __len__(self) -> int:
        return len(self.points)

    def add(self, time: float, step: int) -> None:
        """The run was at ``step`` at ``time`` (``time.perf_counter()`` seconds)."""
        self.points.append((time, step))

    def clear(self) -> None:
        """Forget every point (a new run, or a pause that ended)."""
        self.points.clear()

    def trim(self, now: float) -> None:
        """Drop the points older than the window (two are always kept)."""
        pts = self.points
        while len(pts) > 2 and now - pts[0][0] > self.window:
            pts.popleft()

    def rate(self) -> float:
        """Steps per second between the oldest and newest point kept; 0 without two."""
        pts = self.points
        if len(pts) >= 2 and pts[-1][0] > pts[0][0]:
            return (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])
        return 0.0


class RunProgress:
    """The run in progress as the window shows it: counters, rows, speed and memory."""

    def __init__(self) -> None:
        #: The run's ``start`` event (device, sizes, metric keys...); {} between runs.
        self.info: dict[str, Any] = {}
        self.global_step = 0
        #: The epoch in progress (1-based) and its batch.
        self.epoch = 0
        self.batch = 0
        self.epochs_total = 0
        #: The metrics-log rows of the epochs complete (a continued run's earlier ones too).
        self.rows: list[dict[str, Any]] = []
        self.speed = Throughput()
        #: GPU memory (in use, peak) in bytes, when the run trains on a CUDA device.
        self.memory: tuple[int, int] | None = None
        self.best_epoch: int | None = None
        #: The data preparation's (done, total), before training starts.
        self.prepare: tuple[int, int] | None = None
        #: True once the run's failure was logged (from its ``error`` event).
        self.failure_logged = False

    @property
    def started(self) -> bool:
        """True once the run reported its start (training began), until :meth:`end`."""
        return bool(self.info)

    @property
    def batches_per_epoch(self) -> int:
        """Batches per epoch (1 until the run reported its size)."""
        return max(1, int(self.info.get("batches_per_epoch", 1)))

    def begin(self, new: bool) -> None:
        """A run is starting; ``new``: a new run (not a continued one), whose rows start empty."""
        if new:
            self.rows = []
        self.speed.clear()
        self.memory = None
        self.prepare = None
        self.best_epoch = None
        self.failure_logged = False

    def end(self) -> None:
        """The run's thread ended."""
        self.info = {}
        self.prepare = None

    def apply(self, event: tuple[Any, ...]) -> list[str]:
        """Take one event of the feed; return the lines it adds to the log."""
        kind = event[0]
        if kind == "batches":
            info = event[3]
            self.global_step = int(info["global_step"])
            self.epoch, self.batch = int(info["epoch"]), int(info["batch"])
            self.speed.add(float(info["time"]), self.global_step)
            if "memory" in info:
                self.memory = (int(info["memory"]), int(info["peak_memory"]))
        elif kind == "epoch":
            row = event[1]
            self.rows.append(row)
            return [epoch_line(row, self.epochs_total, self.best_epoch)]
        elif kind == "epoch_start":
            self.epoch, self.batch = int(event[1]), 0
        elif kind == "checkpoint":
            if event[1] == "best":
                self.best_epoch = int(event[2]) + 1  # written before the epoch counts as done
        elif kind == "start":
            return self._start(event[1])
        elif kind == "prepare":
            self.prepare = (int(event[1]), int(event[2]))
        elif kind == "log":
            return [str(event[1])]
        elif kind == "end":
            return [capitalized(str(event[2]))]
        elif kind == "error":
            self.failure_logged = True
            return [f"Failed: {event[1]}"]
        return []

    def _start(self, info: dict[str, Any]) -> list[str]:
        self.info = info
        self.epochs_total = int(info["epochs"])
        self.global_step = int(info["global_step"])
        self.epoch, self.batch = int(info["epoch"]), 0
        # A continued run: its rows so far come from its history.
        self.rows = list(info.get("history") or [])
        self.speed.clear()
        return start_lines(info)

    # --- what the progress bar and the figures beside it show --------------------------------

    def total_steps(self) -> int:
        """The run's batches over all its epochs (at least 1)."""
        return max(1, self.epochs_total * self.batches_per_epoch)

    def preparing(self) -> tuple[int, int, str] | None:
        """The data preparation's (done, total, text) while it reports a total, else None."""
        if self.prepare is None or not self.prepare[1]:
            return None
        done, total = self.prepare
        return done, total, prepare_text(done, total)

    def progress_text(self) -> str:
        """``Epoch 3/10 · batch 120/400``."""
        return batch_text(self.epoch, self.epochs_total, self.batch, self.batches_per_epoch)

    def validation_seconds(self) -> float:
        """Seconds an epoch spends outside its training batches, from the last epochs."""
        n = int(self.info.get("num_train", 0))
        spans = [
            float(r["epoch_seconds"]) - n / float(r["samples_per_s"])
            for r in self.rows[-5:]
            if r.get("epoch_seconds") and r.get("samples_per_s")
        ]
        return max(0.0, sum(spans) / len(spans)) if spans else 0.0

    def eta_seconds(self, rate: float) -> float:
        """Seconds left at ``rate`` steps per second, with each epoch's validation to come."""
        remaining = max(0, self.epochs_total * self.batches_per_epoch - self.global_step)
        epochs_left = max(0, self.epochs_total - len(self.rows))
        return remaining / rate + self.validation_seconds() * epochs_left

    def stats_text(self, paused: bool = False) -> str:
        """The figures beside the bar: ``paused``, or ``ETA 0:01:20 · 5,120 samples/s``."""
        if paused:
            return "paused"
        rate = self.speed.rate()
        if rate <= 0:
            return ""
        batch_size = int(self.info.get("batch_size", 0))
        return f"ETA {clock(self.eta_seconds(rate))} · {rate * batch_size:,.0f} samples/s"

    def memory_text(self) -> str | None:
        """The GPU memory in use, when the run trains on a CUDA device and reported it."""
        total = self.info.get("total_memory")
        if self.memory is None or not total:
            return None
        used, peak = self.memory
        return memory_text(used, peak, int(total))


__all__ = ["SPEED_WINDOW_S", "RunProgress", "Throughput"]
