"""Try it in the window: drop, paste or type an input and read what the panel shows."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication, QLayout, QVBoxLayout, QWidget

from tests.data.test_images import corrupt_inside
from tests.engine.try_it_projects import (
    FRUIT_HEADER,
    Trained,
    draw,
    image_project,
    predict_json,
    table_project,
)
from workbench.ui import workers
from workbench.ui.evaluate.try_it import TryItPanel

WAIT_MS = 60_000


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return image_project(tmp_path_factory.mktemp("ui_try_shapes"))


@pytest.fixture(scope="module")
def fruit(tmp_path_factory: pytest.TempPathFactory) -> Trained:
    return table_project(tmp_path_factory.mktemp("ui_try_fruit"))


@pytest.fixture
def panel(qtbot) -> Iterator[TryItPanel]:
    """The panel in a plain window, as the Evaluate tab hosts it."""

    def end_tasks(_: QWidget) -> None:
        workers.cancel_all()
        qtbot.waitUntil(lambda: not workers.running_tasks(), timeout=WAIT_MS)

    window = QWidget()
    layout = QVBoxLayout(window)
    # a plain host window sets no size limits of its own (offscreen Qt warns about them)
    layout.setSizeConstraint(QLayout.SizeConstraint.SetNoConstraint)
    p = TryItPanel()
    layout.addWidget(p)
    qtbot.addWidget(window, before_close_func=end_tasks)
    window.resize(1100, 620)
    window.show()
    qtbot.waitExposed(window)
    yield p
    p.shutdown()
    # A QMimeData made in Python must not outlive the interpreter (PySide6 crashes at exit).
    QApplication.clipboard().clear()


def load(qtbot, panel: TryItPanel, trained: Trained) -> None:
    panel.set_run(trained.project, trained.run_id)
    qtbot.waitUntil(lambda: panel.model() is not None and not panel.is_busy(), timeout=WAIT_MS)


def drop_files(panel: TryItPanel, files: list[Path]) -> QDropEvent:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    where = QPointF(panel.width() / 2, panel.height() / 2)
    action = Qt.DropAction.CopyAction
    none = Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(where.toPoint(), action, mime, Qt.MouseButton.LeftButton, none)
    QApplication.sendEvent(panel, enter)
    assert enter.isAccepted()
    drop = QDropEvent(where, action, mime, Qt.MouseButton.LeftButton, none)
    QApplication.sendEvent(panel, drop)
    return drop


def percent(text: str) -> float:
    """``97.31 %`` as 0.9731."""
    assert text.endswith(" %"), text
    return float(text.removesuffix(" %")) / 100


def wait_results(qtbot, panel: TryItPanel, count: int = 1) -> None:
    qtbot.waitUntil(lambda: len(panel.results()) == count and not panel.is_busy(), timeout=WAIT_MS)


def test_the_empty_states_say_what_to_do(
    qtbot, panel: TryItPanel, shapes: Trained, fruit: Trained
) -> None:
    assert panel.empty_text().startswith("No trained run to try")
    load(qtbot, panel, shapes)
    assert panel.empty_text().startswith("Drop an image here\nor paste one (Ctrl+V)")
    assert "resized to 28×28" in panel.empty_text()
    assert not panel.row_edit.isVisible() and panel.open_button.isEnabled()
    assert f"Run {shapes.run_id}: classification into 3 classes" in panel.describe_label.text()
    load(qtbot, panel, fruit)
    assert panel.empty_text().startswith("Type a row\nColumns: weight, length, colour.")
    assert panel.row_edit.isVisible() and not panel.picture.isVisible()
    assert panel.row_edit.placeholderText().startswith("e.g. ")


def test_dropping_an_image_shows_what_workbench_predict_says(
    qtbot, panel: TryItPanel, shapes: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "mine.png"
    draw("square", np.random.default_rng(11), size=50).save(image)
    (expected,) = predict_json(shapes.onnx, [image], capsys)
    load(qtbot, panel, shapes)
    drop = drop_files(panel, [image])
    assert drop.isAccepted()
    wait_results(qtbot, panel)
    rows = panel.bar_rows()
    assert [name for name, _ in rows] == [c for c, _ in expected["top_k"]]
    assert rows[0][0] == expected["label"]
    assert abs(percent(rows[0][1]) - expected["probability"]) <= 1e-4
    for (_, text), (_, p) in zip(rows, expected["top_k"], strict=True):
        assert abs(percent(text) - p) <= 1e-4
    assert panel.result_view.title.text() == "mine.png"
    assert not panel.banner.isVisible()
    # the image, and its saliency overlay beside it; the toggle hides the overlay
    plain, overlay = panel.picture.image(), panel.overlay_picture.image()
    assert plain is not None and overlay is not None
    assert plain.width() >= 256 and plain.size() == overlay.size() and plain != overlay
    assert panel.overlay_picture.isVisible()
    assert "Grad-CAM on conv2d_2" in panel.method_label.text()
    assert panel.saliency_box.isEnabled() and panel.saliency_box.isChecked()
    panel.saliency_box.setChecked(False)
    assert not panel.overlay_picture.isVisible() and panel.picture.image() == plain
    panel.saliency_box.setChecked(True)
    assert panel.overlay_picture.isVisible()


def test_pasting_an_image_and_several_files(
    qtbot, panel: TryItPanel, shapes: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    files = []
    for i, kind in enumerate(("bar", "empty", "square")):
        files.append(tmp_path / f"{i}_{kind}.png")
        draw(kind, np.random.default_rng(20 + i)).save(files[-1])
    expected = predict_json(shapes.onnx, files, capsys)
    load(qtbot, panel, shapes)
    QApplication.clipboard().setImage(QImage(str(files[0])))
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    wait_results(qtbot, panel)
    assert panel.result_view.title.text() == "pasted image"
    assert panel.bar_rows()[0][0] == expected[0]["label"]
    assert abs(percent(panel.bar_rows()[0][1]) - expected[0]["probability"]) <= 1e-4
    drop_files(panel, files)
    wait_results(qtbot, panel, 3)
    assert panel.results_list.isVisible() and panel.results_list.count() == 3
    panel.results_list.setCurrentRow(2)
    assert panel.result_view.title.text() == files[2].name
    assert panel.bar_rows()[0][0] == expected[2]["label"]


def test_a_corrupt_image_shows_one_message(
    qtbot, panel: TryItPanel, shapes: Trained, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    draw("bar", np.random.default_rng(3)).save(broken)
    corrupt_inside(broken)
    load(qtbot, panel, shapes)
    drop_files(panel, [broken])
    qtbot.waitUntil(lambda: panel.banner.isVisible() and not panel.is_busy(), timeout=WAIT_MS)
    message = panel.banner.message()
    assert message.startswith("broken.png: cannot be decoded as an image")
    assert "\n" not in message and "Traceback" not in message
    assert panel.results() == [] and panel.bar_rows() == []


def test_typing_and_pasting_table_rows(
    qtbot, panel: TryItPanel, fruit: Trained, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "new.csv"
    new.write_text(FRUIT_HEADER + "\n140,9.5,green,apple\n15.5,2.4,red,cherry\n")
    expected = predict_json(fruit.onnx, [new], capsys)
    load(qtbot, panel, fruit)
    # a row copied from a spreadsheet, pasted with Ctrl+V on the panel
    QApplication.clipboard().setText("140\t9.5\tgreen")
    panel.setFocus()
    qtbot.keyClick(panel, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    wait_results(qtbot, panel)
    rows = panel.bar_rows()
    assert rows[0][0] == expected[0]["label"]
    assert abs(percent(rows[0][1]) - expected[0]["probability"]) <= 1e-4
    assert not panel.picture.isVisible()
    # typed into the row's line, then Enter
    panel.row_edit.setFocus()
    qtbot.keyClicks(panel.row_edit, "15.5, 2.4, red")
    qtbot.keyClick(panel.row_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: panel.result_view.title.text() == "row" and not panel.is_busy(), timeout=WAIT_MS
    )
    assert panel.bar_rows()[0][0] == expected[1]["label"]
    # several rows with their header, pasted into the line
    QApplication.clipboard().setText("colour,weight,length\ngreen,140,9.5\nred,15.5,2.4\n")
    qtbot.keyClick(panel.row_edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    wait_results(qtbot, panel, 2)
    for result, predicted in zip(panel.results(), expected, strict=True):
        assert result.label == predicted["label"]
    # a wrong row: one message, the last results stay
    panel.row_edit.setText("heavy, 9.5, green")
    panel.predict_button.click()
    qtbot.waitUntil(lambda: panel.banner.isVisible() and not panel.is_busy(), timeout=WAIT_MS)
    assert panel.banner.message() == "row: the column 'weight' takes a number, not 'heavy'"
    assert len(panel.results()) == 2
    # a CSV file from Open…
    panel._ask_open_paths = lambda: [str(new)]  # type: ignore[method-assign]
    panel.open_button.click()
    qtbot.waitUntil(
        lambda: (
            [r.input for r in panel.results()] == ["new.csv:1", "new.csv:2"] and not panel.is_busy()
        ),
        timeout=WAIT_MS,
    )
