"""The selected runs' curves overlaid: the losses in one plot and a chosen metric in another,
one colour per run, with the legends above the plots (never over the data).

The plots are :class:`~workbench.ui.train.curve_plot.CurvePlot` cells, built the first
time runs are drawn, once the panel shows (pyqtgraph's import is warmed up off the GUI
thread first); a hidden panel draws nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from workbench.engine.curves import Series
from workbench.engine.history import Curves, RunSummary
from workbench.engine.history_wording import compare_hint, curve_choices, curve_title, default_curve
from workbench.ui import theme
from workbench.ui.legend import CurveStyle
from workbench.ui.theme import label

#: One colour per selected run, in selection order: Tableau 10, which reads on the light
#: and the dark plot background alike.
RUN_COLORS = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#59a14f",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
#: Markers cycle with the colours, so that runs past the tenth still differ.
RUN_SYMBOLS = ("o", "s", "t", "d")


def run_style(index: int, dashed: bool = False) -> CurveStyle:
    """The look of the ``index``-th selected run's curves (its training loss ``dashed``)."""
    color = RUN_COLORS[index % len(RUN_COLORS)]
    if dashed:
        return CurveStyle(color, Qt.PenStyle.DashLine)
    return CurveStyle(color, symbol=RUN_SYMBOLS[index // len(RUN_COLORS) % len(RUN_SYMBOLS)])


def curve_labels(runs: Sequence[RunSummary]) -> list[str]:
    """The legend's name for each run: its name, with its id when two runs share a name."""
    names = [r.name for r in runs]
    return [f"{r.name} ({r.id})" if names.count(r.name) > 1 else r.name for r in runs]


def _series(curves: Curves, key: str) -> Series:
    series = Series(max(8, len(curves.epochs)))
    for epoch, value in zip(curves.epochs, curves.series.get(key, []), strict=False):
        series.append(float(epoch), value)
    return series


class ComparePlots(QWidget):
    """Two plots of the selected runs: loss (validation solid, training dashed) and a metric.

    Signals:
        metric_changed(str): The metric picker chose another curve.
    """

    metric_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsCompare")
        self.runs: list[RunSummary] = []
        self.loss_cell: Any = None
        self.metric_cell: Any = None
        self._curves: list[tuple[Any, Any]] = []  # (cell, curve) drawn now
        self._pending = False
        self.hint = label("", "muted")
        self.hint.setObjectName("compareHint")
        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("compareMetric")
        self.metric_combo.setToolTip("The curve the right-hand plot compares")
        self.metric_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.metric_combo.currentIndexChanged.connect(self._on_metric_chosen)
        metric_label = QLabel("Compare")
        metric_label.setBuddy(self.metric_combo)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.hint, 1)
        top.addWidget(metric_label)
        top.addWidget(self.metric_combo)
        self._grid = QHBoxLayout()
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setSpacing(8)
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 4, 0, 0)
        col.setSpacing(4)
        col.addLayout(top)
        col.addLayout(self._grid, 1)
        self._choosing = False
        #: True when the curves drawn are not those of :attr:`runs` (drawn once shown).
        self._stale = False
        self.set_runs([], 0)

    # --- what is drawn -------------------------------------------------------------------------

    def chosen_metric(self) -> str | None:
        """The key of the metric the right-hand plot shows."""
        data = self.metric_combo.currentData()
        return str(data) if data else None

    def set_metric(self, key: str) -> bool:
        """Compare ``key`` (one of the picker's curves); False when the runs have no such curve."""
        index = self.metric_combo.findData(key)
        if index < 0:
            return False
        self.metric_combo.setCurrentIndex(index)
        return True

    def set_runs(self, runs: Sequence[RunSummary], total: int) -> None:
        """Draw the curves of ``runs`` (the selection, in its colour order) of ``total`` runs."""
        self.runs = [r for r in runs if r.curves is not None]
        self.hint.setText(compare_hint(len(runs), total))
        self._fill_metric_choices()
        self._stale = True
        if self.isVisible():
            self._draw_soon()

    def _fill_metric_choices(self) -> None:
        previous = self.chosen_metric()
        choices = curve_choices([r.curves for r in self.runs if r.curves is not None])
        self._choosing = True
        self.metric_combo.clear()
        for key in choices:
            self.metric_combo.addItem(curve_title(key), key)
        wanted = previous if previous in choices else default_curve(choices, self.runs)
        if wanted is not None:
            self.metric_combo.setCurrentIndex(self.metric_combo.findData(wanted))
        self.metric_combo.setEnabled(bool(choices))
        self._choosing = False

    def _on_metric_chosen(self, _index: int) -> None:
        if self._choosing:
            return
        self._stale = True
        if self.isVisible():
            self._draw_soon()
        key = self.chosen_metric()
        if key:
            self.metric_changed.emit(key)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        if self._stale:
            self._draw_soon()

    def _draw_soon(self) -> None:
        """Draw once pyqtgraph is imported (warmed up on a helper thread, so no stall)."""
        if self.loss_cell is not None:
            self.draw()
            return
        if self._pending or not self.runs:
            return
        from workbench.ui.plot_warmup import warm_up_pyqtgraph

        self._pending = True
        warm_up_pyqtgraph()
        QTimer.singleShot(0, self._draw_when_ready)

    def _draw_when_ready(self) -> None:
        from workbench.ui.plot_warmup import pyqtgraph_ready

        if not pyqtgraph_ready():
            QTimer.singleShot(20, self._draw_when_ready)
            return
        self._pending = False
        self.draw()

    def ensure_cells(self) -> None:
        """Build the two plots (once)."""
        if self.loss_cell is not None:
            return
        from workbench.ui.train.curve_plot import CurvePlot

        self.loss_cell = CurvePlot("Loss", "loss")
        self.loss_cell.setObjectName("compareLoss")
        self.metric_cell = CurvePlot("Metric")
        self.metric_cell.setObjectName("compareMetricPlot")
        self._grid.addWidget(self.loss_cell, 1)
        self._grid.addWidget(self.metric_cell, 1)
        theme.restyle_plots(self)

    def draw(self) -> None:
        """Draw the runs' curves now (building the plots first if need be)."""
        self.ensure_cells()
        self._stale = False
        from workbench.ui.train.curve_plot import make_curve, show_series

        for cell, curve in self._curves:
            cell.remove(curve)
        self._curves = []
        key = self.chosen_metric()
        title = curve_title(key) if key else "Metric"
        self.metric_cell.title.setText(title[:1].upper() + title[1:])
        self.metric_cell.set_axis_labels(title if key else "")
        labels = curve_labels(self.runs)
        loss_series: list[Series] = []
        metric_series: list[Series] = []
        metric_entries: list[tuple[str, CurveStyle]] = []
        longest = 0
        for i, (run, name) in enumerate(zip(self.runs, labels, strict=True)):
            curves = run.curves
            assert curves is not None
            longest = max(longest, max(curves.epochs, default=0))
            for cell, k, style, curve_name, into in (
                (self.loss_cell, "val_loss", run_style(i), name, loss_series),
                (
                    self.loss_cell,
                    "train_loss",
                    run_style(i, dashed=True),
                    f"{name} (training)",
                    loss_series,
                ),
                (self.metric_cell, key, run_style(i), name, metric_series),
            ):
                if not k or k not in curves.series:
                    continue
                series = _series(curves, k)
                curve = cell.add(make_curve(style, curve_name))
                show_series(series, curve)
                self._curves.append((cell, curve))
                into.append(series)
                if cell is self.metric_cell:
                    metric_entries.append((name, style))
        self.loss_cell.legend.set_entries(
            [(n, run_style(i)) for i, n in enumerate(labels)]
            + (
                [
                    ("validation", CurveStyle(theme.MUTED)),
                    ("training (dashed)", CurveStyle(theme.MUTED, Qt.PenStyle.DashLine)),
                ]
                if labels
                else []
            )
        )
        self.metric_cell.legend.set_entries(metric_entries)
        for cell, drawn in ((self.loss_cell, loss_series), (self.metric_cell, metric_series)):
            cell.reset_view()
            if drawn:
                cell.set_x_end(float(max(longest, 1)))
                cell.fit_y(drawn)

    def curve_names(self, which: str = "metric") -> list[str]:
        """The names of the curves drawn in the ``metric`` or ``loss`` plot (for tests)."""
        cell = self.metric_cell if which == "metric" else self.loss_cell
        if cell is None:
            return []
        return [c.name() for c in cell.item.listDataItems()]


__all__ = ["RUN_COLORS", "ComparePlots", "curve_labels", "run_style"]
