"""The Evaluate tab's figures as pyqtgraph plots, built from an
:class:`~workbench.engine.evaluation.result.Evaluation`, and the same figures as PNG images.

Each figure is a :class:`FigureFrame`: a title, a legend in a row of its own above the
plot (so it never covers data), the plot with titled axes, and a note under it.
Classification has the confusion matrix (click a cell: :attr:`ConfusionMatrixFigure.cell_clicked`),
ROC and precision-recall curves and the reliability diagram; regression has predicted
against true values (click a point: :attr:`PointsFigure.point_clicked`), residuals against
predicted values and a residual histogram. :class:`PerClassTable` is the per-class table.

A figure takes its colours from a :class:`Colors` (the app's theme, or always the light
one for :func:`render_figures`), never from the application's palette, so a figure reads
the same inside the window and on its own.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QBuffer, QByteArray, QCoreApplication, QIODevice, QPointF, QRectF, Qt
from PySide6.QtCore import Signal as QtSignal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QButtonGroup,
    QFrame,
    QGraphicsItem,
    QGraphicsRectItem,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.engine.evaluation.explore import (
    MAX_CELL_TEXT,
    cell_label,
    curves_note,
    curves_to_draw,
    histogram,
    nearest_point,
    short_name,
    span,
    text_color_on,
    tick_step,
)
from workbench.engine.evaluation.result import Evaluation
from workbench.ui import theme
from workbench.ui.legend import CurveStyle, LegendRow

#: Colours of curves, one per class, readable on a light panel ...
SERIES_LIGHT = (
    "#2563eb",
    "#ea580c",
    "#16a34a",
    "#dc2626",
    "#9333ea",
    "#0891b2",
    "#ca8a04",
    "#db2777",
    "#4b5563",
    "#65a30d",
    "#7c3aed",
    "#0d9488",
)
#: ... and on a dark one.
SERIES_DARK = (
    "#60a5fa",
    "#fb923c",
    "#4ade80",
    "#f87171",
    "#c084fc",
    "#22d3ee",
    "#facc15",
    "#f472b6",
    "#9ca3af",
    "#a3e635",
    "#a78bfa",
    "#2dd4bf",
)
#: The colour of a picked point or cell.
PICK_LIGHT, PICK_DARK = "#f97316", "#fb923c"

#: Titles of the figures :func:`render_figures` returns, in order.
CLASSIFICATION_TITLES = (
    "Confusion matrix",
    "ROC curves",
    "Precision-recall curves",
    "Reliability diagram",
)
REGRESSION_TITLES = ("Predicted vs true", "Residuals vs predicted", "Residual histogram")


@dataclass(frozen=True)
class Colors:
    """The colours a figure is drawn in."""

    panel: str
    text: str
    muted: str
    border: str
    accent: str
    pick: str
    series: tuple[str, ...]
    dark: bool

    @classmethod
    def current(cls) -> Colors:
        """The colours of the app's theme now (light or dark)."""
        dark = theme.is_dark()
        return cls(
            theme.PANEL,
            theme.TEXT,
            theme.MUTED,
            theme.BORDER,
            theme.ACCENT,
            PICK_DARK if dark else PICK_LIGHT,
            SERIES_DARK if dark else SERIES_LIGHT,
            dark,
        )

    @classmethod
    def light(cls) -> Colors:
        """The light theme's colours, whatever the app shows (pictures for a report)."""
        t = theme.LIGHT
        return cls(
            t["PANEL"],
            t["TEXT"],
            t["MUTED"],
            t["BORDER"],
            t["ACCENT"],
            PICK_LIGHT,
            SERIES_LIGHT,
            False,
        )

    def color(self, i: int) -> str:
        """The ``i``-th series colour (they repeat after a dozen)."""
        return self.series[i % len(self.series)]


def _qcolor(color: str, alpha: int = 255) -> QColor:
    c = QColor(color)
    c.setAlpha(alpha)
    return c


