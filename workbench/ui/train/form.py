"""The Train tab's settings form: the project's training settings, the device picker and
the metrics to compute.

The form is generated from :func:`workbench.engine.config.form_sections` with the
inspector's field editors; which settings it shows and offers comes from
:mod:`workbench.engine.train_form`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QListView,
    QVBoxLayout,
    QWidget,
)

from workbench.core.catalog import ParamError
from workbench.core.text import capitalized
from workbench.engine.config import (
    CLASSIFICATION_METRICS,
    REGRESSION_METRICS,
    TrainConfig,
    form_sections,
)
from workbench.engine.train_form import (
    AUTO_DEVICE,
    CUDA_ONLY_SETTINGS,
    FINE_FLOATS,
    METRIC_LABELS,
    checked_metrics,
    is_stored,
    metric_choices,
    metrics_setting,
    model_task,
    monitor_choices,
    relevant_settings,
    settings_in_force,
    settings_problem,
    valid_config,
)
from workbench.ui.inspector import _ParamField as ParamField
from workbench.ui.theme import label

if TYPE_CHECKING:
    from workbench.core.document import Document


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
        # Mixed precision and CUDA graphs only apply to CUDA GPUs: shown once the device
        # list has one.
        for name in CUDA_ONLY_SETTINGS:
            cuda_form, cuda_row = self._rows[name]
            cuda_form.setRowVisible(cuda_row, False)
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
        return settings_in_force(self.document.project.training if self.document else {})

    def config(self) -> TrainConfig | None:
        """The project's settings as a validated config, or None while they are not valid."""
        return valid_config(self.values())

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
        task = self.task()
        checked = checked_metrics(values, task)
        allowed = metric_choices(task)
        for name, cb in self.metric_boxes.items():
            cb.blockSignals(True)
            cb.setChecked(name in checked)
            cb.blockSignals(False)
            cb.setVisible(name in allowed)
        self._select_device(str(values.get("device") or "auto"))
        self._update_relevance()
        self._show_problems()

    def task(self) -> str:
        """The task of the document's model (``classification`` without one)."""
        return model_task(self.document.graph if self.document is not None else None)

    def _update_relevance(self) -> None:
        task = self.task()
        for name, relevant in relevant_settings(self.values(), task).items():
            form, row = self._rows[name]
            form.setRowVisible(row, relevant)
        self._filter_monitors(task)

    def _filter_monitors(self, task: str) -> None:
        """Offer only the metrics this task's runs report (val_accuracy makes no sense for
        a regression); a stored choice that does not fit stays visible, with its error at Start."""
        field = self.fields.get("monitor")
        combo = field.widget if field is not None else None
        if not isinstance(combo, QComboBox):
            return
        allowed = monitor_choices(task)
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
        problem = settings_problem(self.values())
        self.error.setText(problem or "")
        self.error.setVisible(problem is not None)

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
            field.set_error(capitalized(str(e)))
            return
        field.set_error("")
        self._store(name, value)

    def _store(self, name: str, value: Any) -> None:
        doc = self.document
        if doc is None:
            return
        if is_stored(doc.project.training, name, value):
            return
        doc.project.training[name] = value
        doc.mark_modified()  # training settings are not in the undo history
        self._update_relevance()
        self._show_problems()

    def _on_metric_toggled(self, _checked: bool) -> None:
        task = self.task()
        value = metrics_setting([n for n, cb in self.metric_boxes.items() if cb.isChecked()], task)
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
            from workbench.engine.job import warm_up_training

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
        for name in CUDA_ONLY_SETTINGS:
            form, row = self._rows[name]
            form.setRowVisible(row, has_cuda)

    @Slot(object)
    def _on_devices_failed(self, _error: object) -> None:
        self._device_task = None


__all__ = ["TrainForm"]
