"""The mouse wheel scrolls the panels; it changes a setting only in a focused control."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QSlider, QSpinBox, QWidget

from workbench.ui.window import MainWindow


@pytest.fixture
def window(qtbot):
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    assert w.new_project("mlp")
    w.resize(1024, 680)
    w.show()
    w.show_page("train")
    qtbot.waitExposed(w)
    return w


def wheel(widget: QWidget, steps: int = -1) -> QWheelEvent:
    """Send one wheel event (``steps`` notches, negative = towards the user) to ``widget``."""
    local = QPointF(widget.rect().center())
    event = QWheelEvent(
        local,
        QPointF(widget.mapToGlobal(local.toPoint())),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)
    return event


def settings_scroll(w: MainWindow) -> QScrollArea:
    area = w.train_tab.findChild(QScrollArea, "trainSettings")
    assert area is not None and area.widget() is w.train_tab.form
    return area


def test_the_wheel_over_unfocused_settings_scrolls_the_train_panel(window, qtbot):
    area = settings_scroll(window)
    bar = area.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 0)  # the form is taller than the panel
    form = window.train_tab.form
    epochs = form.fields["epochs"].widget
    monitor = form.fields["monitor"].widget
    assert isinstance(epochs, QSpinBox) and isinstance(monitor, QComboBox)
    before = (epochs.value(), monitor.currentText())
    assert bar.value() == 0
    wheel(epochs, -1)
    assert bar.value() > 0
    moved = bar.value()
    wheel(monitor, -1)
    assert bar.value() > moved
    wheel(monitor, 1)
    wheel(form.device_combo, 1)
    assert (epochs.value(), monitor.currentText()) == before
    form.commit_pending()
    assert "epochs" not in window.document.project.training
    assert "monitor" not in window.document.project.training
    # The wheel gives no focus to the controls it passes over.
    for control in (epochs, monitor, form.device_combo):
        assert control.focusPolicy() == Qt.FocusPolicy.StrongFocus


def test_a_focused_control_takes_the_wheel(window, qtbot):
    form = window.train_tab.form
    epochs = form.fields["epochs"].widget
    window.activateWindow()
    epochs.setFocus(Qt.FocusReason.MouseFocusReason)
    qtbot.waitUntil(epochs.hasFocus)
    before = epochs.value()
    bar = settings_scroll(window).verticalScrollBar()
    scrolled = bar.value()
    wheel(epochs, 1)
    assert epochs.value() == before + 1
    assert bar.value() == scrolled


def test_sliders_pass_the_wheel_but_scroll_bars_keep_it(window, qtbot):  # window: the filter
    area = QScrollArea()
    qtbot.addWidget(area)
    inner = QWidget()
    inner.setMinimumHeight(2000)
    slider = QSlider(Qt.Orientation.Horizontal, inner)
    slider.setRange(0, 100)
    slider.setValue(50)
    area.setWidget(inner)
    area.resize(300, 200)
    area.show()
    qtbot.waitExposed(area)
    wheel(slider, -1)
    assert slider.value() == 50
    assert area.verticalScrollBar().value() > 0
    at = area.verticalScrollBar().value()
    wheel(area.verticalScrollBar(), -1)
    assert area.verticalScrollBar().value() > at


def test_the_wheel_leaves_the_inspector_and_export_settings_alone(window, qtbot):
    window.show_page("model")
    window.canvas.select_nodes(["linear_1"])
    units = window.inspector.fields["units"].widget
    assert isinstance(units, QSpinBox)
    qtbot.waitExposed(units)
    before = units.value()
    wheel(units, 1)
    wheel(units, -1)
    wheel(units, -1)
    assert units.value() == before
    assert window.document.graph.nodes["linear_1"].params.get("units", before) == before

    window.show_page("export")
    tab = window.export_tab
    controls = [tab.format_combo, tab.opset_spin, tab.port_spin]
    values = [c.currentIndex() if isinstance(c, QComboBox) else c.value() for c in controls]
    for control in controls:
        wheel(control, -1)
        wheel(control, 1)
        wheel(control, 1)
    assert [c.currentIndex() if isinstance(c, QComboBox) else c.value() for c in controls] == values
