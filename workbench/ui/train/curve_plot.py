"""One plot of curves over epochs, with its title and its legend above it.

:class:`CurvePlot` is the building block of the Train tab's charts and of any other plot
of runs (one curve per run, say): it styles a pyqtgraph plot the way the app does, keeps
the legend out of the plot area, and moves its axes only as the data needs
(:mod:`workbench.engine.curves`), never against a zoom or pan of the user's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QFrame, QGraphicsItem, QLabel, QVBoxLayout, QWidget

from workbench.engine.curves import Series, y_range_to_fit
from workbench.ui import theme
from workbench.ui.legend import CurveStyle, LegendRow


def make_curve(style: CurveStyle, name: str = "", symbol_size: int = 5) -> Any:
    """A curve drawn as ``style`` says (one point per epoch: a small marker on each), clipped
    to the view and peak-downsampled, for :meth:`CurvePlot.add`."""
    import pyqtgraph as pg

    curve = pg.PlotDataItem(
        pen=pg.mkPen(style.color, width=1, style=style.style) if style.line else None,
        symbol=style.symbol,
        symbolSize=symbol_size,
        symbolBrush=pg.mkBrush(style.color),
        symbolPen=None,
        name=name,
    )
    curve.setClipToView(True)
    curve.setDownsampling(auto=True, method="peak")
    return curve


def show_series(series: Series, curve: Any) -> None:
    """Give ``curve`` the points of ``series`` (and mark them drawn)."""
    import numpy as np

    series.dirty = False
    x, y = series.view()
    if len(y) and not np.isfinite(y).any():
        x, y = x[:0], y[:0]  # nothing to draw (and pyqtgraph's markers warn on all-NaN data)
    curve.setData(x, y, connect="finite")


class CurvePlot(QFrame):
    """A titled plot with its legend in a row of its own above it (a legend inside covers
    curves), and optionally a right-hand axis for curves on a scale of their own.

    Attributes:
        plot: The pyqtgraph ``PlotWidget``.
        legend: The :class:`~workbench.ui.legend.LegendRow` above it.
        manual: True once the user zoomed or panned the plot: its axes then stay put.
    """

    def __init__(
        self, title: str, y_label: str = "", x_label: str = "epoch", parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        self.setObjectName("plotCell")
        self.setStyleSheet(f"QFrame#plotCell {{ background: {theme.PANEL}; }}")
        self.plot = self._build_plot(x_label, y_label)
        self.item = self.plot.getPlotItem()
        self.view = self.item.getViewBox()
        self.title = QLabel(title)
        self.title.setObjectName("plotTitle")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.legend = LegendRow()
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 0)
        col.setSpacing(0)
        col.addWidget(self.title)
        col.addWidget(self.legend)
        col.addWidget(self.plot, 1)
        self.item.enableAutoRange(x=False, y=False)
        self.manual = False
        self.view.sigRangeChangedManually.connect(self._on_zoomed)
        #: Where the x axis was last made to end (0 before any data).
        self.x_end = 0.0
        self._y_range: tuple[float, float] | None = None
        #: The right-hand axis' view (see :meth:`add_right_axis`), its manual flag and range.
        self.right_view: Any = None
        self.right_manual = False
        self._right_y_range: tuple[float, float] | None = None

    def _build_plot(self, x_label: str, y_label: str) -> Any:
        pg = self._pg
        w = pg.PlotWidget(background=theme.PANEL)
        w.setMinimumSize(QSize(200, 110))  # its cell also holds the title and the legend
        item = w.getPlotItem()
        item.setClipToView(True)
        item.setDownsampling(auto=True, mode="peak")
        item.showGrid(x=True, y=True, alpha=0.15)
        axis_pen = pg.mkPen(theme.BORDER, width=1)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(axis_pen)
            axis.setTextPen(pg.mkPen(theme.MUTED))
            axis.enableAutoSIPrefix(False)  # "(x1e+27)" beside the label is easy to miss
            # An axis (with its grid lines, which span the plot) is redrawn from a pixmap
            # unless its range changed: replaying its tick labels at every tick is what
            # costs the most when a curve gets new points.
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        item.setLabel("bottom", x_label, color=theme.MUTED)
        if y_label:
            item.setLabel("left", y_label, color=theme.MUTED)
        item.hideButtons()
        return w

    def _on_zoomed(self, *_args: Any) -> None:
        self.manual = True

    def _on_right_zoomed(self, *_args: Any) -> None:
        self.right_manual = True

    # --- curves --------------------------------------------------------------------------------

    def add(self, curve: Any, right: bool = False) -> Any:
        """Show ``curve`` (against the right-hand axis with ``right``); return it."""
        if right:
            self.right_view.addItem(curve)
        else:
            self.item.addItem(curve)
        return curve

    def remove(self, curve: Any, right: bool = False) -> None:
        """Take ``curve`` off the plot (off the right-hand axis' view with ``right``)."""
        if right:
            self.right_view.removeItem(curve)
        else:
            self.plot.removeItem(curve)

    def add_right_axis(self) -> Any:
        """Give the plot a right-hand axis with a view of its own (hidden until
        :meth:`show_right_axis`); return that view."""
        pg = self._pg
        self.right_view = pg.ViewBox(enableMenu=False)
        self.right_view.setMouseEnabled(x=False, y=True)
        self.item.scene().addItem(self.right_view)
        right_axis = self.item.getAxis("right")
        right_axis.linkToView(self.right_view)
        right_axis.setPen(pg.mkPen(theme.BORDER, width=1))
        right_axis.setTextPen(pg.mkPen(theme.MUTED))
        right_axis.enableAutoSIPrefix(False)
        right_axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.right_view.setXLink(self.view)
        self.right_view.enableAutoRange(x=False, y=False)
        self.view.sigResized.connect(self._fit_right_view)
        self.item.hideAxis("right")
        self.right_view.sigRangeChangedManually.connect(self._on_right_zoomed)
        return self.right_view

    def _fit_right_view(self) -> None:
        """Keep the right-hand axis' view over the plot's own."""
        self.right_view.setGeometry(self.view.sceneBoundingRect())
        self.right_view.linkedViewChanged(self.view, self.right_view.XAxis)

    def set_axis_labels(self, left: str, right: str | None = None) -> None:
        """Label the y axes; ``right`` None hides the right-hand axis."""
        if right is not None:
            self.item.showAxis("right")
            self.item.getAxis("right").setLabel(right, color=theme.MUTED)
            self.item.setLabel("left", left, color=theme.MUTED)
        else:
            self.item.hideAxis("right")
            self.item.setLabel("left", left)

    # --- axes ------------------------------------------------------------------------------------

    def x_stale(self, x_end: float) -> bool:
        """True when the x axis should end at ``x_end`` but does not (and was not zoomed)."""
        return not self.manual and self.x_end != x_end

    def set_x_end(self, x_end: float) -> None:
        """Show epochs 0 to ``x_end`` (unless the user zoomed or panned)."""
        if self.x_stale(x_end):
            self.x_end = x_end
            self.item.setXRange(0.0, x_end, padding=0.02)

    def fit_y(self, series: Sequence[Series], right: bool = False) -> None:
        """Fit the y axis (the right-hand one with ``right``) to the points of ``series``,
        but only when they left it or are lost in it (:func:`~workbench.engine.curves.y_range_to_fit`)."""
        if self.right_manual if right else self.manual:
            return
        current = self._right_y_range if right else self._y_range
        fitted = y_range_to_fit([s.y[: s.n] for s in series], current)
        if fitted is None:
            return
        if right:
            self._right_y_range = fitted
            self.right_view.setYRange(*fitted, padding=0)
        else:
            self._y_range = fitted
            self.view.setYRange(*fitted, padding=0)

    def reset_view(self) -> None:
        """Back to the axes of an empty plot (0 to 1), following the data again."""
        self.manual = self.right_manual = False
        self.x_end = 0.0
        self._y_range = self._right_y_range = None
        # Empty plots start from the same axes whatever they showed before.
        for view in (self.view, self.right_view):
            if view is not None:
                view.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0.02)


__all__ = ["CurvePlot", "make_curve", "show_series"]
