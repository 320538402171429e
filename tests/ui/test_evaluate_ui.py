"""The Evaluate tab: a run's results on a split, clicks that lead to samples, cancelling,
the empty states, the figures as PNG and `workbench gui --tab evaluate --screenshot`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from workbench.cli import main
from workbench.core.project import load_project
from workbench.data import open_dataset
from workbench.data.link import default_settings, fit_model_to_data, store_settings
from workbench.data.samples import generate_sample
from workbench.engine.evaluation import run as run_module
from workbench.engine.evaluation.explore import NO_RUNS_TITLE
from workbench.engine.evaluation.metrics import classification_metrics, regression_metrics
from workbench.engine.evaluation.result import Evaluation
from workbench.engine.runs import train_project
from workbench.ui import theme
from workbench.ui.evaluate.figures import (
    CLASSIFICATION_TITLES,
    REGRESSION_TITLES,
    ConfusionMatrixFigure,
    PointsFigure,
    render_figures,
)
from workbench.ui.window import MainWindow

from .conftest import WAIT_MS

REPO = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Small projects, briefly trained: shapes (images), housing (regression) and fruit whose
    newest run's dataset has no test split."""
    root = tmp_path_factory.mktemp("evaluate-ui")
    out: dict[str, Path] = {}
    for name, template, sample, epochs, lr in (
        ("shapes", "lenet", "shapes", 2, 0.003),
        ("housing", "mlp", "housing", 3, 0.01),
        ("fruit", "mlp", "tabular", 2, 0.01),
    ):
        (root / sample).mkdir()
        data = generate_sample(sample, root / sample)
        path = root / f"{name}.wbproj"
        assert main(["new", "--template", template, str(path)]) == 0
        result = train_project(
            path, data=data, epochs=epochs, lr=lr, batch_size=64, seed=1, device="cpu"
        )
        assert result.status == "finished"
        out[name] = path
    # fruit: a second run on the same data without a test split
    doc = json.loads(out["fruit"].read_text(encoding="utf-8"))
    doc["dataset"]["test_ratio"] = 0.0
    out["fruit"].write_text(json.dumps(doc), encoding="utf-8")
    result = train_project(out["fruit"], epochs=1, batch_size=64, seed=1, device="cpu")
    assert result.status == "finished"
    return out


@pytest.fixture
def window(training_window: MainWindow) -> MainWindow:
    training_window.resize(1280, 800)
    training_window.show()
    return training_window


def open_on_evaluate(window: MainWindow, qtbot, path: Path) -> Evaluation:
    """Open ``path`` on the Evaluate tab and wait until its first evaluation is shown."""
    assert window.open_project(path)
    window.show_page("evaluate")
    c = window.evaluate_controller
    qtbot.waitUntil(lambda: c.current_evaluation() is not None and c.is_settled(), timeout=WAIT_MS)
    ev = c.current_evaluation()
    assert ev is not None
    return ev


# --- the confusion matrix and the regression scatter lead to samples ----------------------------------


