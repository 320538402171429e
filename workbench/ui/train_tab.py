"""The Train tab: hyperparameters, device, Start/Pause/Resume/Stop/Train more, live curves.

The form is generated from :func:`workbench.engine.config.form_sections` with the
inspector's field editors. The curves are pyqtgraph plots built once the tab is first
shown (pyqtgraph's import and the plots' construction are kept off the moment Start is
pressed); they receive new points once per GUI timer tick (the controller's drain),
through ``setData`` on growing float64 arrays, clipped to the view and peak-downsampled.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QFontDatabase, QShowEvent, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGraphicsItem,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListView,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from workbench.core.catalog import ParamError
from workbench.engine.config import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    TABLE_SETTINGS,
    TrainConfig,
    TrainError,
    form_sections,
)
from workbench.ui import theme
from workbench.ui.inspector import _ParamField as ParamField
from workbench.ui.legend import CurveStyle, LegendRow
from workbench.ui.theme import label

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.ui.training import RunOutcome, TrainingController

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


def _used_by_choice(name: str) -> Callable[[TrainConfig, str], bool]:
    """Whether the config's optimizer, schedule or loss reads setting ``name`` (for task ``t``)."""
    return lambda c, t: c.uses(name, t)


#: Settings that only matter for some choices; hidden otherwise. Which optimizer, schedule
#: and loss read which setting comes from their table (``TrainConfig.uses``).
RELEVANT: dict[str, Callable[[TrainConfig, str], bool]] = {
    **{name: _used_by_choice(name) for name in sorted(TABLE_SETTINGS)},
    "patience": lambda c, t: c.early_stop,
    "top_k": lambda c, t: (
        t == "classification" and (c.metrics is None or "top_k_accuracy" in c.metrics)
    ),
}
#: The metrics that can pick the best epoch, by task (the monitor choices shown).
MONITORS: dict[str, tuple[str, ...]] = {
    "classification": ("val_loss", "val_accuracy", "val_f1", "train_loss"),
    "regression": ("val_loss", "val_mae", "val_rmse", "val_r2", "train_loss"),
}
AUTO_DEVICE = "auto (a GPU if any)"
#: The validation, metrics and learning-rate plots are redrawn at most this often.
OTHER_PLOT_INTERVAL_S = 0.3
#: Float settings that need more decimals than their default suggests (learning rates).
FINE_FLOATS = ("lr", "min_lr", "weight_decay", "l1", "min_delta")
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "top_k_accuracy": "Top-k accuracy",
    "precision": "Precision (macro)",
    "recall": "Recall (macro)",
    "f1": "F1 (macro)",
    "mae": "MAE",
    "rmse": "RMSE",
    "r2": "R²",
}


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def _metric_title(key: str) -> str:
    name = key.removeprefix("val_")
    if name.startswith("top") and name.endswith("_accuracy"):
        return f"top-{name[3:-9]} accuracy"
    return {"mae": "MAE", "rmse": "RMSE", "r2": "R²", "f1": "F1"}.get(name, name.replace("_", " "))


def _task_of(document: Document | None) -> str:
    if document is None:
        return "classification"
    outputs = document.graph.of_type("Output")
    return str(outputs[0].params.get("task", "classification")) if outputs else "classification"


# --- the hyperparameter form ---------------------------------------------------------------------


