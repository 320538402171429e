"""The data behind live training curves, without Qt: growing point arrays, the smoothed
loss, and the rules that move a plot's axes as points arrive.

The Train tab's plots (:mod:`workbench.ui.train.plots`) draw these; the rules are here so
that they can be tested without a window and reused by any other plot of runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


class Series:
    """x/y points in float64 arrays that grow by doubling; ``view()`` gives what to draw."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, np.float64)
        self.y = np.empty(capacity, np.float64)
        self.n = 0
        #: True when points changed since the plot last drew them (the plot clears it).
        self.dirty = False

    def __len__(self) -> int:
        return self.n

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        """Append points (``ys`` may hold NaN; infinities are drawn as gaps)."""
        k = len(xs)
        if k == 0:
            return
        if self.n + k > len(self.x):
            size = max(2 * len(self.x), self.n + k)
            x, y = np.empty(size, np.float64), np.empty(size, np.float64)
            x[: self.n], y[: self.n] = self.x[: self.n], self.y[: self.n]
            self.x, self.y = x, y
        self.x[self.n : self.n + k] = xs
        ys = np.asarray(ys, np.float64)
        self.y[self.n : self.n + k] = np.where(np.isfinite(ys), ys, np.nan)
        self.n += k
        self.dirty = True

    def append(self, x: float, y: float | None) -> None:
        """Append one point (None is drawn as a gap)."""
        self.extend(np.array([x], np.float64), np.array([np.nan if y is None else y], np.float64))

    def append_step(self, x: float, y: float) -> None:
        """Append a value that holds until the next one (a learning rate): a point only where
        the value changes, drawn as a step rather than a slope."""
        n = self.n
        if n and self.y[n - 1] == y:
            return
        if n:
            self.append(x, float(self.y[n - 1]))
        self.append(x, y)

    def last_x(self) -> float | None:
        """The newest point's x, or None while empty."""
        return float(self.x[self.n - 1]) if self.n else None

    def truncate(self, max_x: float) -> None:
        """Drop the points beyond ``max_x`` (a continued run starts again from its checkpoint)."""
        keep = int(np.searchsorted(self.x[: self.n], max_x + 1e-9, side="right"))
        if keep != self.n:
            self.n = keep
            self.dirty = True

    def clear(self) -> None:
        """Forget every point."""
        self.n = 0
        self.dirty = True

    def view(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the points (the plot may keep what it is given)."""
        return self.x[: self.n].copy(), self.y[: self.n].copy()


def smoothing_beta(batches_per_epoch: int) -> float:
    """The moving average's factor that smooths over about a fifth of an epoch (10 to 200
    batches)."""
    window = min(200.0, max(10.0, batches_per_epoch / 5))
    return 1.0 - 1.0 / window


class Smoother:
    """A bias-corrected exponential moving average of batch losses, fed in bursts.

    A value that is not finite gives a gap (NaN) and leaves the average as it was.
    """

    def __init__(self, beta: float = 0.9) -> None:
        self.beta = beta
        self._avg = 0.0
        self._count = 0

    def reset(self) -> None:
        """Start again from nothing."""
        self._avg, self._count = 0.0, 0

    def restart_from(self, value: float) -> None:
        """Go on from ``value`` as if it had been the average for long (a continued run)."""
        self._avg, self._count = float(value), 10**6

    def smooth(self, values: np.ndarray) -> np.ndarray:
        """The smoothed value after each of ``values``, in order."""
        beta = self.beta
        avg, count = self._avg, self._count
        out = np.empty(len(values), np.float64)
        for i, v in enumerate(np.asarray(values, np.float64).tolist()):
            if math.isfinite(v):
                avg = beta * avg + (1.0 - beta) * v
                count += 1
                out[i] = avg / (1.0 - beta**count)
            else:  # a gap where the loss is not a number, as in the raw curve
                out[i] = math.nan
        self._avg, self._count = avg, count
        return out


def x_range_end(last: float, current: float, total: float = 0.0) -> float:
    """Where the epoch axis ends: it grows in steps (x1.5) as the data reaches its end,
    up to the run's last epoch (``total``, 0 when unknown) and beyond it only as data does.

    Args:
        last: The newest point's x.
        current: Where the axis ends now (0 before the first point).
        total: The epochs the run trains.
    """
    if last <= current and current > 0:
        return current
    top = max(1.0, math.ceil(last * 1.5))
    if total:
        top = min(top, float(total)) if last <= total else math.ceil(last)
    return max(top, last)


def y_range_to_fit(
    ys: Sequence[np.ndarray], current: tuple[float, float] | None
) -> tuple[float, float] | None:
    """A new y range for data ``ys``, or None when ``current`` still suits it.

    A range that changes at every tick makes a plot rebuild its axis (the costliest part of a
    repaint); so the range moves only when the data leaves it or is lost in it (uses less
    than a third of it), and then with some room around the data.
    """
    parts = [y for y in ys if len(y)]
    if not parts:
        return None
    y = np.concatenate(parts) if len(parts) > 1 else parts[0]
    y = y[np.isfinite(y)]
    if not len(y):
        return None
    lo, hi = float(y.min()), float(y.max())
    span = hi - lo
    if not math.isfinite(span):
        return None
    span = max(span, abs(hi) * 1e-3, 1e-12)
    if current is not None:
        a, b = current
        if a <= lo and hi <= b and (b - a) <= 3.0 * span:
            return None
    pad = 0.08 * span
    return lo - pad, hi + pad


__all__ = ["Series", "Smoother", "smoothing_beta", "x_range_end", "y_range_to_fit"]
