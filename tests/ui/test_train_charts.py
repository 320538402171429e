"""The Train tab's charts: legends beside the data, own axes for own scales, styles, resets."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QLayout

from workbench.engine.curves import Series
from workbench.ui.train.curve_plot import CurvePlot, make_curve, show_series
from workbench.ui.train.plots import LivePlots, metric_style
from workbench.ui.window import MainWindow


@pytest.fixture
def plots(qtbot) -> LivePlots:
    p = LivePlots()
    qtbot.addWidget(p)
    # A top-level window without a window manager: Qt would warn about size hints.
    p.layout().setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    p.resize(1000, 600)
    p.show()
    qtbot.waitExposed(p)
    return p


def fill(plots: LivePlots, rows: list[dict], batches: int = 10) -> None:
    """Feed epochs (and some batch losses) and draw everything."""
    plots.total_epochs = len(rows)
    for row in rows:
        e = float(row["epoch"])
        xs = np.linspace(e - 1, e, batches, endpoint=False) + 1 / batches
        plots.add_batches(xs, np.full(batches, float(row["train_loss"])))
        plots.add_lr(float(xs[0]), 1e-3)
        plots.add_epoch(row)
    for _ in range(4):
        plots._drawn_at = [0.0] * 4  # draw every plot now (they are throttled in a run)
        plots.redraw()


def rect_in(widget, ancestor) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


def test_legends_sit_outside_the_plot_areas(plots, qtbot):
    plots.set_metrics(["val_accuracy", "val_precision", "val_recall", "val_f1"])

    def laid_out() -> None:
        for plot, legend in zip(plots._plots, plots.legends, strict=True):
            item = plot.getPlotItem()
            assert item.legend is None  # nothing drawn over the curves
            assert legend.names() and legend.isVisible()
            assert not rect_in(legend, plots).intersects(rect_in(plot, plots))

    qtbot.waitUntil(laid_out, timeout=10_000)
    assert plots.legends[2].names() == ["accuracy", "precision", "recall", "F1"]
    # Narrow (1024x680 window): the entries wrap instead of running over the plot.
    plots.resize(640, 420)

    def wrapped() -> None:
        assert plots.width() == 640
        for plot, legend in zip(plots._plots, plots.legends, strict=True):
            assert rect_in(legend, plots).right() < 640  # laid out for the new size
            assert not rect_in(legend, plots).intersects(rect_in(plot, plots))
            last = legend.children()[-1]
            assert rect_in(last, plots).right() <= rect_in(legend, plots).right() + 1

    qtbot.waitUntil(wrapped, timeout=10_000)


def test_metric_curves_differ_in_style_not_only_colour(plots):
    plots.set_metrics(
        ["val_accuracy", "val_top3_accuracy", "val_precision", "val_recall", "val_f1"]
    )
    looks = [(c.opts["pen"].style(), c.opts["symbol"]) for c in plots.metric_curves.values()]
    assert len(set(looks)) == len(looks), looks


def test_r2_has_its_own_axis_beside_mae_and_rmse(plots):
    plots.set_metrics(["val_mae", "val_rmse", "val_r2"], "regression")
    rows = [
        {
            "epoch": e,
            "train_loss": 60.0 - e,
            "val_loss": 61.0 - e,
            "val_mae": 50.0 - e,
            "val_rmse": 60.0 - e,
            "val_r2": 0.2 + 0.1 * e,
        }
        for e in range(1, 6)
    ]
    fill(plots, rows)
    r2 = plots.metric_curves["val_r2"]
    mae = plots.metric_curves["val_mae"]
    assert r2.getViewBox() is not mae.getViewBox()
    (r2_lo, r2_hi) = r2.getViewBox().viewRange()[1]
    (lo, hi) = mae.getViewBox().viewRange()[1]
    assert r2_lo <= 0.3 and 0.7 <= r2_hi and r2_hi - r2_lo < 1.0  # R² fills its own axis
    assert lo <= 45 and 59 <= hi and lo > 30
    item = plots.metric_plot.getPlotItem()
    assert item.getAxis("right").isVisible()
    assert "R²" in item.getAxis("right").labelText
    # A classification task has one scale: no right-hand axis.
    plots.set_metrics(["val_accuracy", "val_f1"], "classification")
    assert not item.getAxis("right").isVisible()


def test_a_new_project_starts_with_fresh_axes(qtbot):
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    assert w.new_project("mlp")
    w.show()
    w.show_page("train")
    plots = w.train_tab.ensure_plots()
    rows = [
        {"epoch": e, "train_loss": 500.0 + e, "val_loss": 600.0 + e, "val_accuracy": 0.5}
        for e in range(1, 31)
    ]
    fill(plots, rows)
    assert plots.val_plot.getPlotItem().viewRange()[0][1] > 20
    assert plots.val_plot.getPlotItem().viewRange()[1][0] > 100
    assert w.new_project("mlp")
    for plot in plots._plots:
        (x0, x1), (y0, y1) = plot.getPlotItem().viewRange()
        assert -0.1 <= x0 and x1 <= 1.1 and -0.1 <= y0 and y1 <= 1.1, (x0, x1, y0, y1)


def test_a_curve_plot_shows_several_runs_and_keeps_a_zoom(qtbot):
    cell = CurvePlot("Validation loss", "loss")
    qtbot.addWidget(cell)
    runs = {"r1": [0.9, 0.5, 0.4], "r2": [1.0, 0.8, 0.6, 0.5]}
    series: list[Series] = []
    for i, (run_id, losses) in enumerate(runs.items()):
        s = Series()
        for epoch, loss in enumerate(losses, 1):
            s.append(epoch, loss)
        show_series(s, cell.add(make_curve(metric_style(i), run_id)))
        series.append(s)
    cell.legend.set_entries([(run_id, metric_style(i)) for i, run_id in enumerate(runs)])
    cell.set_x_end(4.0)
    cell.fit_y(series)
    assert cell.legend.names() == ["r1", "r2"]
    drawn = [c for c in cell.item.listDataItems() if c.name() in runs]
    assert [len(c.getData()[0]) for c in drawn] == [3, 4] and not any(s.dirty for s in series)
    (x0, x1), (y0, y1) = cell.view.viewRange()
    assert x0 <= 0.0 and 4.0 <= x1 < 4.5 and y0 < 0.4 and 1.0 < y1 < 1.2
    cell.view.sigRangeChangedManually.emit([True, True])  # the user zoomed
    cell.set_x_end(10.0)
    assert cell.view.viewRange()[0][1] < 4.5
    cell.reset_view()  # back to following the data
    cell.set_x_end(10.0)
    assert cell.view.viewRange()[0][1] > 10.0