class TrainForm(QWidget):
    """The training settings of the project, generated from ``form_sections()``.

    Each change is validated with :class:`TrainConfig` and stored in the project's
    ``training`` dict (``document.mark_modified()``), so Save keeps it.
    """

    #: The device picker changed (the device id).
    device_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        #: The generated fields by setting name (the inspector's editors).
        self.fields: dict[str, ParamField] = {}
        self._rows: dict[str, tuple[QFormLayout, int]] = {}
        self._devices_listed = False
        self._device_task: Any = None
        col = QVBoxLayout(self)
        col.setContentsMargins(12, 8, 12, 12)
        col.setSpacing(2)

        self.device_combo = QComboBox()
        self.device_combo.setObjectName("deviceCombo")
        self.device_combo.setToolTip(
            "The device to train on; auto picks the first GPU, else the CPU."
        )
        self.device_combo.addItem(AUTO_DEVICE, "auto")
        self.device_combo.addItem("cpu", "cpu")
        self.device_combo.activated.connect(self._on_device_activated)
        self.device_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.device_combo.setMinimumContentsLength(8)
        ParamField._no_wheel(self.device_combo)

        labels: list[QLabel] = []
        first = True
        for title, params in form_sections():
            col.addWidget(label(title.upper(), "section"))
            form = self._new_form()
            if first:
                device_label = QLabel("Device")
                device_label.setBuddy(self.device_combo)
                labels.append(device_label)
                form.addRow(device_label, self.device_combo)
                first = False
            for p in params:
                f = ParamField(self, "training", p)  # type: ignore[arg-type]  # duck-typed owner
                if p.name in FINE_FLOATS and isinstance(f.widget, QDoubleSpinBox):
                    f.widget.setDecimals(8)
                # Spin boxes would size themselves for their largest value; the panel is narrow.
                f.widget.setMinimumWidth(70)
                self.fields[p.name] = f
                lab = QLabel(p.title)
                lab.setToolTip(p.doc)
                lab.setBuddy(f.widget)
                labels.append(lab)
                box = QWidget()
                v = QVBoxLayout(box)
                v.setContentsMargins(0, 0, 0, 0)
                v.setSpacing(2)
                v.addWidget(f.widget)
                v.addWidget(f.error)
                form.addRow(lab, box)
                self._rows[p.name] = (form, form.rowCount() - 1)
            col.addLayout(form)
        # Mixed precision only applies to CUDA GPUs: shown once the device list has one.
        amp_form, amp_row = self._rows["amp"]
        amp_form.setRowVisible(amp_row, False)
        # One label column across the sections' forms, so the fields line up.
        width = max(lab.sizeHint().width() for lab in labels)
        for lab in labels:
            lab.setMinimumWidth(width)

        col.addWidget(label("METRICS", "section"))
        self.metric_boxes: dict[str, QCheckBox] = {}
        metrics_box = QWidget()
        self._metrics_layout = QVBoxLayout(metrics_box)
        self._metrics_layout.setContentsMargins(0, 2, 0, 2)
        self._metrics_layout.setSpacing(2)
        for name in CLASSIFICATION_METRICS + REGRESSION_METRICS:
            cb = QCheckBox(METRIC_LABELS.get(name, name))
            cb.setObjectName(f"metric_{name}")
            cb.toggled.connect(self._on_metric_toggled)
            self.metric_boxes[name] = cb
            self._metrics_layout.addWidget(cb)
        col.addWidget(metrics_box)
        #: Messages for settings the trainer would refuse (cross-field rules).
        self.error = label("", "error", wrap=True)
        self.error.hide()
        col.addWidget(self.error)
        col.addStretch(1)
        self.refresh()

    @staticmethod
    def _new_form() -> QFormLayout:
        form = QFormLayout()
        form.setContentsMargins(0, 4, 0, 8)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return form

    # --- the document ---------------------------------------------------------------------------

    def set_document(self, document: Document | None) -> None:
        """Show ``document``'s training settings."""
        self.commit_pending()
        self.document = document
        self.refresh()

    def values(self) -> dict[str, Any]:
        """The settings in force: the defaults overlaid with the project's known keys."""
        values = TrainConfig().to_dict()
        if self.document is not None:
            values.update({k: v for k, v in self.document.project.training.items() if k in values})
        return values

    def config(self) -> TrainConfig | None:
        """The project's settings as a validated config, or None while they are not valid."""
        try:
            return TrainConfig.from_dict(self.values())
        except TrainError:
            return None

    def refresh(self) -> None:
        """Show the project's values and hide the settings that do not apply."""
        values = self.values()
        for name, f in self.fields.items():
            if f.pending:
                continue  # a spin box the user is stepping: its value is about to be stored
            value = values.get(name)
            if value is None:
                value = f.param.default
            f.show_value(value)
        task = _task_of(self.document)
        chosen = values.get("metrics")
        allowed = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
        defaults = TrainConfig().metric_names(task)
        for name, cb in self.metric_boxes.items():
            cb.blockSignals(True)
            cb.setChecked(name in (chosen if isinstance(chosen, list) else defaults))
            cb.blockSignals(False)
            cb.setVisible(name in allowed)
        self._select_device(str(values.get("device") or "auto"))
        self._update_relevance()
        self._show_problems()

    def _update_relevance(self) -> None:
        try:
            config = TrainConfig.from_dict(self.values())
        except TrainError:
            config = TrainConfig()
        task = _task_of(self.document)
        for name, rule in RELEVANT.items():
            form, row = self._rows[name]
            form.setRowVisible(row, bool(rule(config, task)))
        self._filter_monitors(task)

    def _filter_monitors(self, task: str) -> None:
        """Offer only the metrics this task's runs report (val_accuracy makes no sense for
        a regression); a stored choice that does not fit stays visible, with its error at Start."""
        field = self.fields.get("monitor")
        combo = field.widget if field is not None else None
        if not isinstance(combo, QComboBox):
            return
        allowed = MONITORS.get(task, MONITORS["classification"])
        model = combo.model()
        view = combo.view()
        for i in range(combo.count()):
            shown = combo.itemText(i) in allowed or i == combo.currentIndex()
            if isinstance(view, QListView):  # a combo box's list (the only view it is given)
                view.setRowHidden(i, not shown)
            item = model.item(i) if hasattr(model, "item") else None
            if item is not None:
                item.setEnabled(shown)

    def _show_problems(self) -> None:
        try:
            TrainConfig.from_dict(self.values())
        except TrainError as e:
            self.error.setText(str(e)[:1].upper() + str(e)[1:])
            self.error.show()
        else:
            self.error.hide()

    def commit_pending(self) -> None:
        """Commit spin-box changes still waiting for their delay."""
        for f in list(self.fields.values()):
            if f.pending:
                f.commit()

    # --- editing (called by the fields) ----------------------------------------------------------

    def _commit(self, field: ParamField) -> None:
        doc = self.document
        if doc is None:
            return
        name = field.param.name
        try:
            value = field.read()
        except ParamError as e:
            field.set_error(str(e)[:1].upper() + str(e)[1:])
            return
        field.set_error("")
        self._store(name, value)

    def _store(self, name: str, value: Any) -> None:
        doc = self.document
        if doc is None:
            return
        if self.values().get(name) == value and (
            name in doc.project.training or value == getattr(TrainConfig(), name)
        ):
            return
        doc.project.training[name] = value
        doc.mark_modified()  # training settings are not in the undo history
        self._update_relevance()
        self._show_problems()

    def _on_metric_toggled(self, _checked: bool) -> None:
        task = _task_of(self.document)
        allowed = CLASSIFICATION_METRICS if task == "classification" else REGRESSION_METRICS
        chosen = [n for n in allowed if self.metric_boxes[n].isChecked()]
        value: list[str] | None = None if chosen == TrainConfig().metric_names(task) else chosen
        doc = self.document
        if doc is None:
            return
        if value is None:
            if "metrics" in doc.project.training and doc.project.training["metrics"] is not None:
                doc.project.training.pop("metrics")
                doc.mark_modified()
        else:
            self._store("metrics", value)
        self._update_relevance()

    # --- the device picker -------------------------------------------------------------------------

    def device(self) -> str:
        """The chosen device id (``auto``, ``cpu``, ``cuda:0``, ``mps``)."""
        return str(self.device_combo.currentData() or "auto")

    def _select_device(self, device: str) -> None:
        index = self.device_combo.findData(device)
        if index < 0:
            self.device_combo.addItem(f"{device} (not found on this machine)", device)
            index = self.device_combo.count() - 1
        self.device_combo.setCurrentIndex(index)

    def _on_device_activated(self, _index: int) -> None:
        device = self.device()
        self._store("device", device)
        self.device_changed.emit(device)

    def list_devices_soon(self) -> None:
        """Fill the device picker with this machine's GPUs, off the GUI thread.

        The same helper thread imports torch and the training code, so that pressing Start
        later does not import anything.
        """
        if self._devices_listed or self._device_task is not None:
            return
        from workbench.ui.workers import run_task

        def work(progress: Any, cancelled: Any) -> list[tuple[str, str]]:
            from workbench.ui.training import warm_up_training

            return warm_up_training()

        self._device_task = run_task(work, name="list-devices")
        self._device_task.succeeded.connect(self._on_devices_listed)
        self._device_task.failed.connect(self._on_devices_failed)

    @Slot(object)
    def _on_devices_listed(self, devices: list[tuple[str, str]]) -> None:
        self._device_task = None
        self._devices_listed = True
        current = self.device()
        self.device_combo.blockSignals(True)
        self.device_combo.clear()
        self.device_combo.addItem(AUTO_DEVICE, "auto")
        for dev_id, text in devices:
            self.device_combo.addItem(text, dev_id)
        self.device_combo.blockSignals(False)
        self._select_device(current)
        has_cuda = any(d.startswith("cuda") for d, _ in devices)
        form, row = self._rows["amp"]
        form.setRowVisible(row, has_cuda)

    @Slot(object)
    def _on_devices_failed(self, _error: object) -> None:
        self._device_task = None


# --- growing arrays for the curves ---------------------------------------------------------------


class Series:
    """x/y points in float64 arrays that grow by doubling; ``view()`` gives what to draw."""

    def __init__(self, capacity: int = 1024) -> None:
        self.x = np.empty(capacity, np.float64)
        self.y = np.empty(capacity, np.float64)
        self.n = 0
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


# --- the plots --------------------------------------------------------------------------------