def test_clicking_a_confusion_matrix_cell_lists_exactly_that_cells_samples(window, qtbot, projects):
    ev = open_on_evaluate(window, qtbot, projects["shapes"])
    c = window.evaluate_controller
    assert ev.split == "test" and ev.num_samples == 225
    results = c.results
    matrix = results.main_figure
    assert isinstance(matrix, ConfusionMatrixFigure)
    samples = results.samples
    # At first the list shows the most confident mistakes.
    mistakes = ev.classification.mistakes
    assert samples.listed() == [int(i) for i in mistakes]
    assert samples.caption.text() == f"{len(mistakes)} mistakes, the most confident first"

    cm = ev.classification.confusion
    n = len(ev.labels)
    wrong = [(t, p) for t in range(n) for p in range(n) if t != p and cm[t, p] > 0]
    assert wrong, "two epochs of LeNet make some mistakes"
    true, predicted = max(wrong, key=lambda tp: cm[tp])
    # A real click on the plot, where the cell is drawn.
    pos = matrix.cell_center(true, predicted).toPoint()
    qtbot.mouseClick(matrix.plot.viewport(), Qt.MouseButton.LeftButton, pos=pos)

    expected = np.flatnonzero((ev.y_true == true) & (ev.y_pred == predicted))
    assert sorted(samples.listed()) == sorted(int(i) for i in expected)
    assert len(samples.listed()) == cm[true, predicted]
    labels = [str(x) for x in ev.labels]
    assert samples.column_values("true") == [labels[true]] * len(expected)
    assert samples.column_values("predicted") == [labels[predicted]] * len(expected)
    confidence = samples.column_values("confidence")
    assert confidence == sorted(confidence, reverse=True)  # the worst mistakes first
    assert confidence == pytest.approx([float(ev.proba[i, predicted]) for i in samples.listed()])
    p_true = samples.column_values("p(true)")
    assert p_true == pytest.approx([float(ev.proba[i, true]) for i in samples.listed()])
    assert matrix.selected == (true, predicted)
    # The first (most confident) is chosen: every field of it, one per line, under the list.
    first = samples.listed()[0]
    details = samples.detail_texts()
    assert details["sample"] == str(ev.ids[first])
    assert (details["true"], details["predicted"]) == (labels[true], labels[predicted])
    assert details[f"p({labels[predicted]})"] == f"{ev.proba[first, predicted]:.3f}"
    assert f"“{labels[true]}” predicted as “{labels[predicted]}”" in samples.caption.text()
    # Each row has its image's thumbnail, decoded off the GUI thread.
    qtbot.waitUntil(lambda: not samples.is_loading(), timeout=WAIT_MS)
    assert all(icon is not None and not icon.isNull() for icon in samples.model.icons)
    assert samples.model.icons[0] is not samples._blank

    # A cell on the diagonal lists the right predictions of its class.
    qtbot.mouseClick(
        matrix.plot.viewport(), Qt.MouseButton.LeftButton, pos=matrix.cell_center(0, 0).toPoint()
    )
    right = np.flatnonzero((ev.y_true == 0) & (ev.y_pred == 0))
    assert sorted(samples.listed()) == sorted(int(i) for i in right)

    # Row % shows each cell as a share of its true class.
    matrix.mode_buttons["normalized"].click()
    texts = matrix.cell_texts()
    share = cm[true, predicted] / cm[true].sum()
    assert texts[true][predicted] == f"{100 * share:.0f}%"

    # The button lists the mistakes again.
    samples.mistakes_button.click()
    assert samples.listed() == [int(i) for i in mistakes]
    assert matrix.selected is None


