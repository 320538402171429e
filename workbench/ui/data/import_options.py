"""The import dialog's choices: target column, split, preprocessing, and what the model sees.

:class:`ImportOptions` shows the boxes that fit the scanned dataset (the target column for
tables, image size, colour and augmentation for images, missing values for tables, the
length of sequences), counts the samples in each split as the sliders move, and reads the
choices back as :class:`~workbench.data.DataSettings`.
"""

from __future__ import annotations

from dataclasses import replace
from html import escape
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.data import DataError, DatasetInfo, DataSettings, Source
from workbench.data.base import Augment
from workbench.data.describe import (
    ScanResult,
    input_text,
    missing_note,
    natural_length,
    size_note,
    split_note,
    target_note,
)
from workbench.ui import theme
from workbench.ui.theme import label


class ImportOptions(QWidget):
    """The options beside the import dialog's preview.

    Signals:
        target_activated(str): A target column was picked (the dialog decides on a rescan).
        input_changed(): The shape of one sample was shown anew (the fit may have changed).
    """

    target_activated = Signal(str)
    input_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        #: The settings that the form does not show (path, dataset-specific keys).
        self.base = DataSettings()
        #: The scanned dataset (None before a scan succeeded).
        self.source: Source | None = None
        self.info: DatasetInfo | None = None
        self._loading = False
        self._split_timer = QTimer(self)
        self._split_timer.setSingleShot(True)
        self._split_timer.setInterval(80)
        self._split_timer.timeout.connect(self._update_split_counts)
        col = QVBoxLayout(self)
        col.setContentsMargins(8, 0, 4, 0)
        col.setSpacing(10)
        col.addWidget(self._build_target_box())
        col.addWidget(self._build_split_box())
        col.addWidget(self._build_image_box())
        col.addWidget(self._build_table_box())
        col.addWidget(self._build_sequence_box())
        self.input_label = label("", "muted", wrap=True)
        col.addWidget(self.input_label)
        col.addStretch(1)

    # --- boxes -------------------------------------------------------------------------------

    def _build_target_box(self) -> QGroupBox:
        self.target_box = QGroupBox("Target column")
        self.target_combo = QComboBox()
        self.target_combo.setToolTip(
            "The column the model learns to predict; the others are its inputs"
        )
        self.target_combo.activated.connect(
            lambda i: self._on_target_activated(self.target_combo.itemText(i))
        )
        self.target_note = label("", "muted", wrap=True)
        self.target_error = label("", "error", wrap=True)
        self.target_error.setObjectName("targetError")
        self.target_error.hide()
        lay = QVBoxLayout(self.target_box)
        lay.addWidget(self.target_combo)
        lay.addWidget(self.target_note)
        lay.addWidget(self.target_error)
        return self.target_box

    def _slider(self, maximum: int) -> tuple[QSlider, QLabel]:
        s = QSlider(Qt.Orientation.Horizontal)
        s.setRange(0, maximum)
        s.setPageStep(5)
        s.setTickInterval(5)
        value = QLabel()
        value.setMinimumWidth(40)
        value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        s.valueChanged.connect(lambda v: value.setText(f"{v} %"))
        s.valueChanged.connect(self._on_split_changed)
        return s, value

    def _build_split_box(self) -> QGroupBox:
        self.split_box = QGroupBox("Split")
        self.val_slider, self.val_value = self._slider(45)
        self.test_slider, self.test_value = self._slider(45)
        self.val_slider.setToolTip(
            "Share of the samples held out to watch for overfitting while training"
        )
        self.test_slider.setToolTip("Share of the samples kept aside for the final evaluation")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setToolTip("The same seed gives the same split every time")
        self.seed_spin.valueChanged.connect(self._on_split_changed)
        self.split_counts = QLabel()
        self.split_counts.setObjectName("splitCounts")
        self.split_note = label("", "muted", wrap=True)
        form = QFormLayout(self.split_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for text, slider, value in (
            ("Validation", self.val_slider, self.val_value),
            ("Test", self.test_slider, self.test_value),
        ):
            row = QHBoxLayout()
            row.addWidget(slider, 1)
            row.addWidget(value)
            form.addRow(text, row)
        form.addRow("Seed", self.seed_spin)
        form.addRow(self.split_counts)
        form.addRow(self.split_note)
        return self.split_box

    def _build_image_box(self) -> QGroupBox:
        self.image_box = QGroupBox("Images")
        self.width_spin = QSpinBox()
        self.height_spin = QSpinBox()
        for s in (self.width_spin, self.height_spin):
            s.setRange(1, 4096)
            s.setSuffix(" px")
            s.valueChanged.connect(self._update_input_label)
        size = QHBoxLayout()
        size.addWidget(self.width_spin)
        size.addWidget(QLabel("×"))
        size.addWidget(self.height_spin)
        size.addStretch(1)
        self.size_note = label("", "muted", wrap=True)
        self.color_combo = QComboBox()
        self.color_combo.addItem("RGB (3 channels)", "rgb")
        self.color_combo.addItem("Grayscale (1 channel)", "grayscale")
        self.color_combo.currentIndexChanged.connect(self._update_input_label)
        self.normalize_check = QCheckBox("Normalize with the training split's mean and std")
        self.hflip_check = QCheckBox("Random horizontal flip")
        self.rotation_spin = QSpinBox()
        self.rotation_spin.setRange(0, 180)
        self.rotation_spin.setSuffix("°")
        self.rotation_spin.setSpecialValueText("off")
        self.rotation_spin.setToolTip(
            "Rotate each training image by a random angle up to ± this many degrees"
        )
        self.crop_check = QCheckBox("Random resized crop (80–100 % of the area)")
        self.brightness_spin = QSpinBox()
        self.contrast_spin = QSpinBox()
        for s, what in ((self.brightness_spin, "brightness"), (self.contrast_spin, "contrast")):
            s.setRange(0, 90)
            s.setSingleStep(5)
            s.setPrefix("± ")
            s.setSuffix(" %")
            s.setSpecialValueText("off")
            s.setToolTip(
                f"Change each training image's {what} by a random factor up to ± this much"
            )
        aug = QFormLayout()
        aug.setContentsMargins(0, 0, 0, 0)
        aug.addRow(self.hflip_check)
        aug.addRow(self.crop_check)
        aug.addRow("Rotation", self.rotation_spin)
        aug.addRow("Brightness", self.brightness_spin)
        aug.addRow("Contrast", self.contrast_spin)
        form = QFormLayout(self.image_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Size (W × H)", size)
        form.addRow(self.size_note)
        form.addRow("Color", self.color_combo)
        form.addRow(self.normalize_check)
        form.addRow(label("AUGMENTATION (TRAINING ONLY)", "section"))
        form.addRow(aug)
        return self.image_box

    def _build_table_box(self) -> QGroupBox:
        self.table_box = QGroupBox("Missing values")
        self.missing_combo = QComboBox()
        self.missing_combo.addItem("Fill in (mean, or most frequent value)", "impute")
        self.missing_combo.addItem("Drop rows with missing values", "drop")
        self.missing_note = label("", "muted", wrap=True)
        lay = QVBoxLayout(self.table_box)
        lay.addWidget(self.missing_combo)
        lay.addWidget(self.missing_note)
        return self.table_box

    def _build_sequence_box(self) -> QGroupBox:
        self.sequence_box = QGroupBox("Sequences")
        self.seq_keep_check = QCheckBox("Keep the data's length")
        self.seq_len_spin = QSpinBox()
        self.seq_len_spin.setRange(1, 100_000)
        self.seq_len_spin.setSuffix(" steps")
        self.seq_len_spin.setToolTip(
            "Shorter sequences are padded and longer ones truncated to this length"
        )
        self.seq_keep_check.toggled.connect(lambda on: self.seq_len_spin.setEnabled(not on))
        self.seq_keep_check.toggled.connect(self._update_input_label)
        self.seq_len_spin.valueChanged.connect(self._update_input_label)
        form = QFormLayout(self.sequence_box)
        form.addRow(self.seq_keep_check)
        form.addRow("Pad or truncate to", self.seq_len_spin)
        return self.sequence_box

    # --- a scan's result -----------------------------------------------------------------

    def show_result(self, result: ScanResult, settings: DataSettings | None = None) -> None:
        """Show the boxes that fit ``result``; ``settings`` fill the form (a first scan)."""
        self.source, self.info = result.source, result.info
        if settings is not None:
            self.load_settings(settings)
        info, preview = result.info, result.preview
        is_table = info.kind == "table"
        self.target_box.setVisible(is_table)
        self.target_error.hide()
        if is_table:
            columns = [str(c) for c in preview.get("columns", [])]
            target = info.details.get("target")
            self.target_combo.blockSignals(True)
            self.target_combo.clear()
            self.target_combo.addItems(columns)
            if isinstance(target, str) and target in columns:
                self.target_combo.setCurrentIndex(columns.index(target))
            self.target_combo.blockSignals(False)
            self.target_note.setText(target_note(info))
        self.image_box.setVisible(info.kind == "images")
        self.table_box.setVisible(is_table)
        self.missing_note.setText(missing_note(info))
        self.missing_note.setVisible(bool(self.missing_note.text()))
        seq = bool(info.details.get("sequence"))
        self.sequence_box.setVisible(seq)
        if seq:
            self.seq_keep_check.setText(f"Keep the data's length ({natural_length(info)} steps)")
        if info.kind == "images":
            note = size_note(info.details.get("sizes"), info.details.get("suggested_size"))
            self.size_note.setText(note)
            self.size_note.setVisible(bool(note))
        self.test_slider.setEnabled(not info.splits_given)
        self.val_slider.setEnabled(not (info.splits_given and result.given_has_val))
        self.split_note.setText(split_note(info, result.given_has_val))
        self._show_split_counts(result.split_sizes)
        self._update_input_label()

    def clear(self) -> None:
        """Forget the scanned dataset (it could not be read)."""
        self.source = self.info = None

    def show_target_error(self, message: str) -> None:
        """Say under the target column why the table could not be read with it."""
        self.target_error.setText(message)
        self.target_error.show()

    # --- settings ------------------------------------------------------------------------

    def load_settings(self, s: DataSettings) -> None:
        """Fill the form with ``s`` (without recounting or re-checking on each field)."""
        self._loading = True
        try:
            self.val_slider.setValue(round(s.val_ratio * 100))
            self.test_slider.setValue(round(s.test_ratio * 100))
            self.val_value.setText(f"{self.val_slider.value()} %")
            self.test_value.setText(f"{self.test_slider.value()} %")
            self.seed_spin.setValue(int(s.seed))
            h, w = s.image_size
            self.width_spin.setValue(int(w))
            self.height_spin.setValue(int(h))
            self.color_combo.setCurrentIndex(max(0, self.color_combo.findData(s.color)))
            self.normalize_check.setChecked(bool(s.normalize))
            a = s.augment
            self.hflip_check.setChecked(bool(a.hflip))
            self.rotation_spin.setValue(round(a.rotation))
            self.crop_check.setChecked(bool(a.resized_crop))
            self.brightness_spin.setValue(round(a.brightness * 100))
            self.contrast_spin.setValue(round(a.contrast * 100))
            self.missing_combo.setCurrentIndex(max(0, self.missing_combo.findData(s.missing)))
            natural = natural_length(self.info) if self.info is not None else 1
            self.seq_keep_check.setChecked(s.seq_len is None)
            self.seq_len_spin.setValue(int(s.seq_len or natural))
            self.seq_len_spin.setEnabled(s.seq_len is not None)
        finally:
            self._loading = False

    def settings(self) -> DataSettings:
        """:attr:`base` with the choices made in the form."""
        target = (
            self.target_choice() if self.info is not None and self.info.kind == "table" else None
        )
        return replace(
            self.base,
            target=target,
            val_ratio=self.val_slider.value() / 100,
            test_ratio=self.test_slider.value() / 100,
            seed=self.seed_spin.value(),
            image_size=(self.height_spin.value(), self.width_spin.value()),
            color=self.color_combo.currentData(),
            normalize=self.normalize_check.isChecked(),
            augment=Augment(
                hflip=self.hflip_check.isChecked(),
                rotation=float(self.rotation_spin.value()),
                resized_crop=self.crop_check.isChecked(),
                brightness=self.brightness_spin.value() / 100,
                contrast=self.contrast_spin.value() / 100,
            ),
            missing=self.missing_combo.currentData(),
            seq_len=None if self.seq_keep_check.isChecked() else self.seq_len_spin.value(),
        )

    def target_choice(self) -> str | None:
        """The target column picked (None when there is none to pick)."""
        return self.target_combo.currentText() or None

    def _on_target_activated(self, column: str) -> None:
        if column:
            self.target_activated.emit(column)

    # --- what follows from the choices ---------------------------------------------------

    def _on_split_changed(self, *_: Any) -> None:
        if not self._loading and self.source is not None:
            self._split_timer.start()

    def _update_split_counts(self) -> None:
        if self.source is None:
            return
        try:
            sizes = self.source.split(self.settings()).sizes()
        except (DataError, ValueError) as e:
            self.split_counts.setText(
                f"<span style='color:{theme.ERROR}'>{escape(str(e), quote=False)}</span>"
            )
            return
        self._show_split_counts(sizes)

    def _show_split_counts(self, sizes: dict[str, int]) -> None:
        self.split_counts.setText(
            f"Train <b>{sizes['train']:,}</b> · Validation <b>{sizes['val']:,}</b> · Test <b>{sizes['test']:,}</b>"
        )
        self.split_counts.setToolTip("Samples in each split with these settings")

    def _update_input_label(self, *_: Any) -> None:
        if self.source is None or self._loading:
            return
        shape, dtype = self.source.input_spec(self.settings())
        self.input_label.setText(input_text(shape, dtype))
        self.input_changed.emit()