class LivePlots(QWidget):
    """Four linked plots over epochs: training loss, validation loss, metrics, learning rate."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg

        self._pg = pg
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setSpacing(8)
        self.loss_plot = self._plot("Training loss", "loss")
        self.val_plot = self._plot("Validation loss", "loss")
        self.metric_plot = self._plot("Validation metrics", "")
        self.lr_plot = self._plot("Learning rate", "")
        #: Each plot's legend, in a row of its own above it (a legend inside covers curves).
        self.legends: list[LegendRow] = []
        for i, w in enumerate((self.loss_plot, self.val_plot, self.metric_plot, self.lr_plot)):
            cell = QFrame()
            cell.setObjectName("plotCell")
            cell.setStyleSheet(f"QFrame#plotCell {{ background: {theme.PANEL}; }}")
            col = QVBoxLayout(cell)
            col.setContentsMargins(4, 4, 4, 0)
            col.setSpacing(0)
            title = QLabel(w.getPlotItem().titleLabel.text)
            title.setObjectName("plotTitle")
            title.setAlignment(Qt.AlignmentFlag.AlignCenter)
            w.getPlotItem().setTitle(None)
            legend = LegendRow()
            col.addWidget(title)
            col.addWidget(legend)
            col.addWidget(w, 1)
            self.legends.append(legend)
            grid.addWidget(cell, i // 2, i % 2)
        # The metrics that need their own scale: a second view on the right-hand axis.
        metric_item = self.metric_plot.getPlotItem()
        self.metric_right = pg.ViewBox(enableMenu=False)
        self.metric_right.setMouseEnabled(x=False, y=True)
        metric_item.scene().addItem(self.metric_right)
        right_axis = metric_item.getAxis("right")
        right_axis.linkToView(self.metric_right)
        right_axis.setPen(pg.mkPen(theme.BORDER, width=1))
        right_axis.setTextPen(pg.mkPen(theme.MUTED))
        right_axis.enableAutoSIPrefix(False)
        right_axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.metric_right.setXLink(metric_item.getViewBox())
        self.metric_right.enableAutoRange(x=False, y=False)
        metric_item.getViewBox().sigResized.connect(self._fit_right_view)
        metric_item.hideAxis("right")
        # The x axes are not linked: a linked range repaints all four plots whenever one
        # grows. Instead the x range (the same on all four) grows in steps towards the
        # run's last epoch, so a tick repaints just the curves that changed.
        self._plots = (self.loss_plot, self.val_plot, self.metric_plot, self.lr_plot)
        self.total_epochs = 0
        self._x_max = 0.0
        self._x_applied = [0.0, 0.0, 0.0, 0.0]
        self._drawn_at = [0.0, 0.0, 0.0, 0.0]
        self._turn = 0
        self._manual: set[int] = set()
        #: y ranges applied to the four plots and (index 4) the metrics' right-hand axis.
        self._y_applied: list[tuple[float, float] | None] = [None] * 5
        #: The view boxes whose y range _fit_y sets (index 4: the metrics' right-hand axis).
        self._views = [w.getPlotItem().getViewBox() for w in self._plots] + [self.metric_right]
        for i, w in enumerate(self._plots):
            item = w.getPlotItem()
            item.enableAutoRange(x=False, y=False)
            item.getViewBox().sigRangeChangedManually.connect(lambda *_a, i=i: self._manual.add(i))
        self.metric_right.sigRangeChangedManually.connect(lambda *_a: self._manual.add(4))

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
        self._ema_state = (0.0, 0)  # (biased average, count)
        self.ema_beta = 0.9
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

    def _plot(self, title: str, y_label: str) -> Any:
        pg = self._pg
        w = pg.PlotWidget(background=theme.PANEL)
        w.setMinimumSize(QSize(200, 110))  # its cell also holds the title and the legend
        item = w.getPlotItem()
        item.setTitle(title, color=theme.TEXT, size="10pt")
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
        item.setLabel("bottom", "epoch", color=theme.MUTED)
        if y_label:
            item.setLabel("left", y_label, color=theme.MUTED)
        item.hideButtons()
        return w

    def _fit_right_view(self) -> None:
        """Keep the right-hand axis' view over the metrics plot's own."""
        view = self.metric_plot.getPlotItem().getViewBox()
        self.metric_right.setGeometry(view.sceneBoundingRect())
        self.metric_right.linkedViewChanged(view, self.metric_right.XAxis)

    # --- data ------------------------------------------------------------------------------------

    def reset(self, batches_per_epoch: int = 100) -> None:
        """Forget every point (a new run)."""
        for series, _curve in self._curves:
            series.clear()
        for series in self.metrics.values():
            series.clear()
        self._ema_state = (0.0, 0)
        self._lr_top = 0.0
        self._lr_drawn_to = 0.0
        self._x_max = 0.0
        self._x_applied = [0.0, 0.0, 0.0, 0.0]
        self._y_applied = [None] * 5
        self._manual.clear()
        # Empty plots start from the same axes whatever the last project or run showed.
        for view in self._views:
            view.setRange(xRange=(0.0, 1.0), yRange=(0.0, 1.0), padding=0.02)
        self.set_smoothing(batches_per_epoch)

    def set_smoothing(self, batches_per_epoch: int) -> None:
        """Smooth over about a fifth of an epoch (between 10 and 200 batches)."""
        window = min(200.0, max(10.0, batches_per_epoch / 5))
        self.ema_beta = 1.0 - 1.0 / window

    def set_metrics(self, keys: list[str], task: str = "classification") -> None:
        """Make one curve per ``val_*`` metric (``val_loss`` has its own plot)."""
        pg = self._pg
        wanted = [k for k in keys if k.startswith("val_") and k != "val_loss"]
        if wanted == list(self.metric_curves) and task == self._metric_task:
            return
        self._metric_task = task
        item = self.metric_plot.getPlotItem()
        for key in list(self.metric_curves):
            curve = self.metric_curves.pop(key)
            if key in self.right_metrics:
                self.metric_right.removeItem(curve)
            else:
                self.metric_plot.removeItem(curve)
            self.metrics.pop(key, None)
        right = [k for k in wanted if k in RIGHT_AXIS_METRICS]
        # Only when other metrics share the plot: alone, a metric has the left axis to itself.
        self.right_metrics = right if len(right) < len(wanted) else []
        entries: list[tuple[str, CurveStyle]] = []
        for i, key in enumerate(wanted):
            color = METRIC_COLORS[i % len(METRIC_COLORS)]
            pen_style, symbol = METRIC_STYLES[i % len(METRIC_STYLES)]
            # One point per epoch: small markers tell near-equal curves apart where they overlap.
            curve = pg.PlotDataItem(
                pen=pg.mkPen(color, width=1, style=pen_style),
                symbol=symbol,
                symbolSize=5,
                symbolBrush=pg.mkBrush(color),
                symbolPen=None,
                name=_metric_title(key),
            )
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
            title = _metric_title(key)
            if key in self.right_metrics:
                self.metric_right.addItem(curve)
                title += " (right axis)"
            else:
                item.addItem(curve)
            entries.append((title, CurveStyle(color, pen_style, symbol)))
            self.metric_curves[key] = curve
            self.metrics[key] = Series(64)
        self.legends[2].set_entries(entries)
        if self.right_metrics:
            item.showAxis("right")
            item.getAxis("right").setLabel(
                ", ".join(_metric_title(k) for k in self.right_metrics), color=theme.MUTED
            )
            left = [k for k in wanted if k not in self.right_metrics]
            item.setLabel("left", ", ".join(_metric_title(k) for k in left), color=theme.MUTED)
        else:
            item.hideAxis("right")
            item.setLabel("left", "")

    def truncate(self, epoch: int, step_x: float) -> None:
        """Keep what happened up to ``epoch`` (epoch curves) and ``step_x`` (batch curves)."""
        for series in (self.raw, self.ema, self.lr):
            series.truncate(step_x)
        for series in (self.means, self.train_epoch, self.val, *self.metrics.values()):
            series.truncate(float(epoch))
        if len(self.ema):
            # restart the smoothing from the last kept value
            self._ema_state = (float(self.ema.y[self.ema.n - 1]), 10**6)
        else:
            self._ema_state = (0.0, 0)

    def add_batches(self, xs: np.ndarray, losses: np.ndarray) -> None:
        """Per-batch losses at ``xs`` (epochs) and their smoothed curve."""
        self.raw.extend(xs, losses)
        beta = self.ema_beta
        avg, count = self._ema_state
        smooth = np.empty(len(losses), np.float64)
        for i, v in enumerate(losses.tolist()):
            if math.isfinite(v):
                avg = beta * avg + (1.0 - beta) * v
                count += 1
                smooth[i] = avg / (1.0 - beta**count)
            else:  # a gap where the loss is not a number, as in the raw curve
                smooth[i] = math.nan
        self._ema_state = (avg, count)
        self.ema.extend(xs, smooth)

    def add_lr(self, x: float, lr: float) -> None:
        """The learning rate in use at ``x`` (a point is kept only where it changes)."""
        n = self.lr.n
        if n and self.lr.y[n - 1] == lr:
            return
        if n:
            self.lr.append(x, float(self.lr.y[n - 1]))  # a step, not a slope
        self.lr.append(x, lr)

    def add_epoch(self, row: dict[str, Any]) -> None:
        """An epoch's row of the metrics log."""
        e = float(row["epoch"])
        self.means.append(e, row.get("train_loss"))
        self.train_epoch.append(e, row.get("train_loss"))
        self.val.append(e, row.get("val_loss"))
        for key, series in self.metrics.items():
            series.append(e, row.get(key))

    def _x_target(self) -> float:
        """The x range's end: it grows in steps (x1.5, up to the run's last epoch) as the data reaches it."""
        last = max(
            (float(s.x[s.n - 1]) for s in (self.raw, self.means, self.val) if s.n), default=0.0
        )
        if last > self._x_max or self._x_max <= 0:
            top = max(1.0, math.ceil(last * 1.5))
            if self.total_epochs:
                top = (
                    min(top, float(self.total_epochs))
                    if last <= self.total_epochs
                    else math.ceil(last)
                )
            self._x_max = max(top, last)
        return self._x_max

    def _apply_x(self, i: int, x_max: float) -> None:
        if i not in self._manual and self._x_applied[i] != x_max:
            self._x_applied[i] = x_max
            self._plots[i].getPlotItem().setXRange(0.0, x_max, padding=0.02)

    def _fit_y(self, i: int, series: Any) -> None:
        """Fit plot ``i``'s y range to its data, but only when the data left it or is lost in it.

        A range that changes at every tick makes pyqtgraph rebuild the axis (its tick
        labels are the costliest part of a repaint); with some room around the data, the
        range — and the cached axis — stays put for most ticks.
        """
        if i in self._manual:
            return
        parts = [s.y[: s.n] for s in series if s.n]
        if not parts:
            return
        y = np.concatenate(parts) if len(parts) > 1 else parts[0]
        y = y[np.isfinite(y)]
        if not len(y):
            return
        lo, hi = float(y.min()), float(y.max())
        span = hi - lo
        if not math.isfinite(span):
            return
        span = max(span, abs(hi) * 1e-3, 1e-12)
        current = self._y_applied[i]
        if current is not None:
            a, b = current
            if a <= lo and hi <= b and (b - a) <= 3.0 * span:
                return
        pad = 0.08 * span
        bottom, top = lo - pad, hi + pad
        self._y_applied[i] = (bottom, top)
        self._views[i].setYRange(bottom, top, padding=0)

    @staticmethod
    def _set(series: Series, curve: Any) -> None:
        series.dirty = False
        x, y = series.view()
        if len(y) and not np.isfinite(y).any():
            x, y = x[:0], y[:0]  # nothing to draw (and pyqtgraph's markers warn on all-NaN data)
        curve.setData(x, y, connect="finite")

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
        x_max = self._x_target()
        self._apply_x(0, x_max)
        changed = False
        for series, curve in (
            (self.raw, self.raw_curve),
            (self.ema, self.ema_curve),
            (self.means, self.mean_curve),
        ):
            if series.dirty:
                self._set(series, curve)
                changed = True
        if changed:
            self._fit_y(0, (self.raw, self.means))

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
        if not len(self.lr) or not len(self.raw):
            return False
        return float(self.raw.x[self.raw.n - 1]) - self._lr_drawn_to > 0.04 * max(x_max, 1e-9)

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
        stale_x = any(self._x_applied[i] != x_max for i in range(4) if i not in self._manual)
        return stale_x or any(s.dirty for s in series) or self._lr_lags(x_max)

    def _update_plot(self, i: int, x_max: float) -> bool:
        """Bring plot ``i`` (1 validation, 2 metrics, 3 learning rate) up to date; False if it was."""
        if i == 1:
            groups = [(self.train_epoch, self.train_epoch_curve), (self.val, self.val_curve)]
        elif i == 2:
            groups = [(series, self.metric_curves[key]) for key, series in self.metrics.items()]
        else:
            groups = []
        dirty = [g for g in groups if g[0].dirty]
        lr_dirty = i == 3 and (self.lr.dirty or self._lr_lags(x_max))
        if not dirty and not lr_dirty and (self._x_applied[i] == x_max or i in self._manual):
            return False
        now = time.perf_counter()
        if now - self._drawn_at[i] < OTHER_PLOT_INTERVAL_S:
            return False  # short epochs: several are drawn at once, a few times a second
        self._drawn_at[i] = now
        self._apply_x(i, x_max)
        for series, curve in dirty:
            self._set(series, curve)
        if dirty and i == 2 and self.right_metrics:
            # Each axis fits its own metrics.
            right = [self.metrics[k] for k in self.right_metrics]
            self._fit_y(2, [s for s, _c in groups if not any(s is r for r in right)])
            self._fit_y(4, right)
        elif dirty:
            self._fit_y(i, [g[0] for g in groups])
        if lr_dirty:
            self.lr.dirty = False
            x, y = self.lr.view()
            self._lr_drawn_to = float(self.raw.x[self.raw.n - 1]) if len(self.raw) else 0.0
            if len(x) and len(self.raw) and self.raw.x[self.raw.n - 1] > x[-1]:
                # the rate holds until now: extend its last value to the newest batch
                x = np.append(x, self.raw.x[self.raw.n - 1])
                y = np.append(y, y[-1])
            self.lr_curve.setData(x, y, connect="finite")
            top = float(np.nanmax(y)) if len(y) else 0.0
            if math.isfinite(top) and top > 0 and top != self._lr_top:
                # From 0 to a little above the largest rate: a constant rate is a flat line
                # at its value rather than the middle of an arbitrary range around it.
                self._lr_top = top
                self.lr_plot.getPlotItem().setYRange(0.0, top * 1.15, padding=0)
        return True

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


