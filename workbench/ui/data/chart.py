"""The Data tab's chart: samples per class, or the distribution of a regression target.

pyqtgraph is imported when the first chart is drawn; the Data tab starts importing it on
a helper thread while a dataset is scanned (:func:`workbench.ui.plot_warmup.warm_up_pyqtgraph`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QVBoxLayout, QWidget

from workbench.data.describe import ScanResult
from workbench.ui import theme
from workbench.ui.theme import label


class ClassChart(QWidget):
    """A heading and a bar chart: one bar per class, or the target's histogram."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = label("CLASS COUNTS", "section")
        #: The pyqtgraph PlotWidget, made on first use (import cost).
        self.plot: Any = None
        self._col = QVBoxLayout(self)
        self._col.setContentsMargins(0, 0, 0, 0)
        self._col.setSpacing(4)
        self._col.addWidget(self.title)

    def _ensure_plot(self) -> Any:
        if self.plot is None:
            import pyqtgraph as pg

            plot = pg.PlotWidget(background=theme.PANEL)
            plot.setObjectName("classChart")
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.setMinimumHeight(180)
            plot.showGrid(x=False, y=True, alpha=0.15)
            for side in ("left", "bottom"):
                axis = plot.getAxis(side)
                axis.setPen(pg.mkPen(theme.BORDER, width=1))
                axis.setTextPen(pg.mkPen(theme.TEXT, width=1))
            self.plot = plot
            self._col.addWidget(plot, 1)
        return self.plot

    def draw(self, result: ScanResult) -> None:
        """Draw the class counts (classification) or the target's histogram (regression)."""
        import numpy as np
        import pyqtgraph as pg

        plot = self._ensure_plot()
        plot.clear()
        info = result.info
        axis = plot.getAxis("bottom")
        brush = pg.mkBrush(theme.ACCENT)
        pen = pg.mkPen(None)
        if info.classes is not None:
            self.title.setText("CLASS COUNTS")
            names = list(info.class_counts)
            counts = np.array([info.class_counts[c] for c in names], dtype=np.float64)
            x = np.arange(len(names), dtype=np.float64)
            plot.addItem(pg.BarGraphItem(x=x, height=counts, width=0.65, brush=brush, pen=pen))
            step = max(1, len(names) // 12)
            ticks = [(float(i), _short(names[i])) for i in range(0, len(names), step)]
            axis.setTicks([ticks, []])
            plot.setLabel("bottom", "")
            plot.setLabel("left", "samples")
            plot.setXRange(-0.6, len(names) - 0.4, padding=0)
            plot.setYRange(0, max(1.0, float(counts.max(initial=0))) * 1.1, padding=0)
        else:
            self.title.setText("TARGET DISTRIBUTION")
            axis.setTicks(None)
            hist = result.target_histogram
            if hist is not None:
                counts_l, edges_l = hist
                counts = np.asarray(counts_l, dtype=np.float64)
                edges = np.asarray(edges_l, dtype=np.float64)
                plot.addItem(
                    pg.BarGraphItem(
                        x0=edges[:-1],
                        x1=edges[1:],
                        height=counts,
                        brush=brush,
                        pen=pg.mkPen(theme.PANEL),
                    )
                )
                plot.setXRange(float(edges[0]), float(edges[-1]), padding=0.02)
                plot.setYRange(0, max(1.0, float(counts.max(initial=0))) * 1.1, padding=0)
            target = info.details.get("target")
            plot.setLabel("bottom", str(target) if target else "target")
            plot.setLabel("left", "samples")


def _short(name: str, n: int = 14) -> str:
    return name if len(name) <= n else name[: n - 1] + "…"
