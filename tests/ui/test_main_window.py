"""The main window: title, files, prompts, autosave and recovery, settings, drops, undo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from workbench.core.document import Document
from workbench.core.graph import Graph
from workbench.core.settings import Settings, autosave_dir
from workbench.core.templates import make_project
from workbench.ui.window import MainWindow

REPO = Path(__file__).resolve().parents[2]


class Recorder:
    """Stands in for a dialog: records the calls and returns scripted answers."""

    def __init__(self, *answers):
        self.calls: list[tuple] = []
        self.answers = list(answers)

    def __call__(self, *args):
        self.calls.append(args)
        return self.answers.pop(0) if self.answers else None


@pytest.fixture
def make_window(qtbot):
    def make(**kwargs) -> MainWindow:
        w = MainWindow(**kwargs)
        qtbot.addWidget(w)
        return w

    return make


@pytest.fixture
def window(make_window) -> MainWindow:
    w = make_window()
    assert w.new_project("lenet")
    return w


def _edit(w: MainWindow, units: int = 64) -> None:
    w.document.edit("Set Units", lambda g: g.set_params("linear_1", {"units": units}))


# --- title and state -------------------------------------------------------------------


def test_title_shows_the_name_and_the_modified_mark(window, tmp_path):
    assert window.windowTitle() == "LeNet CNN for images[*] — Model Workbench"
    assert not window.isWindowModified()
    _edit(window)
    assert window.isWindowModified()
    path = tmp_path / "digits.wbproj"
    assert window.save_project(path)
    assert window.windowTitle() == "digits[*] — Model Workbench"
    assert not window.isWindowModified()
    window.document.undo()
    assert window.isWindowModified()


def test_status_bar_counts_layers_params_and_errors(window):
    assert window.stats_label.text() == "11 layers · 80.2 k params · errors: 0"
    window.document.edit("x", lambda g: g.remove_node("flatten_1"))
    assert window.stats_label.text().startswith("10 layers")
    assert window.stats_label.text().endswith("errors: 1")


def test_window_has_the_pages_panels_and_menus(window):
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == [
        "Start",
        "Model",
        "Data",
        "Train",
        "Evaluate",
        "Export",
    ]
    assert window.current_page() == "model"
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Edit", "&View", "&Help"]
    file_items = [a.text() for a in window.menus.file_menu.actions() if a.text()]
    assert file_items == [
        "&New…",
        "New from &Template",
        "&Open…",
        "Open &Recent",
        "&Save",
        "Save &As…",
        "&Import Dataset…",
        "Import Image &Folder…",
        "&Quit",
    ]
    assert window.menus.redo_action.shortcuts()[1].toString() == "Ctrl+Y"
    assert window.menus.save_as_action.shortcut().toString() == "Ctrl+Shift+S"
    panels = next(a.menu() for a in window.menus.view_menu.actions() if a.text() == "&Panels")
    for dock in (window.palette_dock, window.inspector_dock, window.summary_dock):
        assert dock.toggleViewAction() in panels.actions()
    window.show()
    window.summary_dock.toggleViewAction().trigger()
    assert window.summary_dock.isHidden()
    window.menus.new_action.trigger()
    assert window.current_page() == "start"


def test_selection_flows_to_inspector_and_summary(window):
    window.canvas.select_nodes(["conv2d_1"])
    assert window.statusBar().currentMessage() == "Selected conv2d_1 (Conv2d)"
    assert window.inspector.selection() == ["conv2d_1"]
    assert window.summary.selected_ids() == ["conv2d_1"]
    window.summary.node_clicked.emit("relu_2")
    assert window.canvas.selected_node_ids() == ["relu_2"]
    assert window.inspector._title.text() == "ReLU"


def test_palette_activation_adds_the_layer_at_the_view_centre(window):
    before = len(window.document.graph)
    window.layer_palette.layer_activated.emit("Dropout")
    window.layer_palette.layer_activated.emit("Dropout")
    assert len(window.document.graph) == before + 2
    a, b = (n.pos for n in window.document.graph.of_type("Dropout"))
    assert a != b  # the second steps aside
    assert window.document.undo_label() == "Add Dropout"


# --- files -----------------------------------------------------------------------------


def test_save_and_open_round_trip(window, make_window, tmp_path):
    _edit(window, 100)
    path = tmp_path / "model.wbproj"
    assert window.save_project(path)
    other = make_window()
    assert other.open_project(path)
    assert other.document.graph.to_dict() == window.document.graph.to_dict()
    assert other.document.path == path
    assert not other.isWindowModified()
    assert other.current_page() == "model"


def test_save_without_a_path_asks_for_one(window, tmp_path, monkeypatch):
    target = tmp_path / "asked"
    monkeypatch.setattr(MainWindow, "_ask_save_path", lambda self: str(target))
    assert window.save_project()
    assert window.document.path == target.with_suffix(".wbproj")
    assert target.with_suffix(".wbproj").is_file()


def test_a_broken_project_shows_one_error_and_the_window_stays_usable(
    window, tmp_path, monkeypatch
):
    errors = Recorder()
    monkeypatch.setattr(window, "show_error", errors)
    bad = tmp_path / "broken.wbproj"
    bad.write_bytes(b"\x00\xff\xfe garbage \x89PNG")
    before = window.document
    assert not window.open_project(bad)
    assert len(errors.calls) == 1
    title, message = errors.calls[0]
    assert "broken.wbproj" in message
    assert window.document is before
    _edit(window, 7)
    assert window.document.graph.nodes["linear_1"].params["units"] == 7
    assert window.new_project("mlp")


def test_save_error_is_shown_not_raised(window, tmp_path, monkeypatch):
    errors = Recorder()
    monkeypatch.setattr(window, "show_error", errors)
    assert not window.save_project(tmp_path / "no-such-dir" / "x.wbproj")
    assert len(errors.calls) == 1


def test_unsaved_changes_prompt_on_new(window, monkeypatch):
    _edit(window)
    ask = Recorder("cancel")
    monkeypatch.setattr(window, "_ask_save_changes", ask)
    doc = window.document
    assert not window.new_project("mlp")
    assert len(ask.calls) == 1
    assert window.document is doc
    assert doc.graph.nodes["linear_1"].params["units"] == 64
    ask.answers = ["discard"]
    assert window.new_project("mlp")
    assert window.document is not doc
    assert window.document.graph.of_type("Dropout")


def test_save_answer_saves_before_replacing(window, tmp_path, monkeypatch):
    _edit(window)
    target = tmp_path / "kept.wbproj"
    monkeypatch.setattr(window, "_ask_save_changes", lambda: "save")
    monkeypatch.setattr(window, "_ask_save_path", lambda: str(target))
    assert window.new_project("empty")
    assert Document.open(target).graph.nodes["linear_1"].params["units"] == 64


def test_close_asks_and_cancel_keeps_the_window(window, monkeypatch):
    _edit(window)
    monkeypatch.setattr(window, "_ask_save_changes", lambda: "cancel")
    window.show()
    assert not window.close()
    assert window.isVisible()
    monkeypatch.setattr(window, "_ask_save_changes", lambda: "discard")
    assert window.close()


def test_open_recent_and_settings_remember_files(window, make_window, tmp_path):
    a, b = tmp_path / "a.wbproj", tmp_path / "b.wbproj"
    window.save_project(a)
    window.save_project(b)
    fresh = Settings()  # read back from the config folder
    assert fresh.recent_files() == [str(b.resolve()), str(a.resolve())]
    other = make_window()
    other.menus.fill_recent_menu()
    items = [act.text() for act in other.menus.recent_menu.actions() if act.text()]
    assert items[0].startswith("b.wbproj") and items[1].startswith("a.wbproj")
    assert [btn.toolTip() for btn in other.start_page.recent_buttons] == [
        str(b.resolve()),
        str(a.resolve()),
    ]
    other.menus.recent_menu.actions()[1].trigger()
    assert other.document.path == a.resolve()


def test_window_geometry_and_panels_are_restored(make_window, qtbot):
    w = make_window()
    w.show()
    w.summary_dock.hide()
    w.resize(700, 500)  # within the offscreen screen (800x600)
    w.save_window_state()
    data = json.loads(Settings().path.read_text())
    assert isinstance(data["window_geometry"], str) and isinstance(data["builder_state"], str)
    again = make_window()
    again.show()
    qtbot.waitUntil(lambda: again.size().width() == 700)
    assert again.summary_dock.isHidden()
    assert not again.palette_dock.isHidden()


# --- undo and redo through the actions -------------------------------------------------


def test_undo_and_redo_through_the_edit_menu(window):
    assert not window.menus.undo_action.isEnabled()
    _edit(window, 32)
    assert window.menus.undo_action.isEnabled()
    assert window.menus.undo_action.text() == "&Undo Set Units"
    window.menus.undo_action.trigger()
    assert window.document.graph.nodes["linear_1"].params["units"] == 128
    assert window.menus.redo_action.text() == "&Redo Set Units"
    window.menus.redo_action.trigger()
    assert window.document.graph.nodes["linear_1"].params["units"] == 32


def test_edit_actions_reach_the_canvas(window):
    window.canvas.select_nodes(["relu_1", "maxpool2d_1"])
    window.menus.copy_action.trigger()
    n = len(window.document.graph)
    window.menus.paste_action.trigger()
    assert len(window.document.graph) == n + 2
    window.menus.delete_action.trigger()
    assert len(window.document.graph) == n
    window.menus.select_all_action.trigger()
    assert len(window.canvas.selected_node_ids()) == n
    window.menus.cut_action.trigger()
    assert len(window.document.graph) == 0
    window.menus.undo_action.trigger()
    assert len(window.document.graph) == n


# --- autosave and recovery -------------------------------------------------------------


def test_autosave_only_when_modified_and_removed_on_save(window, tmp_path):
    assert window.autosave_now() is None
    _edit(window)
    path = window.autosave_now()
    assert path is not None and path.parent == autosave_dir()
    assert Document.open(path).graph.to_dict() == window.document.graph.to_dict()
    record = json.loads(path.with_name(path.name + ".json").read_text())
    assert record["original_path"] is None and record["pid"] == os.getpid()
    window.save_project(tmp_path / "saved.wbproj")
    assert not path.exists()
    assert list(autosave_dir().glob("*")) == []


def test_autosave_timer_writes_the_file(window, qtbot):
    window.autosave.interval_ms = 30
    _edit(window)
    qtbot.waitUntil(lambda: any(autosave_dir().glob("*.wbproj")), timeout=30_000)


def test_recovery_is_offered_on_the_next_start(window, make_window, tmp_path, monkeypatch):
    original = tmp_path / "work.wbproj"
    window.save_project(original)
    _edit(window, 77)
    window.autosave_now()  # … and then the app "crashes": no close, no clean save
    ask = Recorder("recover")
    monkeypatch.setattr(MainWindow, "_ask_recover", lambda self, entry: ask(entry))
    other = make_window()
    assert other.offer_recovery()
    (entry,) = ask.calls[0]
    assert entry["name"] == "work" and entry["original_path"] == str(original.resolve())
    assert other.document.graph.to_dict() == window.document.graph.to_dict()
    assert other.document.modified and other.isWindowModified()
    assert other.document.path == original.resolve()
    assert other.windowTitle().startswith("work[*]")


def test_recovery_can_be_discarded(window, make_window, monkeypatch):
    _edit(window)
    path = window.autosave_now()
    monkeypatch.setattr(MainWindow, "_ask_recover", lambda self, entry: "discard")
    other = make_window()
    assert not other.offer_recovery()
    assert not path.exists()
    assert not other.offer_recovery()  # nothing left to offer


def test_clean_close_removes_the_autosave(window):
    _edit(window)
    path = window.autosave_now()
    window.show()
    assert window.close()  # the fixture answers "discard"
    assert not path.exists()


# --- drops -----------------------------------------------------------------------------


def _drop(widget, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        QPoint(10, 10), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(
        QPointF(10, 10), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(widget, drop)
    return enter, drop


def test_dropping_a_project_opens_it(window, make_window, tmp_path, qtbot):
    path = tmp_path / "dropped.wbproj"
    saved = Document(make_project("mlp"))
    saved.save(path)
    enter, drop = _drop(window, [path])
    assert enter.isAccepted() and drop.isAccepted()
    qtbot.waitUntil(lambda: window.document.path == path)
    assert window.document.graph.to_dict() == saved.graph.to_dict()


def test_a_project_dropped_on_the_canvas_reaches_the_window(window, tmp_path, qtbot):
    path = tmp_path / "on-canvas.wbproj"
    Document(make_project("mlp")).save(path)
    _drop(window.canvas.viewport(), [path])
    qtbot.waitUntil(lambda: window.document.path == path)


def test_dropping_other_paths_opens_the_import_dialog(window, tmp_path, qtbot):
    folder = tmp_path / "images"
    folder.mkdir()
    with qtbot.waitSignal(window.paths_dropped) as blocker:
        _drop(window, [folder])
    assert blocker.args == [[str(folder)]]
    assert window.last_dropped_paths == [str(folder)]
    dialog = window.data_controller.dialog
    assert dialog is not None  # the import itself is tested in test_data_ui.py
    qtbot.waitUntil(lambda: not dialog.is_scanning())
    assert "empty" in dialog.error_message()
    dialog.reject()


# --- start-up --------------------------------------------------------------------------

_STARTUP = textwrap.dedent(
    """
    import json, sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    import workbench.ui.app as wapp
    seen = {}
    original = wapp.start_torch_warmup
    def spy():
        seen["torch_before_warmup"] = "torch" in sys.modules
        seen["painted"] = any(getattr(w, "_painted", False) for w in app.topLevelWidgets())
        seen["thread"] = original()
        return seen["thread"]
    wapp.start_torch_warmup = spy
    def poll():
        t = seen.get("thread", 0)
        if t is None or (t and not t.is_alive()):
            for w in app.topLevelWidgets():
                w.close()
            app.quit()
        else:
            QTimer.singleShot(50, poll)
    QTimer.singleShot(0, poll)
    rc = wapp.run_gui()
    seen.pop("thread")
    seen["torch_after"] = "torch" in sys.modules
    seen["rc"] = rc
    print(json.dumps(seen))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("warmup", [False, True])
