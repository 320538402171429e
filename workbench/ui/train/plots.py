"""The live curves of one run: training loss, validation loss, metrics and learning rate.

The plots are built once the Train tab is first shown (pyqtgraph's import and the plots'
construction are kept off the moment Start is pressed); they receive new points once per
GUI timer tick (the controller's drain), through ``setData`` on growing float64 arrays
(:class:`~workbench.engine.curves.Series`), clipped to the view and peak-downsampled.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QWidget

from workbench.engine.curves import Series, Smoother, smoothing_beta, x_range_end
from workbench.engine.train_wording import metric_title
from workbench.ui import theme
from workbench.ui.legend import CurveStyle
from workbench.ui.train.curve_plot import CurvePlot, make_curve, show_series

# Curve colours: training blue, validation orange, then one per metric.
TRAIN_COLOR = theme.ACCENT
TRAIN_MEAN_COLOR = "#1e3a8a"
TRAIN_FAINT_COLOR = "#b7c9f3"
VAL_COLOR = "#ea580c"
LR_COLOR = "#0f766e"
METRIC_COLORS = ("#16a34a", "#9333ea", "#0891b2", "#db2777", "#ca8a04", "#4b5563")
#: Metric curves differ in dash pattern and marker too: near-equal values overlap in colour.
METRIC_STYLES: tuple[tuple[Qt.PenStyle, str], ...] = (
    (Qt.PenStyle.SolidLine, "o"),
    (Qt.PenStyle.DashLine, "s"),
    (Qt.PenStyle.DotLine, "t"),
    (Qt.PenStyle.DashDotLine, "d"),
    (Qt.PenStyle.DashDotDotLine, "t1"),
    (Qt.PenStyle.SolidLine, "s"),
)
#: Metrics on a scale of their own (R² is about 0–1 beside errors in the target's units):
#: drawn against the metrics plot's right-hand axis.
RIGHT_AXIS_METRICS = ("val_r2",)
#: The validation, metrics and learning-rate plots are redrawn at most this often.
OTHER_PLOT_INTERVAL_S = 0.3


def metric_style(index: int) -> CurveStyle:
    """The look of the ``index``-th metric curve: colour, dash pattern and marker."""
    pen_style, symbol = METRIC_STYLES[index % len(METRIC_STYLES)]
    return CurveStyle(METRIC_COLORS[index % len(METRIC_COLORS)], pen_style, symbol)


class LivePlots(QWidget):
    """Four plots over epochs: training loss, validation loss, metrics, learning rate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(8)
        self.cells = (
            CurvePlot("Training loss", "loss"),
            CurvePlot("Validation loss", "loss"),
            CurvePlot("Validation metrics"),
            CurvePlot("Learning rate"),
        )
        for i, cell in enumerate(self.cells):
            grid.addWidget(cell, i // 2, i % 2)
        self.loss_cell, self.val_cell, self.metric_cell, self.lr_cell = self.cells
        self._plots = tuple(cell.plot for cell in self.cells)
        self.loss_plot, self.val_plot, self.metric_plot, self.lr_plot = self._plots
        #: Each plot's legend, in a row of its own above it.
        self.legends = [cell.legend for cell in self.cells]
        # The metrics that need their own scale: a second view on the right-hand axis.
        self.metric_right = self.metric_cell.add_right_axis()
        # The x axes are not linked: a linked range repaints all four plots whenever one
        # grows. Instead the x range (the same on all four) grows in steps towards the
        # run's last epoch, so a tick repaints just the curves that changed.
        self.total_epochs = 0
        self._x_max = 0.0
        self._drawn_at = [0.0, 0.0, 0.0, 0.0]
        self._turn = 0

        # Faint, but opaque: a translucent pen costs blending on every repaint.
        self.raw_curve = self.loss_plot.plot(
            pen=pg.mkPen(TRAIN_FAINT_COLOR, width=1), name="batch loss"
        )
        self.ema_curve = self.loss_plot.plot(pen=pg.mkPen(TRAIN_COLOR, width=1), name="smoothed")
        self.mean_curve = self.loss_plot.plot(
            pen=None,
            symbol="o",
            symbolSize=7,
            symbolBrush=pg.mkBrush(TRAIN_MEAN_COLOR),
            symbolPen=pg.mkPen("w", width=1),
            name="epoch mean",
        )
        dashed = pg.mkPen(TRAIN_COLOR, width=1, style=Qt.PenStyle.DashLine)
        self.train_epoch_curve = self.val_plot.plot(pen=dashed, name="training")
        self.val_curve = self.val_plot.plot(
            pen=pg.mkPen(VAL_COLOR, width=1),
            symbol="o",
            symbolSize=6,
            symbolBrush=pg.mkBrush(VAL_COLOR),
            symbolPen=None,
            name="validation",
        )
        self.lr_curve = self.lr_plot.plot(pen=pg.mkPen(LR_COLOR, width=1), name="learning rate")
        self.legends[0].set_entries(
            [
                ("batch loss", CurveStyle(TRAIN_FAINT_COLOR)),
                ("smoothed", CurveStyle(TRAIN_COLOR)),
                ("epoch mean", CurveStyle(TRAIN_MEAN_COLOR, symbol="o", line=False)),
            ]
        )
        self.legends[1].set_entries(
            [
                ("training", CurveStyle(TRAIN_COLOR, Qt.PenStyle.DashLine)),
                ("validation", CurveStyle(VAL_COLOR, symbol="o")),
            ]
        )
        self.legends[3].set_entries([("learning rate", CurveStyle(LR_COLOR))])
        self.metric_curves: dict[str, Any] = {}
        #: The metric keys drawn against the right-hand axis.
        self.right_metrics: list[str] = []
        self._metric_task = ""

        self.raw = Series(4096)
        self.ema = Series(4096)
        self.means = Series(64)
        self.train_epoch = Series(64)
        self.val = Series(64)
        self.lr = Series(1024)
        self.metrics: dict[str, Series] = {}
        self.smoother = Smoother()
        self._lr_top = 0.0
        self._lr_drawn_to = 0.0
        self.lr_plot.getPlotItem().enableAutoRange(y=False)
        self._curves: list[tuple[Series, Any]] = [
            (self.raw, self.raw_curve),
            (self.ema, self.ema_curve),
            (self.means, self.mean_curve),
            (self.train_epoch, self.train_epoch_curve),
            (self.val, self.val_curve),
            (self.lr, self.lr_curve),
        ]

    # --- data ------------------------------------------------------------------------------------

    def reset(self, batches_per_epoch: int = 100) -> None:
        """Forget every point (a new run)."""
        for series, _curve in self._curves:
            series.clear()
        for series in self.metrics.values():
            series.clear()
        self.smoother.reset()
        self._lr_top = 0.0
        self._lr_drawn_to = 0.0
        self._x_max = 0.0
        for cell in self.cells:
            cell.reset_view()
        self.set_smoothing(batches_per_epoch)

    def set_smoothing(self, batches_per_epoch: int) -> None:
        """Smooth over about a fifth of an epoch (between 10 and 200 batches)."""
        self.smoother.beta = smoothing_beta(batches_per_epoch)

    def set_metrics(self, keys: list[str], task: str = "classification") -> None:
        """Make one curve per ``val_*`` metric (``val_loss`` has its own plot)."""
        wanted = [k for k in keys if k.startswith("val_") and k != "val_loss"]
        if wanted == list(self.metric_curves) and task == self._metric_task:
            return
        self._metric_task = task
        cell = self.metric_cell
        for key in list(self.metric_curves):
            cell.remove(self.metric_curves.pop(key), right=key in self.right_metrics)
            self.metrics.pop(key, None)
        right = [k for k in wanted if k in RIGHT_AXIS_METRICS]
        # Only when other metrics share the plot: alone, a metric has the left axis to itself.
        self.right_metrics = right if len(right) < len(wanted) else []
        entries: list[tuple[str, CurveStyle]] = []
        for i, key in enumerate(wanted):
            style = metric_style(i)
            # One point per epoch: small markers tell near-equal curves apart where they overlap.
            on_right = key in self.right_metrics
            curve = cell.add(make_curve(style, metric_title(key)), right=on_right)
            title = metric_title(key) + (" (right axis)" if on_right else "")
            entries.append((title, style))
            self.metric_curves[key] = curve
            self.metrics[key] = Series(64)
        self.legends[2].set_entries(entries)
        left = [k for k in wanted if k not in self.right_metrics]
        if self.right_metrics:
            cell.set_axis_labels(
                ", ".join(metric_title(k) for k in left),
                ", ".join(metric_title(k) for k in self.right_metrics),
            )
        else:
            cell.set_axis_labels("")

    def start_run(
        self,
        batches_per_epoch: int,
        total_epochs: int,
        metric_keys: list[str],
        task: str,
        epoch: int,
        global_step: int,
        history: list[dict[str, Any]],
    ) -> None:
        """A run reported its start: its size and metrics, and (a continued run) the epochs
        it already has, whose curves are kept up to its checkpoint and rebuilt from ``history``."""
        self.set_smoothing(batches_per_epoch)
        self.total_epochs = total_epochs
        self.set_metrics(metric_keys, task)
        self.truncate(epoch, global_step / batches_per_epoch)
        for series in (self.means, self.train_epoch, self.val, *self.metrics.values()):
            series.clear()
        for row in history:
            self.add_epoch(row)

    def show_past(
        self, epochs: list[int], series: dict[str, list[float | None]], total_epochs: int
    ) -> None:
        """A past run's epoch curves, from its metrics log (which has no per-batch losses:
        the training-loss plot shows the epoch means)."""
        self.reset()
        self.total_epochs = total_epochs
        self.set_metrics(list(series), "past")
        lr = series.get("lr", [])
        for i, epoch in enumerate(epochs):
            self.add_epoch({"epoch": epoch, **{k: v[i] for k, v in series.items()}})
            rate = lr[i] if i < len(lr) else None
            if rate is not None:
                self.lr.append_step(float(epoch - 1), float(rate))  # the rate the epoch began with
        last = next((v for v in reversed(lr) if v is not None), None)
        if epochs and last is not None:
            self.lr.append(float(epochs[-1]), float(last))

    def truncate(self, epoch: int, step_x: float) -> None:
        """Keep what happened up to ``epoch`` (epoch curves) and ``step_x`` (batch curves)."""
        for series in (self.raw, self.ema, self.lr):
            series.truncate(step_x)
        for series in (self.means, self.train_epoch, self.val, *self.metrics.values()):
            series.truncate(float(epoch))
        if len(self.ema):
            # restart the smoothing from the last kept value
            self.smoother.restart_from(float(self.ema.y[self.ema.n - 1]))
        else:
            self.smoother.reset()

    def add_batches(self, xs: np.ndarray, losses: np.ndarray) -> None:
        """Per-batch losses at ``xs`` (epochs) and their smoothed curve."""
        self.raw.extend(xs, losses)
        self.ema.extend(xs, self.smoother.smooth(losses))

    def add_lr(self, x: float, lr: float) -> None:
        """The learning rate in use at ``x`` (a point is kept only where it changes)."""
        self.lr.append_step(x, lr)

    def add_epoch(self, row: dict[str, Any]) -> None:
        """An epoch's row of the metrics log."""
        e = float(row["epoch"])
        self.means.append(e, row.get("train_loss"))
        self.train_epoch.append(e, row.get("train_loss"))
        self.val.append(e, row.get("val_loss"))
        for key, series in self.metrics.items():
            series.append(e, row.get(key))

    # --- drawing -----------------------------------------------------------------------------------

    def _x_target(self) -> float:
        """The x range's end: it grows in steps (x1.5, up to the run's last epoch) as the data reaches it."""
        last = max(
            (s.last_x() or 0.0 for s in (self.raw, self.means, self.val) if s.n), default=0.0
        )
        self._x_max = x_range_end(last, self._x_max, self.total_epochs)
        return self._x_max

    def redraw(self) -> None:
        """``setData`` once for each curve that changed: the loss plot and one other plot.

        The training-loss plot is updated at every call; of the other three, at most one
        (the next in turn with something new), so that their repaints — each a few
        milliseconds of Python in pyqtgraph — never pile up in one frame at an epoch's end.
        The Train tab calls the two halves on separate turns of the event loop.
        """
        self.redraw_loss()
        self.redraw_other()

    def redraw_loss(self) -> None:
        """Bring the training-loss plot up to date (every drain tick)."""
        self.loss_cell.set_x_end(self._x_target())
        changed = False
        for series, curve in (
            (self.raw, self.raw_curve),
            (self.ema, self.ema_curve),
            (self.means, self.mean_curve),
        ):
            if series.dirty:
                show_series(series, curve)
                changed = True
        if changed:
            self.loss_cell.fit_y((self.raw, self.means))

    def redraw_other(self) -> bool:
        """Bring the next out-of-date plot of validation, metrics and learning rate up to date."""
        x_max = self._x_target()
        for k in range(3):
            i = 1 + (self._turn + k) % 3
            if self._update_plot(i, x_max):
                self._turn = i % 3
                return True
        return False

    def _lr_lags(self, x_max: float) -> bool:
        """True when the drawn learning rate stops well short of the newest batch."""
        newest = self.raw.last_x()
        if not len(self.lr) or newest is None:
            return False
        return newest - self._lr_drawn_to > 0.04 * max(x_max, 1e-9)

    def pending(self) -> bool:
        """True while some curve has points that :meth:`redraw` has not drawn yet."""
        series = [
            self.raw,
            self.ema,
            self.means,
            self.train_epoch,
            self.val,
            self.lr,
            *self.metrics.values(),
        ]
        x_max = self._x_target()
        stale_x = any(cell.x_stale(x_max) for cell in self.cells)
        return stale_x or any(s.dirty for s in series) or self._lr_lags(x_max)

    def _update_plot(self, i: int, x_max: float) -> bool:
        """Bring plot ``i`` (1 validation, 2 metrics, 3 learning rate) up to date; False if it was."""
        cell = self.cells[i]
        if i == 1:
            groups = [(self.train_epoch, self.train_epoch_curve), (self.val, self.val_curve)]
        elif i == 2:
            groups = [(series, self.metric_curves[key]) for key, series in self.metrics.items()]
        else:
            groups = []
        dirty = [g for g in groups if g[0].dirty]
        lr_dirty = i == 3 and (self.lr.dirty or self._lr_lags(x_max))
        if not dirty and not lr_dirty and not cell.x_stale(x_max):
            return False
        now = time.perf_counter()
        if now - self._drawn_at[i] < OTHER_PLOT_INTERVAL_S:
            return False  # short epochs: several are drawn at once, a few times a second
        self._drawn_at[i] = now
        cell.set_x_end(x_max)
        for series, curve in dirty:
            show_series(series, curve)
        if dirty and i == 2 and self.right_metrics:
            # Each axis fits its own metrics.
            right = [self.metrics[k] for k in self.right_metrics]
            cell.fit_y([s for s, _c in groups if not any(s is r for r in right)])
            cell.fit_y(right, right=True)
        elif dirty:
            cell.fit_y([g[0] for g in groups])
        if lr_dirty:
            self._draw_lr()
        return True

    def _draw_lr(self) -> None:
        self.lr.dirty = False
        x, y = self.lr.view()
        newest = self.raw.last_x()
        self._lr_drawn_to = newest if newest is not None else 0.0
        if len(x) and newest is not None and newest > x[-1]:
            # the rate holds until now: extend its last value to the newest batch
            x = np.append(x, newest)
            y = np.append(y, y[-1])
        self.lr_curve.setData(x, y, connect="finite")
        top = float(np.nanmax(y)) if len(y) else 0.0
        if math.isfinite(top) and top > 0 and top != self._lr_top:
            # From 0 to a little above the largest rate: a constant rate is a flat line
            # at its value rather than the middle of an arbitrary range around it.
            self._lr_top = top
            self.lr_plot.getPlotItem().setYRange(0.0, top * 1.15, padding=0)

    def point_counts(self) -> dict[str, int]:
        """How many points each curve holds (for tests and the benchmark)."""
        counts = {
            "batch_loss": len(self.raw),
            "smoothed": len(self.ema),
            "epoch_mean": len(self.means),
            "val_loss": len(self.val),
            "lr": len(self.lr),
        }
        counts.update({k: len(s) for k, s in self.metrics.items()})
        return counts


__all__ = ["LivePlots", "metric_style"]
