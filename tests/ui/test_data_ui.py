"""Datasets in the window: the worker helper, the import dialog, the Data tab, drops."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QThread, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from workbench.core.shapes import analyze
from workbench.core.templates import TEMPLATES
from workbench.data import (
    DataCancelled,
    DataError,
    DatasetInfo,
    DataSettings,
    Problem,
    Source,
    describe,
)
from workbench.ui import workers
from workbench.ui.data.import_dialog import DatasetImportDialog
from workbench.ui.data.scan import ScanSlot
from workbench.ui.window import MainWindow
from workbench.ui.workers import run_task, run_task_with_partial, running_tasks

WAIT_MS = 20_000


@pytest.fixture(autouse=True)
def _no_threads_left(qtbot):
    """Every background task has ended (through its finished signal) when a test ends."""
    yield
    workers.cancel_all()
    try:
        qtbot.waitUntil(lambda: not running_tasks(), timeout=WAIT_MS)
    except qtbot.TimeoutError:
        import faulthandler

        names = [t.name for t in running_tasks()]
        faulthandler.dump_traceback(all_threads=True)
        raise AssertionError(f"background tasks still running after the test: {names}") from None


@pytest.fixture
def window(qtbot) -> MainWindow:
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    assert w.new_project("lenet")
    return w


# --- fixtures on disk ---------------------------------------------------------------------------

CLASSES = ("circle", "square", "triangle")


def make_image_folder(root: Path, per_class: int = 5, size: int = 16) -> Path:
    """3 classes x ``per_class`` distinct PNGs drawn with Pillow."""
    from PIL import Image, ImageDraw

    colors = {"circle": (200, 30, 30), "square": (30, 120, 200), "triangle": (30, 160, 60)}
    for cls in CLASSES:
        (root / cls).mkdir(parents=True)
        for i in range(per_class):
            im = Image.new("RGB", (size, size), (255, 255, 255))
            d = ImageDraw.Draw(im)
            o = i % 4  # shift each image so no two files are identical
            if cls == "circle":
                d.ellipse((1 + o, 2, 10 + o, 12), fill=colors[cls])
            elif cls == "square":
                d.rectangle((2, 1 + o, 11, 10 + o), fill=colors[cls])
            else:
                d.polygon([(7 + o, 1), (12 + o, 13), (1 + o, 13)], fill=colors[cls])
            im.putpixel((0, 0), (i, i, i))
            im.save(root / cls / f"{cls}_{i}.png")
    return root


def make_table(path: Path, n: int = 60) -> Path:
    """A CSV with numeric and categorical features, a class column and a float column."""
    rng = np.random.default_rng(0)
    kinds = ["setosa", "versicolor", "virginica"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["sepal", "petal", "color", "kind", "weight"])
        for i in range(n):
            k = i % 3
            w.writerow(
                [
                    f"{rng.normal(5 + k):.3f}",
                    f"{rng.normal(1 + k):.3f}",
                    ["red", "blue"][i % 2],
                    kinds[k],
                    f"{rng.normal(10, 3):.4f}",
                ]
            )
    return path


def drop(widget, paths) -> tuple[QDragEnterEvent, QDropEvent]:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        QPoint(10, 10), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    event = QDropEvent(
        QPointF(10, 10), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, event)
    return enter, event


def wait_dialog(qtbot, window: MainWindow) -> DatasetImportDialog:
    qtbot.waitUntil(lambda: window.data_controller.dialog is not None, timeout=WAIT_MS)
    dialog = window.data_controller.dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: not dialog.is_scanning(), timeout=WAIT_MS)
    return dialog


def accept_and_wait(qtbot, window: MainWindow, dialog: DatasetImportDialog) -> None:
    with qtbot.waitSignal(window.data_controller.imported, timeout=WAIT_MS):
        dialog.import_button.click()
    qtbot.waitUntil(lambda: window.data_tab.state() == "data", timeout=WAIT_MS)


# --- a fake source (tests the UI without depending on one file format) ---------------------------


class FakeArrays(Source):
    """An arrays-like source whose scan can be made slow and cancellable."""

    kind = "arrays"

    def __init__(self, path: Path, n: int = 40) -> None:
        self.path = path
        self._labels = np.arange(n, dtype=np.int64) % 4

    @classmethod
    def scan(cls, path: Path, progress=None, cancelled=None, slow: bool = False) -> FakeArrays:
        total = 1_000_000 if slow else 10
        for i in range(total):
            if cancelled is not None and cancelled():
                raise DataCancelled()
            if progress is not None:
                progress(i + 1, total)
            if slow:
                time.sleep(0.001)
        return cls(Path(path))

    def info(self) -> DatasetInfo:
        counts = np.bincount(self._labels, minlength=4)
        return DatasetInfo(
            path=str(self.path),
            kind="arrays",
            task="classification",
            num_samples=len(self._labels),
            classes=[f"c{i}" for i in range(4)],
            class_counts={f"c{i}": int(k) for i, k in enumerate(counts)},
            problems=[
                Problem("x", "3 rows contain NaN", "warning"),
                Problem("y", "labels are 0-3", "info"),
            ],
            sample_shape=(50,),
            dtype="int64",
            details={"sequence": True, "vocab_size": 100},
        )

    @property
    def labels(self) -> np.ndarray:
        return self._labels

    def preview(self, limit: int = 64) -> dict[str, Any]:
        rows = [
            [list(range(i, i + 50)), int(self._labels[i])]
            for i in range(min(limit, len(self._labels)))
        ]
        return {"x_shape": [len(self._labels), 50], "y_shape": [len(self._labels)], "rows": rows}

    def prepare(self, settings, progress=None, cancelled=None):  # pragma: no cover - not used here
        raise NotImplementedError


# --- the worker helper ---------------------------------------------------------------------------


def test_a_task_delivers_its_result_on_the_gui_thread(qtbot):
    seen: dict[str, Any] = {}

    def work(progress, cancelled):
        seen["worker_thread"] = threading.get_ident()
        for i in range(20_000):
            progress(i + 1, 20_000)
        return {"answer": 42}

    task = run_task(work)
    progress: list[tuple[int, int]] = []
    task.progressed.connect(lambda d, t: progress.append((d, t)))

    def on_result(value):
        seen["value"] = value
        seen["gui"] = QThread.currentThread() is QApplication.instance().thread()

    task.succeeded.connect(on_result)
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass
    assert seen["value"] == {"answer": 42}
    assert seen["gui"] is True
    assert seen["worker_thread"] != threading.get_ident()
    assert task.outcome == "ok" and not task.is_running()
    # 20,000 calls arrive throttled to a handful, ending with the last one.
    assert 1 <= len(progress) < 200
    assert progress[-1] == (20_000, 20_000)
    assert task not in running_tasks()


def test_a_task_can_be_cancelled_and_reports_failures(qtbot):
    started = threading.Event()

    def endless(progress, cancelled):
        started.set()
        while not cancelled():
            time.sleep(0.001)
        raise DataCancelled()

    task = run_task(endless)
    assert started.wait(60)
    outcomes: list[str] = []
    task.cancelled.connect(lambda: outcomes.append("cancelled"))
    task.succeeded.connect(lambda v: outcomes.append("ok"))
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        task.cancel()
    assert outcomes == ["cancelled"] and task.outcome == "cancelled"

    def broken(progress, cancelled):
        raise DataError("broken.csv: the file is empty")

    task = run_task(broken)
    errors: list[BaseException] = []
    task.failed.connect(errors.append)
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass
    assert len(errors) == 1 and isinstance(errors[0], DataError)
    assert str(errors[0]) == "broken.csv: the file is empty"


def test_a_task_thread_ends_without_the_gui_event_loop(qtbot):
    task = run_task(lambda progress, cancelled: 1)
    thread = task._thread
    assert thread.wait(
        60_000
    )  # blocks without processing events: the worker ends its thread itself
    assert thread.isFinished()
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass


def test_quitting_with_a_task_running_does_not_abort(tmp_path):
    script = tmp_path / "quit.py"
    script.write_text(
        "import threading, time\n"
        "from PySide6.QtWidgets import QApplication\n"
        "app = QApplication([])\n"
        "from workbench.ui.workers import run_task\n"
        "started = threading.Event()\n"
        "def slow(progress, cancelled):\n"
        "    started.set()\n"
        "    while not cancelled():\n"
        "        time.sleep(0.01)\n"
        "task = run_task(slow)\n"
        "assert started.wait(60)\n"
        "print('bye')\n",
        encoding="utf-8",
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "bye"


def test_partial_results_arrive_in_batches(qtbot):
    def work(progress, cancelled, publish):
        for i in range(1000):
            publish(i)
        return "done"

    task = run_task_with_partial(work)
    batches: list[list[int]] = []
    task.partial.connect(batches.append)
    with qtbot.waitSignal(task.finished, timeout=WAIT_MS):
        pass
    assert [i for b in batches for i in b] == list(range(1000))
    assert len(batches) < 100


def test_a_scan_slot_delivers_only_its_current_task(qtbot):
    slot = ScanSlot()
    release = threading.Event()
    outcomes: list[Any] = []

    def first(progress, cancelled):
        release.wait(60)
        return "first"

    def second(progress, cancelled):
        release.wait(60)
        if cancelled():
            raise DataCancelled()
        return "second"

    slot.start(
        first,
        "first",
        succeeded=outcomes.append,
        failed=outcomes.append,
        cancelled=lambda: outcomes.append("first cancelled"),
    )
    slot.start(
        second,
        "second",
        succeeded=outcomes.append,
        failed=outcomes.append,
        cancelled=lambda: outcomes.append("cancelled"),
    )
    assert slot.busy()
    release.set()
    qtbot.waitUntil(lambda: not running_tasks(), timeout=WAIT_MS)
    assert outcomes == ["second"] and not slot.busy()  # the replaced task never shows up

    # cancel() asks the task to stop and still reports it; stop() drops it without a word.
    release.clear()
    slot.start(
        second,
        "second",
        succeeded=outcomes.append,
        failed=outcomes.append,
        cancelled=lambda: outcomes.append("cancelled"),
    )
    slot.cancel()
    release.set()
    qtbot.waitUntil(lambda: not running_tasks(), timeout=WAIT_MS)
    assert outcomes == ["second", "cancelled"] and not slot.busy()
    release.clear()
    slot.start(
        second,
        "second",
        succeeded=outcomes.append,
        failed=outcomes.append,
        cancelled=lambda: outcomes.append("stopped"),
    )
    slot.stop()
    assert not slot.busy()
    release.set()
    qtbot.waitUntil(lambda: not running_tasks(), timeout=WAIT_MS)
    assert outcomes == ["second", "cancelled"]


# --- the drop test -----------------------------------------------------------------------------


def test_a_dropped_image_folder_imports_and_the_data_tab_shows_its_classes(window, tmp_path, qtbot):
    folder = make_image_folder(tmp_path / "shapes")
    window.show()
    enter, event = drop(window, [folder])
    assert enter.isAccepted() and event.isAccepted()

    dialog = wait_dialog(qtbot, window)
    assert dialog.error_message() == ""
    assert dialog.is_ready()
    assert dialog.preview.thumbnails.class_names() == list(CLASSES)
    assert dialog.preview.thumbnails.header_texts() == [f"{c} · 5 images" for c in CLASSES]
    assert "15 images" in dialog.summary_label.text() and "3 classes" in dialog.summary_label.text()
    assert dialog.options.split_counts.text().replace("<b>", "").replace("</b>", "") == (
        "Train 9 · Validation 3 · Test 3"
    )
    assert (dialog.options.width_spin.value(), dialog.options.height_spin.value()) == (16, 16)
    accept_and_wait(qtbot, window, dialog)

    tab = window.data_tab
    assert window.current_page() == "data"
    assert tab.class_rows() == {c: 5 for c in CLASSES}
    assert tab.preview.thumbnails.header_texts() == [f"{c} · 5 images" for c in CLASSES]
    assert "train 9" in tab.splits_label.text().replace("<b>", "").replace("</b>", "")
    ticks = tab.chart.plot.getAxis("bottom")._tickLevels[0]
    assert [name for _, name in ticks] == list(CLASSES)

    doc = window.document
    stored = doc.project.dataset
    assert stored is not None and Path(stored["path"]) == folder.resolve()
    assert doc.modified
    (out,) = doc.graph.of_type("Output")
    (inp,) = doc.graph.of_type("Input")
    assert out.params["num_classes"] == 3
    assert inp.params["shape"] == [3, 16, 16]
    assert analyze(doc.graph).errors == []
    assert doc.undo_label() == "Fit model to dataset"
    assert any("Input shape changed" in n for n in tab.notes)
    assert tab.notes_label.isVisible()
    assert "Input shape changed" in window.statusBar().currentMessage()
    assert window.stats_label.text().endswith("errors: 0")

    # One undo puts the model back; the dataset stays in the project.
    assert doc.undo()
    (inp,) = doc.graph.of_type("Input")
    assert inp.params["shape"] == [1, 28, 28]
    assert doc.project.dataset is not None


def test_a_dropped_folder_opens_the_dialog_and_is_reported(window, tmp_path, qtbot):
    folder = make_image_folder(tmp_path / "imgs", per_class=2)
    with qtbot.waitSignal(window.paths_dropped, timeout=WAIT_MS) as blocker:
        drop(window, [folder])
    assert blocker.args == [[str(folder)]]
    dialog = wait_dialog(qtbot, window)
    assert dialog.path == str(folder.resolve())
    dialog.reject()
    assert window.document.project.dataset is None


# --- tables ---------------------------------------------------------------------------------------


def test_a_table_imports_with_the_target_chosen_in_the_dialog(qtbot, tmp_path):
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    assert w.new_project("mlp")
    path = make_table(tmp_path / "flowers.csv")
    dialog = w.import_dataset(path)
    qtbot.waitUntil(lambda: not dialog.is_scanning(), timeout=WAIT_MS)
    assert dialog.error_message() == ""
    assert dialog.options.target_box.isVisibleTo(dialog)
    assert not dialog.options.image_box.isVisibleTo(dialog)
    # The default target is the last column (a float: regression).
    assert dialog.options.target_combo.currentText() == "weight"
    assert dialog.info().task == "regression"
    model = dialog.preview.table.model
    assert model.columns == ["sepal", "petal", "color", "kind", "weight"]
    assert model.headerData(4, Qt.Orientation.Horizontal) == "weight (target)"

    with qtbot.waitSignal(dialog.scan_finished, timeout=WAIT_MS) as blocker:
        dialog.set_target("kind")
    assert blocker.args == ["ok"]
    assert dialog.info().task == "classification"
    assert dialog.info().classes == ["setosa", "versicolor", "virginica"]
    assert model.headerData(3, Qt.Orientation.Horizontal) == "kind (target)"
    assert "3 classes" in dialog.summary_label.text()
    assert dialog.settings().target == "kind"
    dialog.options.missing_combo.setCurrentIndex(dialog.options.missing_combo.findData("drop"))
    accept_and_wait(qtbot, w, dialog)

    doc = w.document
    assert doc.project.dataset["target"] == "kind"
    assert doc.project.dataset["missing"] == "drop"
    (out,) = doc.graph.of_type("Output")
    assert out.params["num_classes"] == 3 and out.params["task"] == "classification"
    assert analyze(doc.graph).errors == []
    tab = w.data_tab
    assert tab.class_rows() == {"setosa": 20, "versicolor": 20, "virginica": 20}
    assert tab.preview.currentWidget() is tab.preview.table
    assert tab.preview.table.model.columns[3] == "kind"
    assert tab.preview.table.model.highlight == 3


def test_the_import_dialog_shows_overflowing_and_infinite_numbers(qtbot, tmp_path):
    lines = ["a,b,label"] + [f"{(i * 7) % 11 - 5},{(i * 3) % 5},{'xy'[i % 2]}" for i in range(60)]
    lines[9] = "1e308,1,x"  # line 10
    lines[20] = "2,inf,y"  # line 21
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n")
    dialog = DatasetImportDialog(path)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: not dialog.is_scanning(), timeout=WAIT_MS)
    texts = dialog.findings.texts()
    assert texts[0].startswith(
        "column 'a': 1 value(s) too large to standardize (line 10: 1e+308)"
    ), texts
    assert "column 'b': 1 non-finite value(s) (line 21: 'inf'); treated as missing" in texts
    assert not dialog.import_button.isEnabled()


def test_a_target_column_that_cannot_be_used_keeps_the_table(window, tmp_path, qtbot):
    path = tmp_path / "t.csv"
    path.write_text(
        "a,b,empty,label\n" + "".join(f"{i},{i * 2 % 7},,{'xy'[i % 2]}\n" for i in range(30))
    )
    dialog = window.import_dataset(path)
    qtbot.waitUntil(dialog.is_ready, timeout=WAIT_MS)
    assert dialog.options.target_combo.currentText() == "label"
    with qtbot.waitSignal(dialog.scan_finished, timeout=WAIT_MS) as blocker:
        dialog.set_target("empty")
    assert blocker.args == ["error"]
    assert "empty" in dialog.error_message() and "t.csv" in dialog.error_message()
    assert dialog.stack.currentIndex() == 2  # the preview stays
    assert dialog.options.target_error.isVisibleTo(dialog)
    assert not dialog.import_button.isEnabled()
    with qtbot.waitSignal(dialog.scan_finished, timeout=WAIT_MS) as blocker:
        dialog.set_target("label")
    assert blocker.args == ["ok"]
    assert dialog.is_ready() and not dialog.options.target_error.isVisibleTo(dialog)
    dialog.reject()


# --- bad input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["garbage_csv", "empty_folder"])
def test_bad_data_shows_one_message_and_nothing_is_stored(window, tmp_path, qtbot, kind):
    if kind == "garbage_csv":
        path = tmp_path / "data.csv"
        path.write_bytes(bytes(range(256)) * 8)
    else:
        path = tmp_path / "nothing"
        path.mkdir()
    graph_before = window.document.graph.to_dict()
    dialog = window.import_dataset(path)
    with qtbot.waitSignal(dialog.scan_finished, timeout=WAIT_MS) as blocker:
        pass
    assert blocker.args == ["error"]
    message = dialog.error_message()
    assert path.name in message
    assert "Traceback" not in message and "\n" not in message
    assert dialog.error_label.text() == message
    assert dialog.stack.currentIndex() == 1
    assert not dialog.import_button.isEnabled()
    dialog.accept()  # refused: there is nothing to import
    assert dialog.isVisible() or window.data_controller.dialog is dialog
    dialog.reject()
    assert window.document.project.dataset is None
    assert window.document.graph.to_dict() == graph_before
    assert not window.document.modified
    assert window.data_tab.state() == "empty"


def test_a_single_class_folder_cannot_be_imported(window, tmp_path, qtbot):
    root = make_image_folder(tmp_path / "one")
    for extra in ("square", "triangle"):
        for f in (root / extra).iterdir():
            f.unlink()
        (root / extra).rmdir()
    dialog = window.import_dataset(root)
    qtbot.waitUntil(lambda: not dialog.is_scanning(), timeout=WAIT_MS)
    assert dialog.error_message() == ""
    errors = [p for p in dialog.findings.problems if p.severity == "error"]
    assert errors and "only one class" in errors[0].reason
    assert not dialog.import_button.isEnabled()
    assert "error" in dialog.import_button.toolTip().lower()
    dialog.reject()
    assert window.document.project.dataset is None


# --- cancelling and fake sources -------------------------------------------------------------------


def test_cancel_during_a_scan_stops_it(window, tmp_path, qtbot, monkeypatch):
    def slow_open(path, target=None, progress=None, cancelled=None):
        return FakeArrays.scan(Path(path), progress, cancelled, slow=True)

    monkeypatch.setattr(describe, "open_dataset", slow_open)
    path = tmp_path / "big.npz"
    path.write_bytes(b"")
    dialog = window.import_dataset(path)
    assert dialog.is_scanning()
    assert dialog.cancel_scan_button.isVisibleTo(dialog)
    qtbot.waitUntil(lambda: dialog.progress_bar.maximum() == 1_000_000, timeout=WAIT_MS)
    with qtbot.waitSignal(dialog.scan_finished, timeout=WAIT_MS) as blocker:
        dialog.cancel_scan_button.click()
    assert blocker.args == ["cancelled"]
    assert not dialog.is_scanning() and dialog.source() is None
    assert "cancelled" in dialog.scan_label.text()
    assert not dialog.import_button.isEnabled()
    qtbot.waitUntil(lambda: not running_tasks(), timeout=WAIT_MS)
    dialog.reject()
    assert window.document.project.dataset is None


def test_arrays_show_shapes_rows_sequence_options_and_findings(
    window, tmp_path, qtbot, monkeypatch
):
    monkeypatch.setattr(
        describe,
        "open_dataset",
        lambda path, target=None, progress=None, cancelled=None: FakeArrays.scan(Path(path)),
    )
    path = tmp_path / "tokens.npz"
    path.write_bytes(b"")
    dialog = window.import_dataset(path)
    qtbot.waitUntil(lambda: dialog.is_ready(), timeout=WAIT_MS)
    assert dialog.options.sequence_box.isVisibleTo(dialog)
    assert not dialog.options.image_box.isVisibleTo(dialog)
    assert not dialog.options.target_box.isVisibleTo(dialog)
    assert dialog.preview.table.caption.text() == "x: (40, 50) · y: (40,)"
    assert dialog.preview.table.model.columns == ["x", "y"]
    # Token ids do not fit the LeNet template: the check says so beside the data's findings.
    texts = dialog.findings.texts()
    assert [t for t in texts if not t.startswith("model:")] == [
        "x: 3 rows contain NaN",
        "y: labels are 0-3",
    ]
    assert "model: it does not fit this data (see above)" in texts
    assert dialog.fit_banner.label.text().startswith("This data does not fit this model")
    assert dialog.findings.item(0).data(Qt.ItemDataRole.UserRole) == "warning"
    assert dialog.findings_label.text() == "CHECK: 2 WARNINGS, 1 INFO"
    assert dialog.settings().seq_len is None
    dialog.options.seq_keep_check.setChecked(False)
    dialog.options.seq_len_spin.setValue(32)
    assert dialog.settings().seq_len == 32
    assert "(N, 32) int64" in dialog.options.input_label.text()
    dialog.reject()


def test_split_sliders_update_the_counts(window, tmp_path, qtbot):
    folder = make_image_folder(tmp_path / "shapes", per_class=10)
    dialog = window.import_dataset(folder)
    qtbot.waitUntil(dialog.is_ready, timeout=WAIT_MS)
    dialog.options.val_slider.setValue(20)
    dialog.options.test_slider.setValue(10)
    # 15 % each, until the counts follow
    assert "Train <b>18</b>" in dialog.options.split_counts.text()
    qtbot.waitUntil(
        lambda: "Train <b>21</b>" in dialog.options.split_counts.text(), timeout=WAIT_MS
    )
    assert "Validation <b>6</b>" in dialog.options.split_counts.text()
    assert "Test <b>3</b>" in dialog.options.split_counts.text()
    s = dialog.settings()
    assert (s.val_ratio, s.test_ratio) == (0.2, 0.1)
    dialog.options.width_spin.setValue(24)
    dialog.options.color_combo.setCurrentIndex(dialog.options.color_combo.findData("grayscale"))
    dialog.options.hflip_check.setChecked(True)
    dialog.options.rotation_spin.setValue(10)
    dialog.options.brightness_spin.setValue(20)
    s = dialog.settings()
    assert s.image_size == (16, 24) and s.color == "grayscale"
    assert (
        s.augment.hflip and s.augment.rotation == 10 and s.augment.brightness == pytest.approx(0.2)
    )
    assert "(N, 1, 16, 24)" in dialog.options.input_label.text()
    dialog.reject()


def test_folder_given_splits_disable_the_sliders(window, tmp_path, qtbot):
    make_image_folder(tmp_path / "ds" / "train")
    make_image_folder(tmp_path / "ds" / "test", per_class=2)
    dialog = window.import_dataset(tmp_path / "ds")
    qtbot.waitUntil(dialog.is_ready, timeout=WAIT_MS)
    assert not dialog.options.test_slider.isEnabled()
    assert dialog.options.val_slider.isEnabled()  # validation is cut from train/
    assert "folder gives" in dialog.options.split_note.text()
    assert "Test <b>6</b>" in dialog.options.split_counts.text()
    dialog.reject()


# --- the Data tab ------------------------------------------------------------------------------


def test_the_data_tab_starts_empty_with_ways_to_import(window, tmp_path, qtbot, monkeypatch):
    tab = window.data_tab
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())][:3] == [
        "Start",
        "Model",
        "Data",
    ]
    assert tab.state() == "empty"
    assert "Drop a folder of images or a CSV/NPZ file here" in tab.empty_hint.text()
    asked: list[bool] = []
    folder = make_image_folder(tmp_path / "shapes", per_class=2)

    def ask(self, is_folder):
        asked.append(is_folder)
        return str(folder) if is_folder else None

    monkeypatch.setattr(MainWindow, "_ask_dataset_path", ask)
    tab.import_file_button.click()
    assert asked == [False] and window.data_controller.dialog is None
    tab.import_folder_button.click()
    assert asked == [False, True]
    dialog = wait_dialog(qtbot, window)
    dialog.reject()


def test_file_menu_imports_with_ctrl_i(window, tmp_path, qtbot, monkeypatch):
    folder = make_image_folder(tmp_path / "shapes", per_class=2)
    monkeypatch.setattr(MainWindow, "_ask_dataset_path", lambda self, is_folder: str(folder))
    assert window.menus.import_action.shortcut().toString() == "Ctrl+I"
    assert window.menus.import_action in window.menus.file_menu.actions()
    window.menus.import_action.trigger()
    dialog = wait_dialog(qtbot, window)
    assert dialog.path == str(folder.resolve())
    dialog.reject()


def test_an_opened_project_rescans_its_dataset_in_the_background(window, tmp_path, qtbot):
    folder = make_image_folder(tmp_path / "data" / "shapes")
    dialog = window.import_dataset(folder)
    qtbot.waitUntil(dialog.is_ready, timeout=WAIT_MS)
    dialog.options.val_slider.setValue(20)
    accept_and_wait(qtbot, window, dialog)
    project = tmp_path / "proj" / "shapes.wbproj"
    project.parent.mkdir()
    assert window.save_project(project)
    stored = json.loads(project.read_text(encoding="utf-8"))["dataset"]
    assert stored["path"] == "../data/shapes"  # relative to the project file

    window.new_project("lenet")
    assert window.data_tab.state() == "empty"
    with qtbot.waitSignal(window.data_controller.rescanned, timeout=WAIT_MS) as blocker:
        assert window.open_project(project)
        assert window.data_tab.state() == "loading"
    assert blocker.args == ["ok"]
    tab = window.data_tab
    assert tab.state() == "data"
    assert tab.class_rows() == {c: 5 for c in CLASSES}
    assert window.data_controller.settings.val_ratio == 0.2
    assert Path(window.data_controller.settings.path) == folder.resolve()

    # "Change settings…" reopens the dialog with the stored settings.
    tab.change_button.click()
    dialog = wait_dialog(qtbot, window)
    assert dialog.options.val_slider.value() == 20
    dialog.reject()


def test_a_missing_dataset_shows_an_error_in_the_tab(window, tmp_path, qtbot):
    folder = make_image_folder(tmp_path / "shapes", per_class=2)
    dialog = window.import_dataset(folder)
    qtbot.waitUntil(dialog.is_ready, timeout=WAIT_MS)
    accept_and_wait(qtbot, window, dialog)
    project = tmp_path / "p.wbproj"
    assert window.save_project(project)
    for f in folder.rglob("*.png"):
        f.unlink()
    for d in sorted(folder.rglob("*"), reverse=True):
        d.rmdir()
    folder.rmdir()
    with qtbot.waitSignal(window.data_controller.rescanned, timeout=WAIT_MS) as blocker:
        window.open_project(project)
    assert blocker.args == ["error"]
    assert window.data_tab.state() == "error"
    assert "shapes" in window.data_tab.error_label.text()
    assert window.document.project.dataset is not None  # nothing was written over


def test_a_settings_object_round_trips_through_the_dialog(window, tmp_path, qtbot):
    folder = make_image_folder(tmp_path / "shapes", per_class=3)
    settings = DataSettings(
        path=str(folder),
        val_ratio=0.2,
        test_ratio=0.1,
        seed=7,
        image_size=(20, 24),
        color="grayscale",
        normalize=False,
    )
    settings.augment.hflip = True
    settings.augment.contrast = 0.3
    dialog = DatasetImportDialog(folder, settings, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(dialog.is_ready, timeout=WAIT_MS)
    got = dialog.settings()
    assert got.to_dict() == {**settings.to_dict(), "path": str(folder.resolve())}
    dialog.reject()


# --- real arrays, regression, sample datasets -----------------------------------------------------


def test_a_token_npz_fits_the_gru_template(qtbot, tmp_path):
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    assert w.new_project("gru")
    rng = np.random.default_rng(0)
    x = rng.integers(1, 300, size=(120, 24)).astype(np.int64)
    y = (x[:, 0] > 150).astype(np.int64)
    path = tmp_path / "tokens.npz"
    np.savez(path, x=x, y=y)
    dialog = w.import_dataset(path)
    qtbot.waitUntil(dialog.is_ready, timeout=WAIT_MS)
    assert dialog.options.sequence_box.isVisibleTo(dialog)
    assert "vocabulary 300" in dialog.details_label.text()
    assert dialog.preview.table.model.columns == ["#", "y", "x"]
    accept_and_wait(qtbot, w, dialog)
    doc = w.document
    (inp,) = doc.graph.of_type("Input")
    assert inp.params["shape"] == [24] and inp.params["dtype"] == "int64"
    assert all(n.params["num_embeddings"] >= 300 for n in doc.graph.of_type("Embedding"))
    assert analyze(doc.graph).errors == []


def test_a_regression_target_shows_a_histogram(qtbot, tmp_path):
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    assert w.new_project("mlp")
    dialog = w.import_dataset(make_table(tmp_path / "flowers.csv"))
    qtbot.waitUntil(dialog.is_ready, timeout=WAIT_MS)
    accept_and_wait(qtbot, w, dialog)
    (out,) = w.document.graph.of_type("Output")
    assert out.params["task"] == "regression"
    tab = w.data_tab
    assert tab.class_rows() == {}
    assert tab.chart.title.text() == "TARGET DISTRIBUTION"
    assert tab.result.target_histogram is not None
    assert sum(tab.result.target_histogram[0]) == 60
    assert "regression" in tab.summary_label.text()
    assert analyze(w.document.graph).errors == []


@pytest.mark.parametrize("name", ["shapes", "tabular", "housing", "sequences", "timeseries"])
def test_a_sample_dataset_from_the_start_page_gives_a_ready_to_train_project(qtbot, name):
    from workbench.data.samples import SAMPLES

    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    card = w.start_page.sample_cards[name]
    with qtbot.waitSignal(w.data_controller.rescanned, timeout=60_000) as blocker:
        card.click()
    assert blocker.args == ["ok"]
    doc = w.document
    assert doc.name == TEMPLATES[SAMPLES[name].template].title
    assert doc.project.dataset is not None
    assert w.current_page() == "data" and w.data_tab.state() == "data"
    assert analyze(doc.graph).errors == []
    info = w.data_tab.result.info
    if info.classes is not None:
        (out,) = doc.graph.of_type("Output")
        assert out.params["num_classes"] == max(2, len(info.classes))


def test_cancelling_a_background_rescan_keeps_the_project(window, tmp_path, qtbot, monkeypatch):
    folder = make_image_folder(tmp_path / "shapes", per_class=2)
    dialog = window.import_dataset(folder)
    qtbot.waitUntil(dialog.is_ready, timeout=WAIT_MS)
    accept_and_wait(qtbot, window, dialog)
    project = tmp_path / "p.wbproj"
    assert window.save_project(project)

    def slow_open(path, target=None, progress=None, cancelled=None):
        return FakeArrays.scan(Path(path), progress, cancelled, slow=True)

    monkeypatch.setattr(describe, "open_dataset", slow_open)
    assert window.open_project(project)
    tab = window.data_tab
    assert tab.state() == "loading"
    with qtbot.waitSignal(window.data_controller.rescanned, timeout=WAIT_MS) as blocker:
        tab.loading_cancel.click()
    assert blocker.args == ["cancelled"]
    assert tab.state() == "error" and tab.error_title.text() == "Scanning was cancelled"
    assert tab.retry_button.isVisibleTo(tab)
    assert window.document.project.dataset is not None and not window.document.modified


# --- issue 9, item 14: data that does not fit the model -------------------------------------------


def test_a_table_into_an_image_model_says_it_does_not_fit_and_offers_the_mlp_template(
    window, tmp_path, qtbot
):
    before = window.document.graph.to_dict()
    path = make_table(tmp_path / "flowers.csv")
    dialog = window.import_dataset(path)
    qtbot.waitUntil(lambda: not dialog.is_scanning(), timeout=WAIT_MS)
    texts = dialog.findings.texts()
    assert not any("No problems found" in t for t in texts)
    assert "model: it does not fit this data (see above)" in texts
    assert dialog.findings_label.text() != "Check: no problems"
    assert dialog.fit_banner.isVisibleTo(dialog)
    assert dialog.fit_banner.label.text().startswith("This table does not fit this model")
    assert "Conv2d" in dialog.fit_banner.label.text()
    assert dialog.fit_banner.button.text() == "Use the MLP template for this table"

    with qtbot.waitSignal(window.data_controller.imported, timeout=WAIT_MS) as blocker:
        dialog.fit_banner.button.click()
    qtbot.waitUntil(lambda: window.data_tab.state() == "data", timeout=WAIT_MS)
    doc = window.document
    assert [n.type for n in doc.graph][:2] == ["Input", "Linear"]
    assert analyze(doc.graph).errors == []
    assert "template" in blocker.args[0][0]
    assert doc.project.dataset is not None
    doc.undo()  # one step brings LeNet back
    assert doc.graph.to_dict() == before


def test_data_that_fits_after_adapting_shows_no_misfit(qtbot, tmp_path):
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    assert w.new_project("mlp")
    dialog = w.import_dataset(make_table(tmp_path / "flowers.csv"))
    qtbot.waitUntil(lambda: not dialog.is_scanning(), timeout=WAIT_MS)
    assert dialog.fit is not None and dialog.fit.fits
    assert not dialog.fit_banner.isVisibleTo(dialog)
    assert not any("does not fit" in t for t in dialog.findings.texts())