def test_the_window_paints_before_torch_is_imported(warmup, tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    env.pop("WORKBENCH_NO_TORCH_WARMUP", None)
    if not warmup:
        env["WORKBENCH_NO_TORCH_WARMUP"] = "1"
    out = subprocess.run(
        [sys.executable, "-c", _STARTUP],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"torch_before_warmup": False, "painted": True, "torch_after": warmup, "rc": 0}


def test_run_gui_screenshot_and_bad_project(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "WORKBENCH_NO_TORCH_WARMUP": "1"}
    env.pop("QT_QPA_PLATFORM", None)  # run_gui must choose offscreen by itself
    png = tmp_path / "shot.png"
    code = (
        "import sys; from workbench.ui import run_gui; sys.exit(run_gui(sys.argv[1], sys.argv[2]))"
    )
    bad = tmp_path / "bad.wbproj"
    bad.write_text("{not json")
    out = subprocess.run(
        [sys.executable, "-c", code, str(bad), str(png)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "bad.wbproj" in out.stderr
    good = tmp_path / "good.wbproj"
    Document(make_project("lenet")).save(good)
    out = subprocess.run(
        [sys.executable, "-c", code, str(good), str(png)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Traceback" not in out.stderr


def test_first_paint_probe_prints_a_time_and_quits(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    code = "import sys, workbench.ui.app as a; sys.exit(a.run_gui(first_paint_probe=True))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    (line,) = [ln for ln in out.stdout.splitlines() if ln.startswith("first-paint ")]
    assert float(line.split()[1]) > 0


def test_importing_workbench_ui_is_cheap():
    code = (
        "import sys, workbench.ui; assert 'PySide6' not in sys.modules, 'Qt imported'; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr


# --- the whole story -------------------------------------------------------------------

LENET = [
    ("Input", {"shape": [1, 28, 28]}),
    ("Conv2d", {"out_channels": 16, "kernel_size": 5}),
    ("ReLU", {}),
    ("MaxPool2d", {"kernel_size": 2}),
    ("Conv2d", {"out_channels": 32, "kernel_size": 5}),
    ("ReLU", {}),
    ("MaxPool2d", {"kernel_size": 2}),
    ("Flatten", {}),
    ("Linear", {"units": 128}),
    ("ReLU", {}),
    ("Output", {"num_classes": 10}),
]


def test_build_lenet_undo_all_redo_all_save_and_reopen(make_window, tmp_path):
    w = make_window()
    w.show_page("model")
    doc = w.document
    assert len(doc.graph) == 0
    ids: list[str] = []
    for i, (type_name, params) in enumerate(LENET):
        node_id = w.canvas.add_node_at(type_name, QPointF(0, i * 90))
        assert node_id, type_name
        assert w.canvas.node_item(node_id) is not None
        if params:
            doc.edit("Set params", lambda g, n=node_id, p=params: g.set_params(n, p))
        if ids:
            doc.edit("Connect", lambda g, a=ids[-1], b=node_id: g.connect(a, b))
        ids.append(node_id)
    built = doc.graph.to_dict()
    template = make_project("lenet")
    assert doc.analysis.ok
    assert doc.analysis.total_params == Document(template).analysis.total_params
    assert w.stats_label.text() == "11 layers · 80.2 k params · errors: 0"

    steps = 0
    while w.menus.undo_action.isEnabled():
        w.menus.undo_action.trigger()
        steps += 1
    # One step per added layer and per connection; params equal to the defaults add none.
    assert steps >= 2 * len(LENET) - 1
    assert doc.graph.to_dict() == Graph().to_dict()
    assert w.summary.row_ids() == []
    while w.menus.redo_action.isEnabled():
        w.menus.redo_action.trigger()
    assert doc.graph.to_dict() == built

    path = tmp_path / "lenet.wbproj"
    assert w.save_project(path)
    fresh = make_window()
    assert fresh.open_project(path)
    assert fresh.document.graph.to_dict() == built
    assert fresh.summary.row_ids() == [n["id"] for n in built["nodes"]]


# --- issue 9: placing, finding, help, theme, drop highlight, runs ----------------------------


def test_layers_added_from_the_palette_search_do_not_overlap(window):
    from workbench.core.layout import NODE_HEIGHT, NODE_WIDTH

    for _ in range(3):
        window.layer_palette.layer_activated.emit("Dropout")
    nodes = list(window.document.graph)
    for i, a in enumerate(nodes):
        for b in nodes[i + 1 :]:
            apart = (
                abs(a.pos[0] - b.pos[0]) >= NODE_WIDTH or abs(a.pos[1] - b.pos[1]) >= NODE_HEIGHT
            )
            assert apart, f"{a.id} overlaps {b.id}"


def test_find_layer_selects_and_centres_a_layer_on_the_canvas(window, monkeypatch):
    window.resize(1200, 800)
    window.show()
    asked = Recorder("relu_3 — ReLU")
    monkeypatch.setattr(MainWindow, "_ask_find_layer", lambda self, choices: asked(choices))
    window.menus.find_layer_action.trigger()
    assert "relu_3 — ReLU" in asked.calls[0][0]
    assert window.canvas.selected_node_ids() == ["relu_3"]
    canvas = window.canvas
    centre = canvas.mapToScene(canvas.viewport().rect().center())
    assert abs(centre.y() - canvas.node_item("relu_3").scenePos().y()) < 5
    assert window.menus.find_layer_action.text() == "Find &Layer…"
    assert window.menus.search_layers_action.text() == "&Search Layers to Add…"


def test_help_menu_has_about_shortcuts_and_the_user_guide(window, qtbot):
    from PySide6 import QtCore

    from workbench import __version__

    texts = [a.text() for a in window.menus.help_menu.actions() if a.text()]
    assert texts == ["&User Guide", "&Keyboard Shortcuts", "&About Model Workbench"]
    about = window.menus.show_about()
    text = about.text.text()
    for needle in (__version__, "MIT", "Qt", QtCore.qVersion(), "PyTorch", "ONNX Runtime"):
        assert needle in text
    about.close()

    dialog = window.menus.show_shortcuts()
    rows = dialog.rows
    assert ("Edit", "Undo", "Ctrl+Z") in rows
    assert ("View", "Find Layer", "Ctrl+F") in rows
    assert ("Help", "Keyboard Shortcuts", "Ctrl+/") in rows
    assert dialog.table.rowCount() == len(rows)
    assert rows == sorted(rows, key=rows.index)  # menu order
    dialog.close()

    guide = window.menus.show_user_guide()
    assert guide.browser.toPlainText().startswith("Model Workbench user guide")
    assert "Right-click" in guide.browser.toPlainText()
    guide.close()


def test_about_reads_versions_without_importing_torch():
    code = textwrap.dedent(
        """
        import sys
        from workbench.ui.help import about_html, versions
        html = about_html()
        assert 'torch' not in sys.modules, 'torch imported'
        names = dict(versions())
        assert names['PyTorch'] != 'not installed', names
        print('ok')
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_the_user_guide_ships_inside_the_package():
    from workbench.ui.help import user_guide_text

    assert user_guide_text().startswith("# Model Workbench user guide")


@pytest.fixture
def restore_look():
    """Theme tests change the whole application's look: put it back afterwards."""
    from workbench.ui import theme

    app = QApplication.instance()
    saved = (app.styleSheet(), app.palette(), app.style().name(), app.font())
    yield
    sheet, palette, style, font = saved
    theme.use_colors(False)
    app.setStyle(style)
    app.setPalette(palette)
    app.setFont(font)
    app.setStyleSheet(sheet)


@pytest.mark.slow
def test_view_theme_switches_to_dark_is_remembered_and_follows_the_system(
    window, make_window, monkeypatch, restore_look
):
    from workbench.ui import theme

    assert [a.text() for a in window.menus.theme_menu.actions()] == ["&System", "&Light", "&Dark"]
    assert window.menus.theme_actions["system"].isChecked()
    window.resize(1000, 700)
    window.show()
    from PySide6.QtWidgets import QLabel

    card = QLabel("built in light", window)  # a widget styled with the colours of its day
    card.setStyleSheet(f"QLabel {{ background: {theme.PANEL}; color: {theme.TEXT}; }}")
    window.set_theme("dark")
    assert theme.is_dark()
    assert (
        card.styleSheet()
        == f"QLabel {{ background: {theme.DARK['PANEL']}; color: {theme.DARK['TEXT']}; }}"
    )
    assert window.settings.get("theme") == "dark"
    assert QApplication.instance().palette().window().color().lightness() < 80
    canvas = window.canvas
    image = canvas.viewport().grab().toImage()
    assert image.pixelColor(3, 3).lightness() < 60  # the canvas background is dark too
    window.set_theme("light")
    assert not theme.is_dark()
    assert (
        card.styleSheet()
        == f"QLabel {{ background: {theme.LIGHT['PANEL']}; color: {theme.LIGHT['TEXT']}; }}"
    )
    assert QApplication.instance().palette().window().color().lightness() > 200

    # "System" follows the system's colour scheme, also when it changes.
    monkeypatch.setattr(theme, "system_is_dark", lambda: True)
    window.set_theme("system")
    assert theme.is_dark()
    monkeypatch.setattr(theme, "system_is_dark", lambda: False)
    window.menus.on_system_scheme_changed()
    assert not theme.is_dark()

    window.set_theme("dark")
    again = make_window(settings=Settings(window.settings.path))
    assert again.menus.theme_actions["dark"].isChecked()


def test_dark_theme_restyles_the_train_tab_plots(window, qtbot, restore_look):
    import pyqtgraph as pg

    from workbench.ui import theme

    window.show_page("train")
    window.train_tab.ensure_plots()
    window.set_theme("dark")  # plots built in light are restyled
    plots = window.train_tab.findChildren(pg.PlotWidget)
    assert plots
    for plot in plots:
        assert plot.backgroundBrush().color().name() == theme.DARK["PANEL"]
        legend = plot.getPlotItem().legend
        if legend is not None:
            assert legend.brush().color().lightness() < 80
    # Plots built while dark are dark from the start.
    window.set_document(Document(make_project("mlp")))
    plots = window.train_tab.findChildren(pg.PlotWidget)
    assert all(p.backgroundBrush().color().name() == theme.DARK["PANEL"] for p in plots)


def test_dragging_files_over_the_window_shows_a_drop_highlight(window, tmp_path):
    from PySide6.QtGui import QDragLeaveEvent

    path = tmp_path / "fruit.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    window.resize(1000, 700)
    window.show()
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(
        QPoint(50, 50),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, enter)
    overlay = window.drops.overlay
    assert overlay is not None and overlay.isVisible()
    assert overlay.text() == "Drop to import fruit.csv"
    QApplication.sendEvent(window, QDragLeaveEvent())
    assert not overlay.isVisible()
    QApplication.sendEvent(window, enter)
    assert overlay.isVisible()
    empty = QMimeData()  # a drop with nothing usable still ends the highlight
    drop = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        empty,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window, drop)
    assert not overlay.isVisible()


def test_recording_a_run_does_not_mark_the_project_modified(window, tmp_path):
    from workbench.core.project import load_project
    from workbench.engine.job import RunOutcome

    path = tmp_path / "digits.wbproj"
    assert window.save_project(path)
    assert not window.isWindowModified()
    run_dir = tmp_path / "digits.runs" / "r1"
    run_dir.mkdir(parents=True)
    outcome = RunOutcome("finished", "3 epochs", run_id="r1", run_dir=str(run_dir), epochs_done=3)
    window.train_controller._record(window.document, outcome)
    assert not window.isWindowModified()
    assert window.windowTitle() == "digits[*] — Model Workbench"
    assert [r["id"] for r in load_project(path).runs] == ["r1"]


def test_opening_a_project_shows_a_run_killed_before_its_first_checkpoint_as_failed(
    window, tmp_path
):
    import json

    from workbench.core.project import load_project

    path = tmp_path / "killed.wbproj"
    assert window.save_project(path)
    from tests.killed_runs import dead_pid

    dead = dead_pid()
    run = tmp_path / "killed.runs" / "20260101-000000"
    (run / "checkpoints").mkdir(parents=True)
    (run / "status.json").write_text(
        json.dumps({"status": "running", "message": "epoch 1", "pid": dead})
    )
    project = load_project(path)
    project.runs.append({"id": run.name, "path": str(run), "status": "running"})
    from workbench.core.project import save_project

    save_project(project, path)
    assert window.open_project(path)
    entry = window.document.project.runs[-1]
    assert (
        entry["status"] == "failed"
        and entry["message"] == "interrupted before its first checkpoint"
    )
    assert load_project(path).runs[-1]["status"] == "failed"
    assert json.loads((run / "status.json").read_text())["status"] == "failed"
    assert not window.isWindowModified()