# --- the tab ----------------------------------------------------------------------------------------


class TrainTab(QWidget):
    """The Train page; :class:`~workbench.ui.training.TrainingController` drives it."""

    def __init__(self, controller: TrainingController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainTab")
        self.controller = controller
        self.document: Document | None = None
        self.plots: LivePlots | None = None
        self._plots_pending = False
        # progress of the run in the window
        self.run_info: dict[str, Any] = {}
        self.global_step = 0
        self.epoch = 0  # the epoch in progress (1-based)
        self.batch = 0
        self.epochs_total = 0
        self.rows: list[dict[str, Any]] = []
        self._rate_points: deque[tuple[float, int]] = deque()
        self._memory: tuple[int, int] | None = None
        self._best_epoch: int | None = None
        self._prepare: tuple[int, int] | None = None
        self._stats_at = 0.0
        self._other_scheduled = False
        self._build()

    # --- construction --------------------------------------------------------------------------

    def _build(self) -> None:
        self.form = TrainForm()
        self.form.device_changed.connect(lambda _d: self.update_controls())
        form_scroll = QScrollArea()
        form_scroll.setObjectName("trainSettings")
        form_scroll.setWidgetResizable(True)
        form_scroll.setFrameShape(QFrame.Shape.NoFrame)
        form_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        form_scroll.setWidget(self.form)
        left = QWidget()
        left_col = QVBoxLayout(left)
        left_col.setContentsMargins(0, 0, 0, 0)
        left_col.setSpacing(0)
        head = QWidget()
        head_col = QVBoxLayout(head)
        head_col.setContentsMargins(12, 10, 12, 0)
        head_col.addWidget(label("Settings", "heading"))
        self.form_note = label("Changes apply to the next run.", "muted", wrap=True)
        head_col.addWidget(self.form_note)
        left_col.addWidget(head)
        left_col.addWidget(form_scroll, 1)
        left.setMinimumWidth(300)
        left.setMaximumWidth(420)

        # buttons
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("primary")
        self.start_button.setStyleSheet(
            "QPushButton#primary:disabled { background: #a7bdf0; color: #eef2fb; }"
        )
        self.start_button.setToolTip("Train a new run with these settings")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setToolTip("Pause after the current batch")
        self.resume_button = QPushButton("Resume")
        self.resume_button.setToolTip("Continue the paused run")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("End the run after the current batch; the best model is kept")
        self.more_button = QPushButton("Train more")
        self.more_button.setToolTip("Continue the last run from its last checkpoint")
        self.resume_run_button = QPushButton("Resume interrupted run")
        self.resume_run_button.setObjectName("resumeInterrupted")
        self.resume_run_button.setToolTip(
            "Continue the interrupted run from its last checkpoint, with its own settings"
        )
        self.resume_run_button.hide()
        for b in (self.pause_button, self.resume_button, self.stop_button, self.more_button):
            b.setObjectName("secondary")
        for b in (
            self.start_button,
            self.resume_run_button,
            self.pause_button,
            self.resume_button,
            self.stop_button,
            self.more_button,
        ):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
        self.more_spin = QSpinBox()
        self.more_spin.setObjectName("moreEpochs")
        self.more_spin.setRange(1, 1_000_000)
        self.more_spin.setValue(5)
        self.more_spin.setSuffix(" epochs")
        self.more_spin.setToolTip("How many more epochs Train more trains")
        self.start_button.clicked.connect(self.controller.start)
        self.pause_button.clicked.connect(self.controller.pause)
        self.resume_button.clicked.connect(self.controller.resume)
        self.stop_button.clicked.connect(lambda: self.controller.stop())
        self.more_button.clicked.connect(lambda: self.controller.train_more())
        self.resume_run_button.clicked.connect(lambda: self.controller.resume_interrupted())
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        for b in (
            self.start_button,
            self.resume_run_button,
            self.pause_button,
            self.resume_button,
            self.stop_button,
        ):
            buttons.addWidget(b)
        buttons.addSpacing(16)
        buttons.addWidget(self.more_button)
        buttons.addWidget(self.more_spin)
        buttons.addSpacing(12)
        self.hint = label("", "muted", wrap=True)
        self.hint.setObjectName("startHint")
        buttons.addWidget(self.hint, 1)

        self.title = label("", "heading")
        self.subtitle = label("", "muted", wrap=True)
        self.subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        # progress
        self.progress = QProgressBar()
        self.progress.setObjectName("trainProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(True)
        self.progress.setFormat("Not started")
        self.progress.setMinimumWidth(260)
        self.status_label = QLabel("")
        self.status_label.setObjectName("trainStatus")
        self.status_label.setFont(theme.bold(self.status_label.font()))
        self.stats_label = label("", "muted")
        self.stats_label.setObjectName("trainStats")
        self.memory_label = label("", "muted")
        self.memory_label.setObjectName("gpuMemory")
        self.memory_label.hide()
        prog_row = QHBoxLayout()
        prog_row.setSpacing(10)
        prog_row.addWidget(self.status_label)
        prog_row.addWidget(self.progress, 1)
        prog_row.addWidget(self.stats_label)
        prog_row.addWidget(self.memory_label)

        # the message banner (failures, explanations)
        self.banner = QFrame()
        self.banner.setObjectName("trainBanner")
        banner_row = QHBoxLayout(self.banner)
        banner_row.setContentsMargins(10, 6, 6, 6)
        self.banner_text = QLabel("")
        self.banner_text.setObjectName("bannerText")
        self.banner_text.setWordWrap(True)
        self.banner_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide_banner)
        banner_row.addWidget(self.banner_text, 1)
        banner_row.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.banner.hide()

        # the plots (built on first show) or the empty state
        # The plots, with the empty state as a card on top of them until a run draws.
        # (The plots are there, blank, from the first show: at Start only curves appear.)
        self.plot_area = QWidget()
        self.plot_area.setObjectName("plotArea")
        self._plot_grid = QGridLayout(self.plot_area)
        self._plot_grid.setContentsMargins(0, 0, 0, 0)
        self.empty = self._build_empty()
        self._plot_grid.addWidget(self.empty, 0, 0, Qt.AlignmentFlag.AlignCenter)

        # the log
        self.log = QPlainTextEdit()
        self.log.setObjectName("trainLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(5000)
        self.log.setPlaceholderText(
            "The run's log: data preparation, each epoch's results, checkpoints and errors."
        )
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(8.0, self.font().pointSizeF() - 1))
        self.log.setFont(mono)
        self.log.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)

        right = QWidget()
        right_col = QVBoxLayout(right)
        right_col.setContentsMargins(14, 10, 14, 8)
        right_col.setSpacing(8)
        right_col.addWidget(self.title)
        right_col.addWidget(self.subtitle)
        right_col.addLayout(buttons)
        right_col.addLayout(prog_row)
        right_col.addWidget(self.banner)
        vsplit = QSplitter(Qt.Orientation.Vertical)
        vsplit.setChildrenCollapsible(False)
        vsplit.addWidget(self.plot_area)
        log_box = QWidget()
        log_col = QVBoxLayout(log_box)
        log_col.setContentsMargins(0, 4, 0, 0)
        log_col.setSpacing(2)
        log_col.addWidget(label("LOG", "section"))
        log_col.addWidget(self.log)
        vsplit.addWidget(log_box)
        vsplit.setStretchFactor(0, 4)
        vsplit.setStretchFactor(1, 1)
        vsplit.setSizes([520, 130])
        right_col.addWidget(vsplit, 1)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setObjectName("trainSplit")
        split.setChildrenCollapsible(False)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(1, 1)
        split.setSizes([330, 950])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(split)
        self._style_banner("error")
        self.update_controls()

    def _build_empty(self) -> QFrame:
        box = QFrame()
        box.setObjectName("trainEmpty")
        box.setStyleSheet(
            f"QFrame#trainEmpty {{ border: 1px solid {theme.BORDER}; border-radius: 10px; background: {theme.PANEL}; }}"
        )
        box.setMaximumWidth(600)
        box.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        inner = QVBoxLayout(box)
        inner.setContentsMargins(28, 22, 28, 22)
        inner.setSpacing(10)
        self.empty_title = QLabel("")
        f = self.empty_title.font()
        f.setPointSizeF(f.pointSizeF() * 1.3)
        f.setBold(True)
        self.empty_title.setFont(f)
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_title.setWordWrap(True)
        self.empty_title.setObjectName("emptyTitle")
        self.empty_text = label("", "muted", wrap=True)
        self.empty_text.setObjectName("emptyText")
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.data_button = QPushButton("Go to the Data tab")
        self.data_button.setObjectName("secondary")
        self.data_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.data_button.clicked.connect(lambda: self.controller.window.show_page("data"))
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.data_button)
        row.addStretch(1)
        inner.addWidget(self.empty_title)
        inner.addWidget(self.empty_text)
        inner.addLayout(row)
        return box

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(1200, 700)

    # --- plots, built once the tab is first shown ----------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.form.list_devices_soon()
        self.build_plots_soon()

    def build_plots_soon(self) -> None:
        """Build the plots on a later turn of the event loop, once pyqtgraph is imported.

        pyqtgraph's import (a fifth of a second) runs on a helper thread first, so the
        window does not stall when the tab opens.
        """
        if self.plots is not None or self._plots_pending:
            return
        self._plots_pending = True
        from workbench.ui.plot_warmup import warm_up_pyqtgraph

        warm_up_pyqtgraph()
        QTimer.singleShot(0, self._build_plots_when_ready)

    def _build_plots_when_ready(self) -> None:
        from workbench.ui.plot_warmup import pyqtgraph_ready

        if not pyqtgraph_ready():
            QTimer.singleShot(20, self._build_plots_when_ready)
            return
        self.ensure_plots()

    def ensure_plots(self) -> LivePlots:
        """The plots, built now if they were not yet."""
        if self.plots is None:
            self.plots = LivePlots()
            self.plots.setObjectName("livePlots")
            self._plot_grid.addWidget(self.plots, 0, 0)
            self.empty.raise_()
            self._sync_metric_curves()
            self._plots_pending = False
        return self.plots

    # --- the document --------------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Show a (new) document: its settings, and an empty chart unless a run is on."""
        self.document = document
        self.form.set_document(document)
        if not self.controller.is_running():
            self.hide_banner()
            self.empty.show()
            if self.plots is not None:
                self.plots.reset()
                self._settle_plots()
            self.rows = []
            self.log.clear()
            self.status_label.setStyleSheet("")
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("Not started")
            self.status_label.setText("")
            self.stats_label.setText("")
            self.memory_label.hide()
            run = self.controller.last_run
            interrupted = self.controller.interrupted
            if interrupted is not None:
                self.stats_label.setText(f"Last run {interrupted.run.id}: interrupted")
                self.show_interrupted()
            elif run is not None:
                self.status_label.setText("")
                self.stats_label.setText(f"Last run {run['id']}: {run.get('status') or 'unknown'}")
        self.document_changed()

    def show_interrupted(self) -> None:
        """Say that the project's newest run was interrupted and how to continue it."""
        interrupted = self.controller.interrupted
        if interrupted is None:
            return
        self.show_banner(
            f"{interrupted.describe()} Its process ended while it trained. "
            "Resume interrupted run continues it from its last checkpoint; Start begins a new run.",
            "info",
        )

    def _sync_metric_curves(self) -> None:
        """Make the metric curves the next run will draw (so Start adds none)."""
        if self.plots is None or self.controller.is_running():
            return
        config = self.form.config() or TrainConfig()
        task = _task_of(self.document)
        keys = [
            f"val_top{config.top_k}_accuracy" if n == "top_k_accuracy" else f"val_{n}"
            for n in config.metric_names(task)
        ]
        self.plots.set_metrics(keys, task)

    def document_changed(self) -> None:
        """The document changed (an edit, an import, a save): update texts and buttons."""
        doc = self.document
        if doc is None:
            return
        self.form.refresh()
        self._sync_metric_curves()
        dataset = self.controller.dataset_name()
        self.title.setText(f"Train {doc.name}")
        if dataset:
            self.subtitle.setText(f"on {dataset}")
        else:
            self.subtitle.setText("No dataset yet")
        self._update_empty()
        self.update_controls()

    def _update_empty(self) -> None:
        """The card over the empty plots: what to do next."""
        doc = self.document
        if doc is None:
            return
        dataset = self.controller.dataset_name()
        problem = self.controller.start_problem()
        if problem is not None and not doc.project.dataset:
            self.empty_title.setText("Import a dataset first (Data tab)")
            self.empty_text.setText(
                "Training needs data: import a folder of images or a CSV, Parquet or NPZ file, "
                "or try a sample dataset. The model's input and output adapt to it."
            )
            self.data_button.show()
        elif problem is not None:
            self.empty_title.setText("The model is not ready to train")
            self.empty_text.setText(problem)
            self.data_button.hide()
        elif self.controller.can_resume_interrupted():
            self.empty_title.setText("Resume the interrupted run, or Start a new one")
            self.empty_text.setText(
                "Resume interrupted run continues it from its last checkpoint with the settings "
                "it started with; its curves so far come back. Start trains a new run with the "
                "settings on the left."
            )
            self.data_button.hide()
        else:
            self.empty_title.setText(f"Press Start to train {doc.name} on {dataset}")
            self.empty_text.setText(
                "The curves of the training loss, validation loss, metrics and learning rate "
                "appear here while the model trains. Runs are saved beside the project."
            )
            self.data_button.hide()

    # --- controls ------------------------------------------------------------------------------------

    def device(self) -> str:
        """The device chosen in the picker."""
        return self.form.device()

    def more_epochs(self) -> int:
        """Epochs "Train more" adds."""
        return int(self.more_spin.value())

    def update_controls(self) -> None:
        """Enable the buttons that make sense now."""
        c = self.controller
        state = c.state
        running = c.is_running()
        problem = c.start_problem() if not running else None
        self.start_button.setEnabled(not running and problem is None)
        self.start_button.setToolTip(problem or "Train a new run with these settings")
        self.pause_button.setEnabled(state == "running")
        self.resume_button.setEnabled(state == "paused")
        self.stop_button.setEnabled(state in ("starting", "running", "paused"))
        self.stop_button.setText("Stopping…" if state == "stopping" else "Stop")
        can_more = c.can_train_more()
        self.more_button.setEnabled(can_more)
        self.resume_run_button.setVisible(c.can_resume_interrupted())
        self.more_spin.setEnabled(can_more)
        self.form.setEnabled(not running)
        self.form_note.setText(
            "The run in progress keeps the settings it started with."
            if running
            else "Changes apply to the next run."
        )
        if running:
            self.hint.setText("")
        elif problem is not None:
            self.hint.setText(problem)
        elif c.last_run is not None and not can_more and c.last_run.get("status") == "failed":
            self.hint.setText("The last run failed; Start begins a new one.")
        else:
            self.hint.setText("")
        state_text = {
            "starting": "Starting…",
            "running": "Training",
            "paused": "Paused",
            "stopping": "Stopping…",
        }
        if running:
            self.status_label.setText(state_text.get(state, ""))

    def show_banner(self, message: str, kind: str = "error") -> None:
        """Show ``message`` above the plots (``error`` red, ``info`` blue) until dismissed."""
        self._style_banner(kind)
        self.banner_text.setText(message)
        self.banner.show()

    def hide_banner(self) -> None:
        """Hide the banner."""
        self.banner.hide()

    def banner_message(self) -> str:
        """The banner's text while it shows, else ''."""
        return self.banner_text.text() if self.banner.isVisibleTo(self) else ""

    def _style_banner(self, kind: str) -> None:
        bg, border, fg = (
            (theme.ERROR_TINT, theme.ERROR, theme.ERROR)
            if kind == "error"
            else (theme.INFO_TINT, theme.ACCENT, theme.TEXT)
        )
        self.banner.setStyleSheet(
            f"QFrame#trainBanner {{ background: {bg}; border: 1px solid {border}; border-radius: 6px; }}"
            f"QLabel#bannerText {{ color: {fg}; }}"
        )

    def log_line(self, text: str) -> None:
        """Append a line (with the time) to the log panel."""
        self.log.appendPlainText(f"{time.strftime('%H:%M:%S')}  {text}")
        self.log.moveCursor(QTextCursor.MoveOperation.End)

    # --- a run ------------------------------------------------------------------------------------

    def begin_run(self, new: bool, dataset: str, action: str | None = None) -> None:
        """A run is starting: show the plots (cleared for a new run); ``action`` names it in the log."""
        plots = self.ensure_plots()
        if new:
            plots.reset()
            self.rows = []
        self.empty.hide()
        self.hide_banner()
        self._rate_points.clear()
        self._memory = None
        self._prepare = None
        self._best_epoch = None
        self.status_label.setStyleSheet("")
        self.progress.setRange(0, 0)  # busy until the trainer reports its size
        self.progress.setFormat("Preparing…")
        self.stats_label.setText("")
        if action is None:
            action = "Starting a new run" if new else "Continuing the last run"
        self.log_line(action + (f" on {dataset}" if dataset else ""))

    def apply_events(self, events: list[tuple[Any, ...]]) -> None:
        """Take the worker's events since the last tick; redraw the curves once."""
        plots = self.ensure_plots()
        for event in events:
            kind = event[0]
            if kind == "batches":
                _kind, steps, losses, info = event
                bpe = max(1, int(self.run_info.get("batches_per_epoch", 1)))
                xs = steps / bpe
                plots.add_batches(xs, losses)
                plots.add_lr(float(xs[0]), float(info["lr"]))
                self.global_step = int(info["global_step"])
                self.epoch, self.batch = int(info["epoch"]), int(info["batch"])
                self._rate_points.append((float(info["time"]), self.global_step))
                if "memory" in info:
                    self._memory = (int(info["memory"]), int(info["peak_memory"]))
            elif kind == "epoch":
                row = event[1]
                self.rows.append(row)
                plots.add_epoch(row)
                self._log_epoch(row)
            elif kind == "epoch_start":
                self.epoch, self.batch = int(event[1]), 0
            elif kind == "checkpoint":
                if event[1] == "best":
                    self._best_epoch = int(event[2]) + 1  # written before the epoch counts as done
            elif kind == "start":
                self._on_start(event[1])
            elif kind == "prepare":
                self._prepare = (int(event[1]), int(event[2]))
            elif kind == "log":
                self.log_line(str(event[1]))
            elif kind == "end":
                self.log_line(str(event[2])[:1].upper() + str(event[2])[1:])
            elif kind == "error":
                self.log_line(f"Failed: {event[1]}")
                self.show_banner(_sentence(f"Training failed: {event[1]}"))
        plots.redraw_loss()
        if not self._other_scheduled:
            # The other plots repaint in a frame of their own, a moment after the loss plot's.
            self._other_scheduled = True
            QTimer.singleShot(15, self._redraw_other)

    def _redraw_other(self) -> None:
        self._other_scheduled = False
        if self.plots is not None:
            self.plots.redraw_other()

    def _on_start(self, info: dict[str, Any]) -> None:
        plots = self.ensure_plots()
        self.run_info = info
        bpe = max(1, int(info["batches_per_epoch"]))
        self.epochs_total = int(info["epochs"])
        self.global_step = int(info["global_step"])
        self.epoch, self.batch = int(info["epoch"]), 0
        plots.set_smoothing(bpe)
        plots.total_epochs = self.epochs_total
        plots.set_metrics(list(info["metric_keys"]), str(info.get("task", "classification")))
        history = list(info.get("history") or [])
        # A continued run: keep the curves up to its checkpoint, rebuilt from its history.
        plots.truncate(int(info["epoch"]), self.global_step / bpe)
        for series in (plots.means, plots.train_epoch, plots.val, *plots.metrics.values()):
            series.clear()
        for row in history:
            plots.add_epoch(row)
        self.rows = history
        self.progress.setRange(0, max(1, self.epochs_total * bpe))
        self.progress.setValue(self.global_step)
        device = info["device"]
        samples = f"{info['num_train']:,} training and {info['num_val']:,} validation samples"
        self.log_line(
            f"Training on {device}: {samples}, {bpe:,} batches of {info['batch_size']} per epoch, "
            f"epochs {int(info['epoch']) + 1}–{self.epochs_total} (run {info['run_id']})"
        )
        for note in info.get("notes") or []:
            self.log_line(f"Note: {note}")
        self.memory_label.setVisible(info.get("total_memory") is not None)
        self._rate_points.clear()

    def _log_epoch(self, row: dict[str, Any]) -> None:
        parts = [f"Epoch {row['epoch']}/{self.epochs_total}"]
        for key, value in row.items():
            if key in ("epoch", "epoch_seconds", "samples_per_s", "lr") or value is None:
                continue
            parts.append(f"{key} {value:.4g}")
        parts.append(f"lr {row.get('lr', 0):.3g}")
        parts.append(f"{row.get('epoch_seconds', 0):.1f} s")
        line = " · ".join(parts)
        if self._best_epoch == row["epoch"]:
            line += "  ★ best so far"
        self.log_line(line)

    def resumed(self) -> None:
        """The run continues after a pause (the speed is measured afresh)."""
        self._rate_points.clear()

    def tick(self, paused: bool = False) -> None:
        """Refresh the progress bar and its numbers (every drain tick)."""
        info = self.run_info
        if not info or self.controller.state == "starting":
            if self._prepare is not None:
                done, total = self._prepare
                if total:
                    self.progress.setRange(0, total)
                    self.progress.setValue(done)
                    self.progress.setFormat(f"Preparing the data… {done:,}/{total:,}")
            return
        bpe = max(1, int(info["batches_per_epoch"]))
        self.progress.setValue(min(self.progress.maximum(), self.global_step))
        shown_epoch = max(1, min(self.epoch, self.epochs_total))
        self.progress.setFormat(
            f"Epoch {shown_epoch}/{self.epochs_total} · batch {self.batch:,}/{bpe:,}"
        )
        now = time.perf_counter()
        pts = self._rate_points
        while len(pts) > 2 and now - pts[0][0] > 3.0:
            pts.popleft()
        if now - self._stats_at < 0.25 and not paused:
            return  # the numbers beside the bar change four times a second, not at every tick
        self._stats_at = now
        parts: list[str] = []
        rate = 0.0
        if len(pts) >= 2 and pts[-1][0] > pts[0][0]:
            rate = (pts[-1][1] - pts[0][1]) / (pts[-1][0] - pts[0][0])
        if paused:
            parts.append("paused")
        elif rate > 0:
            remaining = max(0, self.epochs_total * bpe - self.global_step)
            eta = remaining / rate + self._validation_seconds() * max(
                0, self.epochs_total - len(self.rows)
            )
            parts.append(f"ETA {_clock(eta)}")
            parts.append(f"{rate * int(info['batch_size']):,.0f} samples/s")
        self.stats_label.setText(" · ".join(parts))
        if self._memory is not None and info.get("total_memory"):
            used, peak = self._memory
            total = int(info["total_memory"])
            self.memory_label.setText(
                f"GPU {theme.human_bytes(used)} (peak {theme.human_bytes(peak)}) of {theme.human_bytes(total)}"
            )

    def _validation_seconds(self) -> float:
        """Seconds an epoch spends outside its training batches, from the epochs so far."""
        n = int(self.run_info.get("num_train", 0))
        spans = [
            float(r["epoch_seconds"]) - n / float(r["samples_per_s"])
            for r in self.rows[-5:]
            if r.get("epoch_seconds") and r.get("samples_per_s")
        ]
        return max(0.0, sum(spans) / len(spans)) if spans else 0.0

    def end_run(self, outcome: RunOutcome) -> None:
        """The run is over: show how it ended."""
        self.progress.setRange(0, max(1, self.progress.maximum()))
        text = {"finished": "Finished", "stopped": "Stopped", "failed": "Failed"}.get(
            outcome.status, outcome.status
        )
        self.status_label.setText(text)
        color = (
            theme.ERROR
            if outcome.status == "failed"
            else theme.OK
            if outcome.status == "finished"
            else theme.TEXT
        )
        self.status_label.setStyleSheet(f"color: {color};")
        self.stats_label.setText("")
        if outcome.status == "failed":
            if not self.banner_message():
                self.show_banner(_sentence(f"Training failed: {outcome.message}"))
            if not self.run_info:
                self.log_line(f"Failed: {outcome.message}")
            self.progress.setFormat("Failed")
        else:
            if outcome.status == "stopped" and not self.run_info:
                self.log_line("Stopped before training started")
            done = f"{outcome.epochs_done} epoch{'s' if outcome.epochs_done != 1 else ''}"
            if outcome.status == "stopped" and self.run_info:
                # Named as the status bar names it (the trainer's "stopped at epoch 5, batch
                # 12"): the epoch in progress, and how many epochs were complete.
                at = max(self.epoch, outcome.epochs_done, 1)
                self.progress.setFormat(f"Stopped at epoch {at} · {done} complete")
            else:
                self.progress.setFormat(f"{text} · {done}")
            if outcome.status == "finished":
                self.progress.setValue(self.progress.maximum())
        if outcome.run_dir:
            self.log_line(f"Run saved in {outcome.run_dir}")
        self.run_info = {}
        self._prepare = None
        self._settle_plots()
        if not self.rows and (self.plots is None or not len(self.plots.raw)):
            self._update_empty()
            self.empty.show()  # nothing was drawn (it failed or was stopped before training)
        self.update_controls()

    def _settle_plots(self) -> None:
        """Draw what the last ticks left (one plot per turn of the event loop, as during a run)."""
        plots = self.plots
        if plots is None or self.controller.is_running():
            return
        if plots.pending():
            plots.redraw()
            QTimer.singleShot(40, self._settle_plots)

    def shutdown(self) -> None:
        """The window is closing."""
        self.form.commit_pending()


def _sentence(text: str) -> str:
    text = text.strip()
    if text and text[-1] not in ".!?)":
        text += "."
    return text[:1].upper() + text[1:]


__all__ = ["LivePlots", "Series", "TrainForm", "TrainTab"]