def test_clicking_a_point_of_the_regression_scatter_lists_that_sample(window, qtbot, projects):
    ev = open_on_evaluate(window, qtbot, projects["housing"])
    results = window.evaluate_controller.results
    scatter = results.main_figure
    assert isinstance(scatter, PointsFigure)
    samples = results.samples
    assert samples.caption.text() == "All 150 samples, the largest error first"
    assert samples.listed()[0] == int(ev.regression.largest_errors[0])
    # The point farthest (on screen) from any other, so the click cannot pick a neighbour.
    pts = np.array(
        [
            [scatter.point_position(i).x(), scatter.point_position(i).y()]
            for i in range(ev.num_samples)
        ]
    )
    d = np.sqrt(((pts[:, None, :] - pts[None, :, :]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    k = int(np.argmax(d.min(axis=1)))
    qtbot.mouseClick(
        scatter.plot.viewport(), Qt.MouseButton.LeftButton, pos=scatter.point_position(k).toPoint()
    )
    assert samples.listed() == [k]
    assert scatter.selected == k
    t = float(ev.y_true.reshape(-1)[k])
    p = float(ev.y_pred.reshape(-1)[k])
    assert samples.column_values("true") == pytest.approx([t])
    assert samples.column_values("predicted") == pytest.approx([p])
    assert samples.column_values("error") == pytest.approx([t - p])
    # The table's own values come with it (read off the GUI thread).
    qtbot.waitUntil(lambda: "area_m2" in samples.model.rows.columns, timeout=WAIT_MS)
    assert samples.listed() == [k]
    assert samples.detail_texts()["sample"] == f"row {ev.ids[k]}"
    assert "area_m2" in samples.detail_texts()
    # Far from every point, a click picks nothing.
    corner = scatter.view.sceneBoundingRect().topLeft().toPoint()
    qtbot.mouseClick(scatter.plot.viewport(), Qt.MouseButton.LeftButton, pos=corner)
    assert samples.listed() == [k]


# --- running, cancelling, closing ---------------------------------------------------------------------------


class Gate:
    """Holds the evaluation loop until the test lets it go, and records how it ended."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()
        self.ended: list[str] = []
        real = run_module.evaluate_model

        def gated(*args, **kwargs):
            self.entered.set()
            self.go.wait(WAIT_MS / 1000)
            try:
                result = real(*args, **kwargs)
            except BaseException as e:
                self.ended.append(type(e).__name__)
                raise
            self.ended.append("done")
            return result

        monkeypatch.setattr(run_module, "evaluate_model", gated)


def test_cancel_stops_an_evaluation(window, qtbot, projects, monkeypatch):
    open_on_evaluate(window, qtbot, projects["shapes"])
    c = window.evaluate_controller
    tab = window.evaluate_tab
    gate = Gate(monkeypatch)
    outcomes: list[str] = []
    c.evaluation_done.connect(outcomes.append)
    tab.select_split("train")
    c.choice_changed()
    assert c.results.card.button.text() == "Evaluate"
    qtbot.mouseClick(tab.evaluate_button, Qt.MouseButton.LeftButton)
    assert c.is_evaluating()
    qtbot.waitUntil(gate.entered.is_set, timeout=WAIT_MS)
    assert tab.cancel_button.isVisible() and tab.progress.isVisible()
    assert not tab.evaluate_button.isEnabled()
    qtbot.mouseClick(tab.cancel_button, Qt.MouseButton.LeftButton)
    gate.go.set()
    qtbot.waitUntil(lambda: not c.is_evaluating(), timeout=WAIT_MS)
    assert gate.ended == ["EvaluationCancelled"]  # the loop stopped, it did not finish
    assert outcomes == ["cancelled"]
    assert tab.status_label.text() == "Cancelled"
    assert not tab.cancel_button.isVisible() and not tab.progress.isVisible()
    assert tab.evaluate_button.isEnabled()
    assert not any(key[2] == "train" for key in c.cache)
    assert c.results.card.title.text().startswith("Evaluate ")
    assert not tab.banner.message()


def test_closing_the_window_cancels_the_evaluation_first(qtbot, projects, monkeypatch):
    w = MainWindow(restore_state=False)
    qtbot.addWidget(w)
    w.show()
    assert w.open_project(projects["housing"])
    c = w.evaluate_controller
    qtbot.waitUntil(lambda: c.runs_loaded, timeout=WAIT_MS)
    gate = Gate(monkeypatch)
    assert c.evaluate(split="train")
    qtbot.waitUntil(gate.entered.is_set, timeout=WAIT_MS)
    assert not w.close()  # not yet: the evaluation is cancelled first
    assert c.task is not None and c.task.is_cancelling()
    gate.go.set()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=WAIT_MS)
    assert not c.is_evaluating() and gate.ended == ["EvaluationCancelled"]


def test_a_failed_evaluation_says_why_in_one_banner(window, qtbot, projects, monkeypatch):
    open_on_evaluate(window, qtbot, projects["housing"])
    c = window.evaluate_controller

    def broken(*args, **kwargs):
        raise run_module.EvaluationError("run x: its checkpoint is damaged (checksum mismatch)")

    monkeypatch.setattr(run_module, "evaluate_run", broken)
    assert c.evaluate(split="val")
    qtbot.waitUntil(lambda: not c.is_evaluating(), timeout=WAIT_MS)
    assert window.evaluate_tab.banner.message() == (
        "The evaluation failed: run x: its checkpoint is damaged (checksum mismatch)"
    )
    assert c.last_error is not None and window.evaluate_tab.status_label.text() == "Failed"


# --- empty states ----------------------------------------------------------------------------------------------


def test_without_runs_the_tab_says_train_first_and_goes_to_train(window, qtbot, tmp_path):
    assert window.new_project("mlp")
    window.show_page("evaluate")
    c = window.evaluate_controller
    card = c.results.card
    qtbot.waitUntil(lambda: card.title.text() == NO_RUNS_TITLE, timeout=WAIT_MS)
    assert "not saved yet" in card.text.text()
    assert not window.evaluate_tab.evaluate_button.isEnabled()
    assert card.button.text() == "Go to the Train tab"
    qtbot.mouseClick(card.button, Qt.MouseButton.LeftButton)
    assert window.current_page() == "train"
    # Saved, still without a run.
    assert window.save_project(tmp_path / "empty.wbproj")
    window.show_page("evaluate")
    qtbot.waitUntil(
        lambda: c.is_settled() and "No run of “empty”" in card.text.text(), timeout=WAIT_MS
    )
    assert card.title.text() == NO_RUNS_TITLE
    # the card is as tall as its wrapped lines need (a centring layout once cut them)
    window.resize(1280, 800)
    window.show()
    qtbot.waitUntil(lambda: card.isVisible(), timeout=WAIT_MS)
    qtbot.waitUntil(
        lambda: card.text.height() >= card.text.heightForWidth(card.text.width()),
        timeout=WAIT_MS,
    )
    assert card.text.heightForWidth(card.text.width()) > card.text.fontMetrics().height() * 2


def test_a_dataset_without_a_test_split_is_evaluated_on_validation_and_says_so(
    window, qtbot, projects
):
    ev = open_on_evaluate(window, qtbot, projects["fruit"])
    tab = window.evaluate_tab
    assert ev.split == "val"  # the newest run's dataset has no test split
    assert tab.split() == "val"
    labels = [tab.split_combo.itemText(i) for i in range(tab.split_combo.count())]
    assert labels[0] == "Test split · none in this dataset"
    tab.select_split("test")
    window.evaluate_controller.choice_changed()
    card = window.evaluate_controller.results.card
    assert card.title.text() == "No test split"
    assert (
        "has no test split" in card.text.text()
        and "Choose the validation split" in card.text.text()
    )
    assert not tab.evaluate_button.isEnabled()
    assert not card.button.isVisible()


# --- a run that ends on the Train tab ----------------------------------------------------------------------------


def test_a_run_trained_in_the_window_shows_its_test_evaluation_without_evaluating_again(
    window, qtbot, tmp_path
):
    assert window.new_project("mlp")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(160, 3))
    lines = ["a,b,c,label"] + [
        ",".join(f"{v:.4f}" for v in row) + "," + ("red", "green", "blue")[int(np.argmax(row))]
        for row in x
    ]
    csv = tmp_path / "t.csv"
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    doc = window.document
    source = open_dataset(csv, "label")
    settings = default_settings(source, "label")
    doc.edit("Fit model to dataset", lambda g: fit_model_to_data(g, source, settings))
    path = tmp_path / "net.wbproj"
    store_settings(doc.project, settings, path)
    doc.project.training.update({"epochs": 2, "batch_size": 16})
    assert window.save_project(path)
    c = window.evaluate_controller
    outcomes: list[str] = []
    c.evaluation_done.connect(outcomes.append)
    window.show_page("train")
    assert window.train_controller.start()
    qtbot.waitUntil(lambda: not window.train_controller.is_running(), timeout=WAIT_MS)
    outcome = window.train_controller.last_outcome
    assert outcome is not None and outcome.status == "finished"
    assert isinstance(outcome.evaluation, Evaluation) and outcome.evaluation.split == "test"
    window.show_page("evaluate")
    qtbot.waitUntil(lambda: c.current_evaluation() is outcome.evaluation, timeout=WAIT_MS)
    qtbot.waitUntil(c.is_settled, timeout=WAIT_MS)  # its table's values are read meanwhile
    assert outcomes == [] and c.current_evaluation() is outcome.evaluation  # nothing evaluated
    assert window.evaluate_tab.run_id() == outcome.run_id
    assert load_project(path).runs[-1]["id"] == outcome.run_id


# --- theme, figures as pictures, the screenshot ------------------------------------------------------------------


def test_the_figures_follow_a_theme_switch(window, qtbot, projects):
    open_on_evaluate(window, qtbot, projects["housing"])
    results = window.evaluate_controller.results
    assert not results.main_figure.colors.dark
    try:
        window.set_theme("dark")
        qtbot.waitUntil(lambda: results.main_figure.colors.dark, timeout=WAIT_MS)
        assert results.main_figure.colors.panel == theme.DARK["PANEL"]
    finally:
        window.set_theme("light")
    qtbot.waitUntil(lambda: not results.main_figure.colors.dark, timeout=WAIT_MS)


def _classification_evaluation() -> Evaluation:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, size=120)
    logits = rng.normal(size=(120, 3)) + 2.0 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return Evaluation(
        "classification",
        "r1",
        "test",
        ["cat", "dog", "eel"],
        [f"/x/{i}.png" for i in range(120)],
        y,
        proba.argmax(axis=1),
        proba,
        classification_metrics(y, proba),
    )


def _regression_evaluation() -> Evaluation:
    rng = np.random.default_rng(4)
    t = rng.normal(size=(80, 1))
    p = t + rng.normal(scale=0.3, size=(80, 1))
    return Evaluation(
        "regression",
        "r2",
        "val",
        ["price"],
        list(range(1, 81)),
        t,
        p,
        None,
        regression_metrics(t, p),
    )


def _image(png: bytes) -> QImage:
    image = QImage()
    assert image.loadFromData(png, "PNG")
    return image


def test_render_figures_gives_a_png_for_every_figure_in_the_light_theme(qapp):
    was_dark = theme.is_dark()
    theme.use_colors(True)  # the app shows dark: the pictures stay light
    try:
        figures = render_figures(_classification_evaluation())
        regression = render_figures(_regression_evaluation(), width=640, height=400)
    finally:
        theme.use_colors(was_dark)
    assert [t for t, _ in figures] == list(CLASSIFICATION_TITLES)
    assert [t for t, _ in regression] == list(REGRESSION_TITLES)
    for _title, png in figures:
        assert png[:8] == PNG
        image = _image(png)
        assert (image.width(), image.height()) == (800, 520)
        assert image.pixelColor(2, 2).name() == theme.LIGHT["PANEL"]
        colors = {image.pixel(x, y) for x in range(0, 800, 7) for y in range(0, 520, 7)}
        assert len(colors) > 20  # a drawn plot, not an empty panel
    for _title, png in regression:
        image = _image(png)
        assert (image.width(), image.height()) == (640, 400)


def test_gui_screenshot_on_the_evaluate_tab(projects, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "WORKBENCH_NO_TORCH_WARMUP": "1"}
    env.pop("QT_QPA_PLATFORM", None)  # --screenshot chooses offscreen by itself
    shot = tmp_path / "evaluate.png"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "workbench",
            "gui",
            str(projects["housing"]),
            "--tab",
            "evaluate",
            "--screenshot",
            str(shot),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    image = _image(shot.read_bytes())
    assert (image.width(), image.height()) == (1280, 800)
    bad = subprocess.run(
        [sys.executable, "-m", "workbench", "gui", "--tab", "results", "--screenshot", str(shot)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert len(bad.stderr.strip().splitlines()) == 1 and "--tab" in bad.stderr


# --- the report from the tab ---------------------------------------------------------------------


def test_save_report_writes_the_evaluation_shown(window, qtbot, projects, tmp_path):
    ev = open_on_evaluate(window, qtbot, projects["shapes"])
    c = window.evaluate_controller
    tab = c.tab
    qtbot.waitUntil(lambda: tab.report_button.isEnabled(), timeout=WAIT_MS)
    asked: list[Path] = []
    folder = tmp_path / "report"

    def ask(suggested: Path) -> Path | None:
        asked.append(suggested)
        return folder

    c._ask_report_folder = ask
    qtbot.mouseClick(tab.report_button, Qt.MouseButton.LeftButton)
    # the figures are drawn one per turn of the event loop, not all in the click
    assert c._report_drawing is not None and not c.is_settled()
    assert c.report_problem() == "A report is being written" and not tab.report_button.isEnabled()
    qtbot.waitUntil(lambda: c.last_report is not None and c.is_settled(), timeout=WAIT_MS)
    assert asked and asked[0].parent == projects["shapes"].parent
    assert c.last_report == folder / "report.html"
    # the files hold the evaluation on screen: its metrics, one row per sample, the figures
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    assert metrics == json.loads(json.dumps(ev.to_json_dict()))
    rows = (folder / "predictions.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) == 1 + ev.num_samples
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= len(CLASSIFICATION_TITLES) - 1
    assert not tab.banner.isVisible()


def test_save_report_into_a_file_says_why_in_the_banner(window, qtbot, projects, tmp_path):
    open_on_evaluate(window, qtbot, projects["housing"])
    c = window.evaluate_controller
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert c.save_report(blocker)
    qtbot.waitUntil(lambda: c.is_settled() and c.tab.banner.isVisible(), timeout=WAIT_MS)
    assert "not a folder" in c.tab.banner.message() and c.last_report is None
    assert blocker.read_text() == "x"


def test_a_figure_that_cannot_be_drawn_is_one_banner_and_no_report(
    window, qtbot, projects, tmp_path, monkeypatch
):
    from workbench.ui.evaluate import figures

    open_on_evaluate(window, qtbot, projects["housing"])
    c = window.evaluate_controller

    def broken(evaluation, *, width, height):
        yield "Predicted vs true", b"\x89PNG\r\n\x1a\n"
        raise OSError("the figure could not be drawn")

    monkeypatch.setattr(figures, "iter_figure_pngs", broken)
    folder = tmp_path / "report"
    assert c.save_report(folder)
    qtbot.waitUntil(lambda: c.is_settled() and c.tab.banner.isVisible(), timeout=WAIT_MS)
    assert c.tab.banner.message() == (
        "The report could not be written: the figure could not be drawn"
    )
    assert c.last_report is None and not folder.exists()
    assert c.tab.report_button.isEnabled()


# --- Try it in the tab ---------------------------------------------------------------------------


def test_the_try_it_page_follows_the_run_picker(window, qtbot, projects):
    open_on_evaluate(window, qtbot, projects["shapes"])
    tab = window.evaluate_controller.tab
    titles = [tab.pages.tabText(i) for i in range(tab.pages.count())]
    assert titles == ["Results", "Try it"]
    tab.pages.setCurrentWidget(tab.try_it)
    run_id = tab.run_id()
    qtbot.waitUntil(
        lambda: tab.try_it.model() is not None and not tab.try_it.is_busy(), timeout=WAIT_MS
    )
    model = tab.try_it.model()
    assert model is not None and model.run_id == run_id and model.kind == "image"
    # another project: its newest run, a table model
    assert window.open_project(projects["housing"])
    qtbot.waitUntil(
        lambda: tab.try_it.model() is not None and not tab.try_it.is_busy(), timeout=WAIT_MS
    )
    assert tab.try_it.model().kind == "table"
