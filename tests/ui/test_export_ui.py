"""The Export tab: runs, formats, the builder's checks, exports through the button, serving."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from workbench.ui import workers
from workbench.ui.export_tab import (
    UNTRAINED_TEXT,
    ExportTab,
    default_file_name,
    describe_run,
    path_for_format,
)
from workbench.ui.window import MainWindow
from workbench.ui.workers import running_tasks

WAIT_MS = 60_000


@pytest.fixture
def opened(monkeypatch):
    """The URLs the tab asked the desktop to open."""
    urls: list[str] = []
    monkeypatch.setattr(
        ExportTab, "_open_url", lambda self, url: urls.append(url.toLocalFile()) or True
    )
    return urls


@pytest.fixture
def window(qtbot):
    def end_tasks(w: MainWindow) -> None:
        c = w.export_controller
        qtbot.waitUntil(
            lambda: not c.is_exporting() and not c.is_starting_server(), timeout=WAIT_MS
        )
        c.stop_server()
        workers.cancel_all()
        qtbot.waitUntil(lambda: not running_tasks(), timeout=WAIT_MS)

    w = MainWindow(restore_state=False)
    qtbot.addWidget(w, before_close_func=end_tasks)
    return w


def _write_table(path: Path, rows: int = 120) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 4))
    lines = ["a,b,c,d,label"]
    for i in range(rows):
        lines.append(
            ",".join(f"{v:.4f}" for v in x[i])
            + ","
            + ("red", "green", "blue")[int(np.argmax(x[i, :3]))]
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _new_project(folder: Path, name: str = "net", template: str = "mlp") -> Path:
    from workbench.core.project import save_project
    from workbench.core.templates import make_project

    project = make_project(template)
    project.name = name
    project.training = {"device": "cpu", "cpu_threads": 1, "batch_size": 16}
    path = folder / f"{name}.wbproj"
    save_project(project, path)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """An MLP project trained for one epoch on a small table (one run)."""
    from workbench.engine.runs import train_project

    folder = tmp_path_factory.mktemp("trained")
    csv = _write_table(folder / "table.csv")
    path = _new_project(folder)
    result = train_project(path, data=csv, target="label", epochs=1)
    assert result.status == "finished"
    return path


@pytest.fixture(scope="module")
def onnx_file(trained, tmp_path_factory) -> Path:
    """The trained project exported to ONNX once (for the serving tests)."""
    from workbench.export.service import export_project

    out = tmp_path_factory.mktemp("served") / "net.onnx"
    export_project(trained, "onnx", out)
    return out


def open_export(window: MainWindow, qtbot, path: Path | None = None) -> ExportTab:
    """Open ``path`` (if given), show the Export tab and wait for its runs."""
    if path is not None:
        assert window.open_project(path)
    window.show()
    window.show_page("export")
    c = window.export_controller
    qtbot.waitUntil(lambda: c.runs_loaded and c._runs_task is None, timeout=WAIT_MS)
    return window.export_tab


def export_and_wait(window: MainWindow, qtbot) -> str:
    tab = window.export_tab
    assert tab.export_button.isEnabled(), tab.export_hint.text()
    tab.export_button.click()
    assert window.export_controller.is_exporting()
    assert tab.result_state == "busy" and not tab.export_button.isEnabled()
    qtbot.waitUntil(lambda: not window.export_controller.is_exporting(), timeout=WAIT_MS)
    return tab.result_state


# --- pure helpers ----------------------------------------------------------------------------------


def test_run_labels_and_default_names():
    rows = [
        {"epoch": 1, "val_loss": 0.9, "val_accuracy": 0.5},
        {"epoch": 2, "val_loss": 0.4, "val_accuracy": 0.94},
    ]
    choice = describe_run(
        "20261123-175137", {"status": "finished", "epoch": 2, "best_epoch": 2}, rows, True
    )
    assert choice.label == "20261123-175137 · finished · 2 epochs · val_accuracy 0.94"
    assert "best checkpoint (epoch 2 of 2)" in choice.detail
    regression = describe_run(
        "r",
        {"status": "stopped", "epoch": 1},
        [{"epoch": 1, "val_loss": 2.0, "val_r2": 0.5}],
        False,
    )
    assert (
        regression.label == "r · stopped · 1 epoch · val_r2 0.5"
        and "last checkpoint" in regression.detail
    )
    assert default_file_name("LeNet CNN", "onnx") == "LeNet_CNN.onnx"
    assert default_file_name("lenet", "python") == "lenet_pytorch"
    assert path_for_format(Path("/a/net.onnx"), "weights") == Path("/a/net.pt")
    assert path_for_format(Path("/a/net.pt"), "python") == Path("/a/net_pytorch")
    assert path_for_format(Path("/a/net_pytorch"), "onnx") == Path("/a/net.onnx")


# --- what to export --------------------------------------------------------------------------------


def test_the_tab_lists_the_trained_runs_then_the_untrained_model(window, qtbot, trained):
    tab = open_export(window, qtbot, trained)
    assert window.tabs.tabText(window.tabs.currentIndex()) == "Export"
    items = [tab.run_combo.itemText(i) for i in range(tab.run_combo.count())]
    assert len(items) == 2 and items[-1] == UNTRAINED_TEXT
    assert " · finished · 1 epoch · val_accuracy " in items[0]
    assert tab.run_id() == items[0].split(" · ")[0]  # the newest run is chosen
    assert not tab.no_runs.isVisibleTo(tab)
    assert tab.title.text() == "Export net"
    assert Path(tab.output_text()) == trained.parent / "net.onnx"
    tab.set_format("weights")
    assert Path(tab.output_text()) == trained.parent / "net.pt"
    assert not tab._fmt_form.isRowVisible(tab._opset_row)  # the opset is for ONNX only


def test_without_runs_the_tab_says_train_first(window, qtbot, tmp_path):
    window.new_project("mlp")
    tab = open_export(window, qtbot)
    assert tab.no_runs.isVisibleTo(tab)
    assert "Train the model first (Train tab)" in tab.no_runs_title.text()
    assert "not saved" in tab.no_runs_text.text()
    assert [tab.run_combo.itemText(i) for i in range(tab.run_combo.count())] == [UNTRAINED_TEXT]
    tab.train_button.click()
    assert window.current_page() == "train"
    # saved but never trained
    assert window.save_project(tmp_path / "fresh.wbproj")
    tab = open_export(window, qtbot)
    assert tab.no_runs.isVisibleTo(tab) and "checkpoint" in tab.no_runs_text.text()
    assert Path(tab.output_text()) == tmp_path / "fresh.onnx"


def test_a_new_run_appears_when_training_ends(window, qtbot, tmp_path):
    from workbench.engine.runs import train_project

    csv = _write_table(tmp_path / "table.csv", rows=60)
    path = _new_project(tmp_path, "later")
    tab = open_export(window, qtbot, path)
    assert tab.run_combo.count() == 1 and tab.no_runs.isVisibleTo(tab)
    result = train_project(path, data=csv, target="label", epochs=1)
    window.train_controller.run_finished.emit(None)  # what the Train tab's controller emits
    qtbot.waitUntil(lambda: tab.run_combo.count() == 2, timeout=WAIT_MS)
    assert tab.run_id() == result.run_id and not tab.no_runs.isVisibleTo(tab)


# --- the builder's checks ----------------------------------------------------------------------------


def test_the_checks_follow_the_graph_format_and_show_the_layer(window, qtbot, tmp_path):
    window.new_project("transformer")
    tab = open_export(window, qtbot)
    assert [s for s, _t in tab.issue_texts()] == ["warning"]
    assert "token ids must lie in 0 to 999" in tab.issue_texts()[0][1]
    doc = window.document
    doc.edit(
        "Learned positions", lambda g: g.set_params("positionalencoding_1", {"kind": "learned"})
    )
    texts = [t for _s, t in tab.issue_texts()]
    assert len(texts) == 2 and any(
        "learned position table" in t and "exactly 32 steps" in t for t in texts
    )
    tab.set_output(tmp_path / "t.onnx")
    assert tab.export_button.isEnabled()  # warnings inform, they do not block
    row = next(r for r in tab.issue_rows if r.issue.node == "positionalencoding_1")
    assert row.show_button is not None
    row.show_button.click()
    assert window.current_page() == "model"
    assert window.canvas.selected_node_ids() == ["positionalencoding_1"]
    window.show_page("export")
    tab.set_format("weights")  # the warnings are about the ONNX file
    assert tab.issue_texts() == [] and tab.checks_ok.isVisibleTo(tab)
    assert "PyTorch weights" in tab.checks_ok.text()


def test_a_graph_with_an_error_disables_export(window, qtbot, tmp_path):
    window.new_project("mlp")
    tab = open_export(window, qtbot)
    tab.set_output(tmp_path / "m.onnx")
    assert tab.export_button.isEnabled() and tab.checks_ok.isVisibleTo(tab)
    window.document.edit("Delete", lambda g: g.remove_node("relu_1"))
    assert [s for s, _t in tab.issue_texts()] == ["error"]
    assert not tab.export_button.isEnabled()
    assert "Fix the error listed above first" in tab.export_hint.text()
    assert not window.export_controller.export()
    window.undo()
    assert tab.export_button.isEnabled() and tab.issue_texts() == []
    tab.set_output(tmp_path / "missing" / "m.onnx")
    assert not tab.export_button.isEnabled()
    assert "does not exist" in tab.output_note.text()


# --- exporting -----------------------------------------------------------------------------------------


def test_export_onnx_through_the_button_shows_the_verification(
    window, qtbot, trained, tmp_path, opened
):
    tab = open_export(window, qtbot, trained)
    out = tmp_path / "model.onnx"
    tab.set_output(out)
    assert export_and_wait(window, qtbot) == "ok"
    assert out.is_file()
    assert tab.result_title.text().endswith("Exported and verified")
    assert tab.result_text.text() == str(out)
    assert "tolerance 0.0001" in tab.figure("Largest difference")
    assert tab.figure("Batch sizes checked") == "1, 7"
    assert tab.figure("Dataset samples").endswith(
        "checked, largest difference " + tab.figure("Dataset samples").split()[-1]
    )
    assert tab.figure("Opset") == "18"
    assert tab.figure("File size").endswith("KB") and tab.figure("Time").endswith(" s")
    assert "Run " in tab.figure("From") and "best checkpoint" in tab.figure("From")
    assert "val_accuracy" in tab.figure("Metrics in the file")
    assert tab.open_button.isEnabled() and tab.export_button.isEnabled()
    tab.open_button.click()
    assert opened == [str(tmp_path)]
    tab.copy_button.click()
    assert QGuiApplication.clipboard().text() == str(out)
    # the export can now be served
    assert window.export_controller.serve_path() == out and tab.start_server_button.isEnabled()


def test_failed_exports_show_one_line_and_the_app_stays_usable(
    window, qtbot, trained, tmp_path, monkeypatch
):
    import workbench.export.service as service

    tab = open_export(window, qtbot, trained)
    out = tmp_path / "m.onnx"
    tab.set_output(out)
    # the model was edited after training: the model as the run trained it is exported
    window.document.edit("Wider", lambda g: g.set_params("linear_1", {"units": 32}))
    assert export_and_wait(window, qtbot) == "ok"
    assert "The model was edited after run" in tab.notes_label.text()
    out.unlink()
    # a run that did not record its model (older runs) and no longer fits: one line
    monkeypatch.setattr(service, "_recorded_graph", lambda config: None)
    assert export_and_wait(window, qtbot) == "error"
    assert tab.result_title.text() == "Export failed"
    assert (
        "was trained on another version of the model (linear_1.weight was" in tab.result_text.text()
    )
    assert "train it again, or export the untrained model" in tab.result_text.text()
    assert "\n" not in tab.result_text.text() and "Traceback" not in tab.result_text.text()
    assert not tab.open_button.isVisibleTo(tab) and not out.exists()
    monkeypatch.undo()
    window.undo()

    # an unexpected exception is one line too
    def broken(*args, **kwargs):
        raise RuntimeError("the exporter broke\nwith a second line")

    monkeypatch.setattr(service, "export_trained", broken)
    assert export_and_wait(window, qtbot) == "error"
    assert tab.result_text.text() == "RuntimeError: the exporter broke."
    monkeypatch.undo()
    monkeypatch.setattr(
        ExportTab, "_ask_output_path", lambda self, fmt, current: str(tmp_path / "again.onnx")
    )
    tab.browse_button.click()
    assert tab.output_text() == str(tmp_path / "again.onnx")
    assert export_and_wait(window, qtbot) == "ok"
    assert (tmp_path / "again.onnx").is_file()


def test_weights_and_python_code_export_through_the_tab(window, qtbot, trained, tmp_path):
    tab = open_export(window, qtbot, trained)
    tab.set_format("weights")
    tab.set_output(tmp_path / "net.pt")
    assert tab.export_button.text() == "Export weights"
    assert export_and_wait(window, qtbot) == "ok"
    assert (tmp_path / "net.pt").is_file() and (tmp_path / "net.json").is_file()
    assert tab.figure("Files") == "net.pt, net.json"
    tab.set_format("python")
    assert Path(tab.output_text()) == tmp_path / "net_pytorch"  # the chosen name follows the format
    assert export_and_wait(window, qtbot) == "ok"
    folder = tmp_path / "net_pytorch"
    assert (folder / "model.py").is_file() and (folder / "train.py").is_file()
    assert "largest difference" in tab.figure("Verified")
    assert tab.open_button.text() == "Open folder"
    # the untrained model exports too
    tab.select_run(None)
    tab.set_format("weights")
    tab.set_output(tmp_path / "untrained.pt")
    assert export_and_wait(window, qtbot) == "ok"
    assert "Untrained model" in tab.figure("From")


OLD_BYTES = b"an earlier export, still wanted\n"


def _hold_the_sample_check(monkeypatch):
    """Make the export wait in its check on the dataset's samples until released.

    Returns (entered, release): set when the export reached the check (its file is staged
    beside the target by then), and the event that lets it go on.
    """
    import threading

    import workbench.export.service as service

    entered, release = threading.Event(), threading.Event()
    check = service._check_samples

    def held(*args, **kwargs):
        entered.set()
        release.wait(WAIT_MS / 1000)
        return check(*args, **kwargs)

    monkeypatch.setattr(service, "_check_samples", held)
    return entered, release


def test_a_failed_export_keeps_the_file_already_there(
    window, qtbot, trained, tmp_path, monkeypatch
):
    import workbench.export.service as service

    tab = open_export(window, qtbot, trained)
    out = tmp_path / "kept.onnx"
    out.write_bytes(OLD_BYTES)
    tab.set_output(out)

    def broken(*args, **kwargs):
        raise RuntimeError("the sample check broke")

    monkeypatch.setattr(service, "_check_samples", broken)
    assert export_and_wait(window, qtbot) == "error"
    assert tab.result_text.text() == "RuntimeError: the sample check broke."
    assert out.read_bytes() == OLD_BYTES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.onnx"]  # no staged file left


def test_a_cancelled_export_keeps_the_file_already_there(
    window, qtbot, trained, tmp_path, monkeypatch
):
    tab = open_export(window, qtbot, trained)
    out = tmp_path / "kept.onnx"
    out.write_bytes(OLD_BYTES)
    tab.set_output(out)
    entered, release = _hold_the_sample_check(monkeypatch)
    c = window.export_controller
    tab.export_button.click()
    qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
    assert any(p.name.startswith(".kept.onnx.") for p in tmp_path.iterdir())  # staged beside it
    c.export_task.cancel()  # as at exit (workers.cancel_all)
    release.set()
    qtbot.waitUntil(lambda: not c.is_exporting(), timeout=WAIT_MS)
    assert out.read_bytes() == OLD_BYTES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.onnx"]


def test_closing_the_window_mid_export_swaps_in_the_whole_new_file(
    qtbot, trained, tmp_path, monkeypatch
):
    import onnx

    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    tab = open_export(w, qtbot, trained)
    out = tmp_path / "late.onnx"
    out.write_bytes(OLD_BYTES)
    tab.set_output(out)
    entered, release = _hold_the_sample_check(monkeypatch)
    tab.export_button.click()
    qtbot.waitUntil(entered.is_set, timeout=WAIT_MS)
    assert not w.close()  # the export finishes in the background, then the window closes
    assert out.read_bytes() == OLD_BYTES  # not touched until the new file is verified
    release.set()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=WAIT_MS)
    onnx.checker.check_model(str(out))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["late.onnx"]


# --- serving ------------------------------------------------------------------------------------------


def _get(url: str) -> tuple[int, dict]:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.status, json.loads(r.read())


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=0.5).close()
    except urllib.error.URLError as e:
        return isinstance(e.reason, ConnectionRefusedError | OSError)
    except (ConnectionError, OSError):
        return True
    return False


def test_serve_starts_answers_and_stops_without_blocking(
    window, qtbot, trained, onnx_file, monkeypatch
):
    from workbench.deploy.server import ModelServer

    tab = open_export(window, qtbot, trained)
    c = window.export_controller
    tab.set_output(onnx_file)
    assert c.serve_path() == onnx_file and str(onnx_file) in tab.serve_model.text()
    tab.port_spin.setValue(0)  # any free port
    # The server's start is held on a gate: the click must return, and the GUI thread keep
    # turning, while it waits (counted timer ticks, no wall clock).
    gate, started_off_gui, stop_waits = threading.Event(), [], []
    start, stop = ModelServer.start, ModelServer.stop

    def held_start(self: ModelServer) -> None:
        started_off_gui.append(threading.current_thread() is not threading.main_thread())
        assert gate.wait(WAIT_MS / 1000)
        start(self)

    def watched_stop(self: ModelServer, wait: bool = True) -> None:
        stop_waits.append(wait)
        stop(self, wait)

    monkeypatch.setattr(ModelServer, "start", held_start)
    monkeypatch.setattr(ModelServer, "stop", watched_stop)
    ticks = [0]
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.__setitem__(0, ticks[0] + 1))
    timer.start(5)
    tab.start_server_button.click()
    assert c.is_starting_server() and tab.start_server_button.text() == "Starting…"
    qtbot.waitUntil(lambda: bool(started_off_gui), timeout=WAIT_MS)
    held = ticks[0]
    qtbot.waitUntil(lambda: ticks[0] >= held + 3, timeout=WAIT_MS)  # while the start is held
    assert started_off_gui == [True] and c.is_starting_server()
    gate.set()
    qtbot.waitUntil(lambda: not c.is_starting_server(), timeout=WAIT_MS)
    assert c.is_serving(), c.server_error
    url = tab.server_url()
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert url in tab.serve_status.text()
    assert tab.curl_command().startswith(f'curl -X POST {url}/predict -d \'{{"instances": [')
    assert tab.curl_label.isVisibleTo(tab) and tab.serve_describe.text().startswith(
        "Classification into 3 classes"
    )
    assert _get(f"{url}/health") == (200, {"status": "ok"})
    body = json.dumps({"instances": [[0.1, 0.2, 0.3, 0.4]]}).encode()
    req = urllib.request.Request(
        f"{url}/predict", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        assert r.status == 200 and len(json.loads(r.read())["predictions"]) == 1
    assert not tab.start_server_button.isEnabled() and not tab.port_spin.isEnabled()
    tab.stop_server_button.click()
    assert stop_waits == [False]  # the GUI thread never joins the server's thread
    assert not c.is_serving() and tab.server_url() == ""
    stopping = ticks[0]
    qtbot.waitUntil(lambda: _refused(f"{url}/health"), timeout=10_000)
    qtbot.waitUntil(lambda: ticks[0] > stopping, timeout=WAIT_MS)
    timer.stop()
    assert tab.start_server_button.isEnabled()


def test_a_port_in_use_is_reported_in_the_panel(window, qtbot, trained, onnx_file):
    tab = open_export(window, qtbot, trained)
    c = window.export_controller
    tab.set_output(onnx_file)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        tab.port_spin.setValue(busy.getsockname()[1])
        tab.start_server_button.click()
        qtbot.waitUntil(lambda: not c.is_starting_server(), timeout=WAIT_MS)
    assert not c.is_serving()
    assert tab.serve_error.isVisibleTo(tab) and "the port is in use" in tab.serve_error.text()
    assert "--port" not in tab.serve_error.text()


def test_the_server_stops_when_the_project_changes(window, qtbot, trained, onnx_file, tmp_path):
    tab = open_export(window, qtbot, trained)
    c = window.export_controller
    tab.set_output(onnx_file)
    tab.port_spin.setValue(0)
    tab.start_server_button.click()
    qtbot.waitUntil(lambda: c.is_serving() or not c.is_starting_server(), timeout=WAIT_MS)
    assert c.is_serving(), c.server_error
    url = tab.server_url()
    window.new_project("mlp")
    assert not c.is_serving() and c.last_result is None
    qtbot.waitUntil(lambda: _refused(f"{url}/health"), timeout=10_000)
    # a Start still loading when the project changes is stopped as soon as it is up
    copy = tmp_path / "copy.onnx"
    shutil.copy(onnx_file, copy)
    tab.set_format("onnx")
    tab.set_output(copy)
    tab.start_server_button.click()
    window.new_project("mlp")
    qtbot.waitUntil(lambda: not c.is_starting_server(), timeout=WAIT_MS)
    assert not c.is_serving()


def test_closing_the_window_waits_for_the_export_and_stops_the_server(
    qtbot, trained, onnx_file, tmp_path
):
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    tab = open_export(w, qtbot, trained)
    c = w.export_controller
    tab.set_output(onnx_file)
    tab.port_spin.setValue(0)
    tab.start_server_button.click()
    qtbot.waitUntil(lambda: not c.is_starting_server(), timeout=WAIT_MS)
    url = tab.server_url()
    assert url
    tab.set_format("weights")
    tab.set_output(tmp_path / "late.pt")
    tab.export_button.click()
    assert not w.close()  # not while the export runs: the window closes once it ended
    assert w.isVisible() and c.is_exporting()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=WAIT_MS)
    assert (tmp_path / "late.pt").is_file()
    assert not c.is_serving()
    qtbot.waitUntil(lambda: _refused(f"{url}/health"), timeout=10_000)


# --- keyboard ---------------------------------------------------------------------------------------


def test_tab_order_follows_the_page(window, qtbot, tmp_path):
    window.new_project("gru")  # one warning, with its "Show layer" button
    tab = open_export(window, qtbot)
    order: list[QWidget] = []
    w: QWidget = tab.run_combo
    for _ in range(200):
        order.append(w)
        w = w.nextInFocusChain()
        if w is tab.run_combo:
            break
    wanted = [
        tab.run_combo,
        tab.format_combo,
        tab.opset_spin,
        tab.output_edit,
        tab.browse_button,
        tab.issue_rows[0].show_button,
        tab.export_button,
        tab.host_edit,
        tab.port_spin,
        tab.start_server_button,
    ]
    positions = [order.index(x) for x in wanted]
    assert positions == sorted(positions)
    assert tab.opset_spin.minimum() == 18 and tab.opset_spin.maximum() == 25