class FigureFrame(QFrame):
    """A titled plot with its legend above it and a note below it.

    Attributes:
        plot: The pyqtgraph ``PlotWidget``; ``item`` its PlotItem and ``view`` its ViewBox.
        legend: The :class:`~workbench.ui.legend.LegendRow` above the plot.
        title: The title label; ``header`` the row it sits in (a figure may add controls).
    """

    def __init__(
        self,
        title: str,
        x_label: str,
        y_label: str,
        colors: Colors,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        self.colors = colors
        self.setObjectName("figure")
        self.setStyleSheet(
            f"QFrame#figure {{ background: {colors.panel}; }}"
            f"QFrame#figure QLabel {{ color: {colors.text}; background: transparent; }}"
            f"QFrame#figure QLabel#figureNote {{ color: {colors.muted}; }}"
        )
        self.title = QLabel(title)
        self.title.setObjectName("figureTitle")
        self.title.setFont(theme.bold(self.title.font()))
        self.header = QHBoxLayout()
        self.header.setContentsMargins(0, 0, 0, 0)
        self.header.addStretch(1)
        self.header.addWidget(self.title)
        self.header.addStretch(1)
        self.legend = LegendRow()
        self.plot = pg.PlotWidget(background=colors.panel)
        self.plot.setMinimumSize(160, 120)
        self.item = self.plot.getPlotItem()
        self.view = self.item.getViewBox()
        self.item.hideButtons()
        self.item.setMenuEnabled(False)
        self.item.showGrid(x=True, y=True, alpha=0.15)
        for name in ("left", "bottom"):
            axis = self.item.getAxis(name)
            axis.setPen(pg.mkPen(colors.border, width=1))
            axis.setTextPen(pg.mkPen(colors.muted))
            axis.enableAutoSIPrefix(False)
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.item.setLabel("bottom", x_label, color=colors.muted)
        self.item.setLabel("left", y_label, color=colors.muted)
        self.note = QLabel("")
        self.note.setObjectName("figureNote")
        self.note.setWordWrap(True)
        self.note.hide()
        col = QVBoxLayout(self)
        col.setContentsMargins(6, 6, 6, 4)
        col.setSpacing(2)
        col.addLayout(self.header)
        col.addWidget(self.legend)
        col.addWidget(self.plot, 1)
        col.addWidget(self.note)

    def set_note(self, text: str) -> None:
        """The muted line under the plot ("" hides it)."""
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def line(
        self,
        x: Any,
        y: Any,
        color: str,
        width: float = 2.0,
        style: Qt.PenStyle = Qt.PenStyle.SolidLine,
    ) -> Any:
        """Add a line through the points (x, y); return its item."""
        pg = self._pg
        curve = pg.PlotDataItem(
            np.asarray(x, np.float64),
            np.asarray(y, np.float64),
            pen=pg.mkPen(color, width=width, style=style),
        )
        self.item.addItem(curve)
        return curve

    def scene_point(self, x: float, y: float) -> QPointF:
        """Where the data point (x, y) is, in the plot widget's own coordinates."""
        scene = self.view.mapViewToScene(QPointF(x, y))
        return QPointF(self.plot.mapFromScene(scene))

    def _click_in_view(self, event: Any) -> QPointF | None:
        """The data coordinates of a left click inside the plot area, else None."""
        if event.button() != Qt.MouseButton.LeftButton:
            return None
        pos = event.scenePos()
        if not self.view.sceneBoundingRect().contains(pos):
            return None
        return QPointF(self.view.mapSceneToView(pos))


# --- classification --------------------------------------------------------------------------------


class ConfusionMatrixFigure(FigureFrame):
    """The confusion matrix as a heatmap (rows: true class, columns: predicted class) with
    the count, or the share of the true class, in each cell.

    Signals:
        cell_clicked(int, int): A cell was clicked: its true and predicted class.
    """

    cell_clicked = QtSignal(int, int)

    def __init__(
        self,
        evaluation: Evaluation,
        colors: Colors,
        *,
        interactive: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Confusion matrix", "predicted class", "true class", colors, parent)
        pg = self._pg
        c = evaluation.classification
        self.labels = [str(x) for x in evaluation.labels]
        self.counts = np.asarray(c.confusion, dtype=np.int64)
        self.shares = np.asarray(c.confusion_normalized, dtype=np.float64)
        self.normalized = False
        n = len(self.labels)
        self.n = n
        self.view.setMouseEnabled(x=False, y=False)
        self.view.invertY(True)
        self.item.showGrid(x=False, y=False)
        tint = QColor(colors.accent)
        low = QColor(colors.panel)
        mid = QColor(
            (low.red() + tint.red()) // 2,
            (low.green() + tint.green()) // 2,
            (low.blue() + tint.blue()) // 2,
        )
        self.cmap = pg.ColorMap(
            [0.0, 0.5, 1.0],
            [
                (low.red(), low.green(), low.blue()),
                (mid.red(), mid.green(), mid.blue()),
                (tint.red(), tint.green(), tint.blue()),
            ],
        )
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setLookupTable(self.cmap.getLookupTable(nPts=256))
        self.item.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(0, 1), width=14, colorMap=self.cmap, interactive=False)
        self.bar.setImageItem(self.image, insert_in=self.item)
        self.bar.axis.setPen(pg.mkPen(colors.border))
        self.bar.axis.setTextPen(pg.mkPen(colors.muted))
        # Cell borders: the grid between the cells, in the panel's colour.
        self._grid = pg.PlotDataItem(pen=pg.mkPen(colors.panel, width=1), connect="pairs")
        self.item.addItem(self._grid)
        self._texts: list[Any] = []
        self._pick = QGraphicsRectItem()
        pen = pg.mkPen(colors.pick, width=3)
        pen.setCosmetic(True)
        self._pick.setPen(pen)
        self._pick.setZValue(20)
        self._pick.hide()
        self.item.addItem(self._pick, ignoreBounds=True)
        self.selected: tuple[int, int] | None = None
        step = tick_step(n)
        ticks = [[(i + 0.5, short_name(self.labels[i])) for i in range(0, n, step)]]
        self.item.getAxis("bottom").setTicks(ticks)
        self.item.getAxis("left").setTicks(ticks)
        self.view.setRange(xRange=(0, n), yRange=(0, n), padding=0.0)
        self.mode_buttons: dict[str, QToolButton] = {}
        if interactive:
            self._add_mode_buttons()
            self.plot.scene().sigMouseClicked.connect(self._on_click)
            self.plot.setCursor(Qt.CursorShape.PointingHandCursor)
            self.set_note("Click a cell to list its samples.")
        self._draw()

    def _add_mode_buttons(self) -> None:
        group = QButtonGroup(self)
        for key, text, tip in (
            ("counts", "Counts", "The number of samples in each cell"),
            (
                "normalized",
                "Row %",
                "Each cell as a share of its true class (rows sum to 100 %): the recall of each class is on the diagonal",
            ),
        ):
            b = QToolButton()
            b.setText(text)
            b.setToolTip(tip)
            b.setCheckable(True)
            b.setAutoRaise(True)
            b.setObjectName(f"matrix_{key}")
            group.addButton(b)
            self.header.addWidget(b)
            self.mode_buttons[key] = b
            b.toggled.connect(lambda on, k=key: self._on_mode(on, k))
        self.mode_buttons["counts"].setChecked(True)

    def _on_mode(self, on: bool, key: str) -> None:
        if on:
            self.set_normalized(key == "normalized")

    def set_normalized(self, normalized: bool) -> None:
        """Show row shares (True) or counts (False) in the cells and the colours."""
        if normalized == self.normalized:
            return
        self.normalized = normalized
        button = self.mode_buttons.get("normalized" if normalized else "counts")
        if button is not None and not button.isChecked():
            button.setChecked(True)
        self._draw()

    def _draw(self) -> None:
        pg = self._pg
        n = self.n
        values = self.shares if self.normalized else self.counts.astype(np.float64)
        top = 1.0 if self.normalized else float(max(1, int(self.counts.max(initial=0))))
        self.image.setImage(values, levels=(0.0, top), autoLevels=False)
        self.image.setRect(QRectF(0, 0, n, n))
        self.bar.setLevels((0.0, top))
        self.bar.axis.setLabel(
            "share of the true class" if self.normalized else "samples", color=self.colors.muted
        )
        xs: list[float] = []
        ys: list[float] = []
        for k in range(1, n):
            xs += [k, k, 0, n]
            ys += [0, n, k, k]
        self._grid.setData(np.asarray(xs, np.float64), np.asarray(ys, np.float64))
        for t in self._texts:
            self.item.removeItem(t)
        self._texts = []
        if n > MAX_CELL_TEXT:
            return
        lut = self.cmap
        font = QFont(self.font())
        if n > 10:
            font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
        for r in range(n):
            for c in range(n):
                v = float(values[r, c])
                rgba = lut.map(v / top if top else 0.0, mode="byte")
                light = text_color_on(rgba) == "light"
                color = "#ffffff" if light else self.colors.text
                text = pg.TextItem(
                    cell_label(int(self.counts[r, c]), float(self.shares[r, c]), self.normalized),
                    color=color,
                    anchor=(0.5, 0.5),
                )
                f = QFont(font)
                if r == c:
                    f.setBold(True)
                text.setFont(f)
                text.setPos(c + 0.5, r + 0.5)
                self.item.addItem(text, ignoreBounds=True)
                self._texts.append(text)

    def cell_texts(self) -> list[list[str]]:
        """The text in each cell, row by row (empty when the cells show none)."""
        if not self._texts:
            return []
        flat = [t.textItem.toPlainText() for t in self._texts]
        return [flat[r * self.n : (r + 1) * self.n] for r in range(self.n)]

    def cell_center(self, true: int, predicted: int) -> QPointF:
        """The centre of cell (``true``, ``predicted``) in the plot widget's coordinates."""
        return self.scene_point(predicted + 0.5, true + 0.5)

    def select_cell(self, true: int | None, predicted: int | None = None) -> None:
        """Outline cell (``true``, ``predicted``); None clears the outline."""
        if true is None or predicted is None:
            self.selected = None
            self._pick.hide()
            return
        self.selected = (true, predicted)
        self._pick.setRect(QRectF(predicted, true, 1, 1))
        self._pick.show()

    def _on_click(self, event: Any) -> None:
        p = self._click_in_view(event)
        if p is None:
            return
        col, row = math.floor(p.x()), math.floor(p.y())
        if 0 <= row < self.n and 0 <= col < self.n:
            event.accept()
            self.select_cell(row, col)
            self.cell_clicked.emit(row, col)


class CurvesFigure(FigureFrame):
    """ROC or precision-recall curves: one per class against the rest, area in the legend."""

    def __init__(
        self, evaluation: Evaluation, kind: str, colors: Colors, parent: QWidget | None = None
    ) -> None:
        c = evaluation.classification
        labels = [str(x) for x in evaluation.labels]
        if kind == "roc":
            name, mean, area, curves = "ROC curves", c.roc_auc, "AUC", c.roc
            axes = ("false positive rate", "true positive rate")
        else:
            name, mean, area, curves = "Precision-recall curves", c.average_precision, "AP", c.pr
            axes = ("recall", "precision")
        if math.isfinite(mean):
            name += f" (macro {area} {mean:.3f})" if len(labels) > 2 else f" ({area} {mean:.3f})"
        super().__init__(name, *axes, colors, parent)
        entries: list[tuple[str, CurveStyle]] = []
        if kind == "roc":
            self.line([0, 1], [0, 1], colors.muted, 1.0, Qt.PenStyle.DashLine)
        for k in curves_to_draw(curves):
            color = colors.color(k)
            curve = curves[k]
            self.line(curve.x, curve.y, color, 2.0)
            name = labels[k] if len(labels) > 2 else f"{labels[k]} (vs {labels[1 - k]})"
            entries.append((f"{name}  {area} {curve.area:.3f}", CurveStyle(color)))
        if kind == "roc":
            entries.append(("chance", CurveStyle(colors.muted, Qt.PenStyle.DashLine)))
        self.legend.set_entries(entries)
        self.names = [name for name, _ in entries]
        self.view.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
        self.view.setLimits(xMin=-0.05, xMax=1.05, yMin=-0.05, yMax=1.1)
        note = curves_note(c, labels, kind)
        if not curves:
            note = (
                "No curve: the split holds a single class."
                if kind == "roc"
                else "No curve: no class of the model occurs in the split."
            )
        self.set_note(note)


class ReliabilityFigure(FigureFrame):
    """The reliability diagram: each confidence bin's accuracy against perfect calibration,
    with the expected calibration error in the title."""

    def __init__(
        self, evaluation: Evaluation, colors: Colors, parent: QWidget | None = None
    ) -> None:
        c = evaluation.classification
        rel = c.reliability
        ece = f" (ECE {rel.ece:.3f})" if math.isfinite(rel.ece) else ""
        super().__init__(
            f"Reliability diagram{ece}",
            "confidence (probability of the predicted class)",
            "accuracy",
            colors,
            parent,
        )
        pg = self._pg
        edges = np.asarray(rel.edges, np.float64)
        centers = (edges[:-1] + edges[1:]) / 2
        width = float(edges[1] - edges[0]) if len(edges) > 1 else 0.1
        has = np.asarray(rel.counts) > 0
        bars = pg.BarGraphItem(
            x=centers[has],
            height=np.nan_to_num(np.asarray(rel.accuracy, np.float64)[has]),
            width=width * 0.9,
            brush=pg.mkBrush(_qcolor(colors.accent, 170)),
            pen=pg.mkPen(colors.accent),
        )
        self.item.addItem(bars)
        self.line([0, 1], [0, 1], colors.muted, 1.5, Qt.PenStyle.DashLine)
        conf = np.asarray(rel.confidence, np.float64)[has]
        acc = np.asarray(rel.accuracy, np.float64)[has]
        gap = pg.PlotDataItem(
            conf,
            acc,
            pen=None,
            symbol="d",
            symbolSize=8,
            symbolBrush=pg.mkBrush(colors.pick),
            symbolPen=None,
        )
        self.item.addItem(gap)
        for x, a, n in zip(centers[has], acc, np.asarray(rel.counts)[has], strict=True):
            label = pg.TextItem(f"{int(n)}", color=colors.muted, anchor=(0.5, 1.0))
            font = QFont(self.font())
            font.setPointSizeF(max(7.0, font.pointSizeF() - 1.5))
            label.setFont(font)
            label.setPos(float(x), float(a) + 0.01)
            self.item.addItem(label, ignoreBounds=True)
        self.legend.set_entries(
            [
                ("accuracy of the bin", CurveStyle(colors.accent, symbol="s", line=False)),
                ("its mean confidence", CurveStyle(colors.pick, symbol="d", line=False)),
                ("perfect calibration", CurveStyle(colors.muted, Qt.PenStyle.DashLine)),
            ]
        )
        self.view.setRange(xRange=(0, 1), yRange=(0, 1.1), padding=0.02)
        self.view.setMouseEnabled(x=False, y=False)
        self.set_note(
            "Bars are the share of right predictions among the samples whose confidence "
            "falls in the bin (their number above); a calibrated model's bars meet the diagonal."
        )


# --- regression ----------------------------------------------------------------------------------


class PointsFigure(FigureFrame):
    """A scatter of one point per sample; a click picks the nearest point.

    Signals:
        point_clicked(int): The sample index of the point nearest a click.
    """

    point_clicked = QtSignal(int)

    def __init__(
        self,
        title: str,
        x_label: str,
        y_label: str,
        xs: np.ndarray,
        ys: np.ndarray,
        colors: Colors,
        *,
        interactive: bool = True,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(title, x_label, y_label, colors, parent)
        pg = self._pg
        self.xs = np.asarray(xs, np.float64)
        self.ys = np.asarray(ys, np.float64)
        alpha = 150 if len(self.xs) < 2000 else 90
        self.points = pg.ScatterPlotItem(
            self.xs,
            self.ys,
            size=6,
            pen=None,
            brush=pg.mkBrush(_qcolor(colors.accent, alpha)),
        )
        self.points.setZValue(5)
        self.item.addItem(self.points)
        self._pick = pg.ScatterPlotItem(
            size=15, pen=pg.mkPen(colors.pick, width=2.5), brush=pg.mkBrush(None)
        )
        self._pick.setZValue(10)
        self.item.addItem(self._pick)
        self.selected: int | None = None
        if interactive:
            self.plot.scene().sigMouseClicked.connect(self._on_click)

    def select_point(self, index: int | None) -> None:
        """Ring sample ``index``'s point (None clears the ring)."""
        self.selected = index
        if index is None:
            self._pick.setData([], [])
        else:
            self._pick.setData([self.xs[index]], [self.ys[index]])

    def point_position(self, index: int) -> QPointF:
        """Where sample ``index``'s point is, in the plot widget's coordinates."""
        return self.scene_point(float(self.xs[index]), float(self.ys[index]))

    def _on_click(self, event: Any) -> None:
        p = self._click_in_view(event)
        if p is None:
            return
        sx, sy = self.view.viewPixelSize()
        picked = nearest_point(
            self.xs, self.ys, p.x(), p.y(), 1.0 / sx if sx else 1.0, 1.0 / sy if sy else 1.0
        )
        if picked is not None:
            event.accept()
            self.select_point(picked)
            self.point_clicked.emit(picked)


def _target_name(evaluation: Evaluation, target: int) -> str:
    return str(evaluation.labels[target]) if evaluation.labels else "value"


def scatter_figure(
    evaluation: Evaluation,
    colors: Colors,
    target: int = 0,
    *,
    interactive: bool = True,
    parent: QWidget | None = None,
) -> PointsFigure:
    """Predicted against true values, with the identity line (R² in the title)."""
    m = evaluation.regression
    t = evaluation.y_true.reshape(evaluation.num_samples, -1)[:, target]
    p = evaluation.y_pred.reshape(evaluation.num_samples, -1)[:, target]
    name = _target_name(evaluation, target)
    r2 = float(m.r2_per_target[target]) if len(m.r2_per_target) > target else math.nan
    title = "Predicted vs true" + (f" (R² {r2:.3f})" if math.isfinite(r2) else "")
    fig = PointsFigure(
        title,
        f"true {name}",
        f"predicted {name}",
        t,
        p,
        colors,
        interactive=interactive,
        parent=parent,
    )
    lo, hi = span(t, p)
    fig.line([lo, hi], [lo, hi], colors.muted, 1.5, Qt.PenStyle.DashLine)
    fig.legend.set_entries(
        [
            ("a sample", CurveStyle(colors.accent, symbol="o", line=False)),
            ("predicted = true", CurveStyle(colors.muted, Qt.PenStyle.DashLine)),
        ]
    )
    fig.view.setRange(xRange=(lo, hi), yRange=(lo, hi), padding=0.04)
    if interactive:
        fig.set_note("Points above the line are over-predicted. Click a point to see its sample.")
    return fig


def residuals_figure(
    evaluation: Evaluation,
    colors: Colors,
    target: int = 0,
    *,
    interactive: bool = True,
    parent: QWidget | None = None,
) -> PointsFigure:
    """Residuals (true − predicted) against predicted values, with the zero line."""
    name = _target_name(evaluation, target)
    p = evaluation.y_pred.reshape(evaluation.num_samples, -1)[:, target]
    res = np.asarray(evaluation.regression.residuals, np.float64).reshape(len(p), -1)[:, target]
    fig = PointsFigure(
        "Residuals vs predicted",
        f"predicted {name}",
        "residual (true − predicted)",
        p,
        res,
        colors,
        interactive=interactive,
        parent=parent,
    )
    lo, hi = span(p)
    fig.line([lo, hi], [0, 0], colors.muted, 1.5, Qt.PenStyle.DashLine)
    fig.legend.set_entries(
        [
            ("a sample", CurveStyle(colors.accent, symbol="o", line=False)),
            ("no error", CurveStyle(colors.muted, Qt.PenStyle.DashLine)),
        ]
    )
    rlo, rhi = span(res)
    bound = max(abs(rlo), abs(rhi))
    fig.view.setRange(xRange=(lo, hi), yRange=(-bound, bound), padding=0.06)
    if interactive:
        fig.set_note(
            "A pattern here (a slope, a curve, a funnel) is error the model could still learn. "
            "Click a point to see its sample."
        )
    return fig


class HistogramFigure(FigureFrame):
    """How the residuals are spread: a histogram with the zero line."""

    def __init__(
        self,
        evaluation: Evaluation,
        colors: Colors,
        target: int = 0,
        parent: QWidget | None = None,
    ) -> None:
        m = evaluation.regression
        mae = float(m.mae_per_target[target]) if len(m.mae_per_target) > target else math.nan
        title = "Residual histogram" + (f" (MAE {mae:.4g})" if math.isfinite(mae) else "")
        super().__init__(title, "residual (true − predicted)", "samples", colors, parent)
        pg = self._pg
        res = np.asarray(m.residuals, np.float64).reshape(evaluation.num_samples, -1)[:, target]
        counts, edges = histogram(res)
        bars = pg.BarGraphItem(
            x0=edges[:-1],
            x1=edges[1:],
            height=counts,
            brush=pg.mkBrush(_qcolor(colors.accent, 170)),
            pen=pg.mkPen(colors.panel),
        )
        self.item.addItem(bars)
        top = float(max(1, int(counts.max(initial=0))))
        zero = self.line([0, 0], [0, top * 1.05], colors.pick, 1.5, Qt.PenStyle.DashLine)
        zero.setZValue(5)
        self.legend.set_entries(
            [
                ("samples per bin", CurveStyle(colors.accent, symbol="s", line=False)),
                ("no error", CurveStyle(colors.pick, Qt.PenStyle.DashLine)),
            ]
        )
        lo, hi = float(edges[0]), float(edges[-1])
        bound = max(abs(lo), abs(hi))
        self.view.setRange(xRange=(-bound, bound), yRange=(0, top * 1.08), padding=0.02)
        self.counts, self.edges = counts, edges


# --- the per-class table ------------------------------------------------------------------------


class PerClassTable(QTableWidget):
    """Precision, recall, F1 and support of each class, then their macro and weighted means."""

    COLUMNS = ("class", "precision", "recall", "F1", "support")

    def __init__(self, evaluation: Evaluation, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("perClassTable")
        pc = evaluation.classification.per_class
        labels = [str(x) for x in evaluation.labels]
        self.setColumnCount(len(self.COLUMNS))
        self.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.setRowCount(len(labels) + 2)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setDefaultSectionSize(22)
        total = int(np.asarray(pc.support).sum())
        rows: list[tuple[str, float, float, float, int, bool]] = [
            (
                labels[i],
                float(pc.precision[i]),
                float(pc.recall[i]),
                float(pc.f1[i]),
                int(pc.support[i]),
                False,
            )
            for i in range(len(labels))
        ]
        for name, avg in (("macro mean", pc.macro), ("weighted mean", pc.weighted)):
            rows.append((name, avg["precision"], avg["recall"], avg["f1"], total, True))
        bold = theme.bold(self.font())
        for r, (name, p, rec, f1, support, mean) in enumerate(rows):
            cells = [name, _score(p), _score(rec), _score(f1), f"{support:,}"]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if mean:
                    item.setFont(bold)
                if not mean and c == 4 and support == 0:
                    item.setToolTip("This class does not occur in the split")
                self.setItem(r, c, item)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(self.COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)

    def row_texts(self) -> list[list[str]]:
        """Every row's cells as shown."""
        out = []
        for r in range(self.rowCount()):
            cells = [self.item(r, c) for c in range(self.columnCount())]
            out.append([c.text() if c is not None else "" for c in cells])
        return out


def _score(v: float) -> str:
    return f"{v:.3f}" if math.isfinite(v) else "n/a"


# --- all figures of an evaluation ------------------------------------------------------------------


def classification_figures(
    evaluation: Evaluation, colors: Colors, *, interactive: bool = True
) -> list[tuple[str, FigureFrame]]:
    """The confusion matrix, ROC and precision-recall curves and the reliability diagram."""
    return [
        (
            CLASSIFICATION_TITLES[0],
            ConfusionMatrixFigure(evaluation, colors, interactive=interactive),
        ),
        (CLASSIFICATION_TITLES[1], CurvesFigure(evaluation, "roc", colors)),
        (CLASSIFICATION_TITLES[2], CurvesFigure(evaluation, "pr", colors)),
        (CLASSIFICATION_TITLES[3], ReliabilityFigure(evaluation, colors)),
    ]


def regression_figures(
    evaluation: Evaluation, colors: Colors, target: int = 0, *, interactive: bool = True
) -> list[tuple[str, FigureFrame]]:
    """Predicted against true values, residuals against predicted, and the residual histogram."""
    return [
        (
            REGRESSION_TITLES[0],
            scatter_figure(evaluation, colors, target, interactive=interactive),
        ),
        (
            REGRESSION_TITLES[1],
            residuals_figure(evaluation, colors, target, interactive=interactive),
        ),
        (REGRESSION_TITLES[2], HistogramFigure(evaluation, colors, target)),
    ]


def figures_of(
    evaluation: Evaluation, colors: Colors, *, interactive: bool = True
) -> list[tuple[str, FigureFrame]]:
    """Every figure of ``evaluation`` (its task decides which)."""
    if evaluation.proba is not None:
        return classification_figures(evaluation, colors, interactive=interactive)
    return regression_figures(evaluation, colors, interactive=interactive)


def figure_png(figure: QWidget, width: int, height: int) -> bytes:
    """``figure`` drawn at ``width`` x ``height`` pixels as PNG bytes, without showing it.

    The widget must have no parent; it is left hidden. Runs on the GUI thread.
    """
    figure.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    layout = figure.layout()
    if layout is not None:
        # No window manager takes size hints offscreen; Qt would warn on show.
        layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    figure.resize(width, height)
    figure.show()
    for _ in range(2):  # layouts post their requests: let them settle
        QCoreApplication.sendPostedEvents()
    pixmap = figure.grab()
    figure.hide()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    pixmap.save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def render_figures(
    evaluation: Evaluation, *, width: int = 800, height: int = 520
) -> list[tuple[str, bytes]]:
    """Every figure of ``evaluation`` as ``(title, PNG bytes)``, in the light theme.

    Classification: the confusion matrix, ROC curves, precision-recall curves and the
    reliability diagram; regression: predicted vs true, residuals vs predicted and the
    residual histogram (of the first target). Needs a QApplication (offscreen is
    enough; no window is shown) and runs on its thread.

    Raises:
        RuntimeError: there is no QApplication.
    """
    return list(iter_figure_pngs(evaluation, width=width, height=height))


def iter_figure_pngs(
    evaluation: Evaluation, *, width: int = 800, height: int = 520
) -> Iterator[tuple[str, bytes]]:
    """:func:`render_figures` one figure at a time: each is built and drawn when asked for,
    so a window can draw one per turn of its event loop.

    Raises:
        RuntimeError: there is no QApplication.
    """
    if not isinstance(QApplication.instance(), QApplication):
        raise RuntimeError(
            "render_figures needs a QApplication (QT_QPA_PLATFORM=offscreen will do)"
        )
    for title, figure in figures_of(evaluation, Colors.light(), interactive=False):
        try:
            yield title, figure_png(figure, width, height)
        finally:
            figure.deleteLater()


#: The QApplication :func:`render_figures_headless` made, kept for the rest of the process
#: (Qt allows one application, made once).
_headless_app: QApplication | None = None


def render_figures_headless(
    evaluation: Evaluation, *, width: int = 800, height: int = 520
) -> list[tuple[str, bytes]]:
    """:func:`render_figures` for a caller without a window (``workbench evaluate
    --report``): makes the QApplication if none runs yet. The caller picks the platform
    (``QT_QPA_PLATFORM=offscreen`` without a display) before the first call."""
    global _headless_app
    if not isinstance(QApplication.instance(), QApplication):
        _headless_app = QApplication(sys.argv[:1])
    return render_figures(evaluation, width=width, height=height)


__all__ = [
    "CLASSIFICATION_TITLES",
    "REGRESSION_TITLES",
    "Colors",
    "ConfusionMatrixFigure",
    "CurvesFigure",
    "FigureFrame",
    "HistogramFigure",
    "PerClassTable",
    "PointsFigure",
    "ReliabilityFigure",
    "classification_figures",
    "figure_png",
    "figures_of",
    "iter_figure_pngs",
    "regression_figures",
    "render_figures",
    "render_figures_headless",
    "residuals_figure",
    "scatter_figure",
]
