"""The evaluation report: its three files, what the page shows (escaped), its curves in SVG,
and that headless Chromium shows every image and chart of it."""

from __future__ import annotations

import base64
import csv
import io
import json
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.chromium import find_chromium, probe, screenshot
from workbench.engine.evaluation.metrics import classification_metrics, regression_metrics
from workbench.engine.evaluation.report import (
    MAX_MATRIX_CLASSES,
    REPORT_FILES,
    DatasetSummary,
    prepare_folder,
    render_html,
    report_context,
    shown_settings,
    write_report,
)
from workbench.engine.evaluation.report_curves import (
    chart_groups,
    chart_svg,
    curves_svgs,
    nice_ticks,
    series_title,
)
from workbench.engine.evaluation.result import Evaluation, EvaluationError
from workbench.engine.history import Curves, RunSummary

#: Class names that break a page that does not escape them.
LABELS = ["<b>cat</b>", 'dog "&" co', "bird"]


def png(colour: str, size: tuple[int, int] = (80, 52)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


FIGURES = [("ROC <curves>", png("red")), ("Calibration", png("blue"))]


def classified(ids: list[str] | None = None) -> Evaluation:
    rng = np.random.default_rng(3)
    n = 60
    y = np.arange(n) % 3
    logits = rng.normal(size=(n, 3)) + 2.0 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return Evaluation(
        task="classification",
        run="20250101-120000",
        split="test",
        labels=list(LABELS),
        ids=ids or [f"/data/<img>{i}.png" for i in range(n)],
        y_true=y,
        y_pred=proba.argmax(1),
        proba=proba,
        metrics=classification_metrics(y, proba, top_k=2),
        checkpoint="best.pt",
        epoch=4,
        notes=["the dataset changed since run <x> started"],
    )


def regressed() -> Evaluation:
    t = np.linspace(0, 10, 40).reshape(-1, 1)
    p = t + np.sin(np.arange(40)).reshape(-1, 1)
    return Evaluation(
        task="regression",
        run="r2",
        split="val",
        labels=["price"],
        ids=list(range(1, 41)),
        y_true=t,
        y_pred=p,
        proba=None,
        metrics=regression_metrics(t, p),
        id_label="row",
    )


def summary(tmp_path: Path) -> RunSummary:
    curves = Curves(
        "20250101-120000",
        "Baseline <1>",
        [1, 2, 3, 4],
        {
            "train_loss": [1.2, 0.9, 0.7, 0.6],
            "val_loss": [1.1, None, 0.8, 0.75],
            "val_accuracy": [0.5, 0.6, 0.7, 0.72],
            "lr": [0.001, 0.001, 0.001, 0.001],
            "epoch_seconds": [1.0, 1.0, 1.0, 1.0],
        },
    )
    return RunSummary(
        id="20250101-120000",
        name="Baseline <1>",
        path=tmp_path / "net.runs" / "20250101-120000",
        status="finished",
        started="2025-01-01T12:00:00",
        duration=75.0,
        device="cpu",
        epochs=4,
        epochs_planned=4,
        monitor="val_loss",
        best_value=0.75,
        best_epoch=4,
        best_metric=("val_accuracy", 0.72),
        hyperparameters={"epochs": 4, "optimizer": "adam", "lr": 0.001, "momentum": 0.9},
        curves=curves,
    )


def dataset() -> DatasetSummary:
    return DatasetSummary(
        source="/data/<pets>",
        kind="images",
        task="classification",
        classes=list(LABELS),
        split_sizes={"train": 420, "val": 90, "test": 60},
        details=[("preprocessing", "32 × 32 px, RGB")],
    )


class Cells(HTMLParser):
    """The text of every ``td`` of class ``cell`` (the confusion matrix), row by row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        if tag == "tr":
            self.rows.append([])
        if tag == "td" and "cell" in classes:
            self._in = True
            self.rows[-1].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.rows[-1][-1] += data


def matrix_cells(page: str) -> list[list[int]]:
    parser = Cells()
    parser.feed(page)
    return [[int(c.replace(",", "")) for c in row] for row in parser.rows if row]


# --- the files --------------------------------------------------------------------------------


def test_the_folder_gets_the_three_files(tmp_path: Path) -> None:
    ev = classified()
    folder = tmp_path / "new" / "report"  # made with its parents
    written = write_report(
        ev, folder, figures=FIGURES, run_info=summary(tmp_path), dataset_summary=dataset()
    )
    assert [p.name for p in written] == list(REPORT_FILES)
    assert json.loads((folder / "metrics.json").read_text()) == json.loads(
        json.dumps(ev.to_json_dict())
    )
    ev.write_predictions_csv(tmp_path / "expected.csv")
    assert (folder / "predictions.csv").read_text() == (tmp_path / "expected.csv").read_text()
    with open(folder / "predictions.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == ev.num_samples
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # self-contained: no file or address beyond the two files beside it
    sources = re.findall(r'(?:src|href)="([^"]*)"', page) + re.findall(
        r"(?:src|href)='([^']*)'", page
    )
    assert sources and all(
        s.startswith("data:image/png;base64,") or s in ("metrics.json", "predictions.csv")
        for s in sources
    )
    # no temporary file is left behind
    assert sorted(p.name for p in folder.iterdir()) == sorted(REPORT_FILES)


def test_a_report_again_replaces_the_files(tmp_path: Path) -> None:
    write_report(classified(), tmp_path, figures=FIGURES)
    write_report(regressed(), tmp_path, figures=[])
    assert json.loads((tmp_path / "metrics.json").read_text())["task"] == "regression"
    assert "Largest errors" in (tmp_path / "report.html").read_text()


def test_the_figures_are_embedded_as_they_were_given(tmp_path: Path) -> None:
    page = render_html(classified(), figures=FIGURES)
    images = re.findall(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]*)">', page)
    assert [base64.b64decode(data) for data, _ in images] == [data for _, data in FIGURES]
    assert [alt for _, alt in images] == ["ROC &lt;curves&gt;", "Calibration"]
    assert "<figcaption>ROC &lt;curves&gt;</figcaption>" in page


def test_a_figure_that_is_not_png_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        write_report(classified(), tmp_path, figures=[("bad", b"GIF89a....")])
    assert not (tmp_path / "report.html").exists()


def test_a_file_where_the_folder_should_be_is_one_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "taken"
    blocker.write_text("x")
    for folder in (blocker, blocker / "below"):
        with pytest.raises(EvaluationError) as info:
            write_report(classified(), folder, figures=FIGURES)
        message = str(info.value)
        assert "\n" not in message and str(blocker) in message
    assert blocker.read_text() == "x"


def test_a_file_that_cannot_be_replaced_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "report.html").mkdir()  # the page's name is taken by a folder
    with pytest.raises(EvaluationError, match=r"report\.html: cannot be written"):
        write_report(classified(), tmp_path, figures=FIGURES)


def test_prepare_folder_checks_before_anything_is_evaluated(tmp_path: Path) -> None:
    assert prepare_folder(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b").is_dir()


# --- what the page says ---------------------------------------------------------------------------


def test_user_text_is_escaped(tmp_path: Path) -> None:
    page = render_html(
        classified(), figures=FIGURES, run_info=summary(tmp_path), dataset_summary=dataset()
    )
    for raw in ("<b>cat</b>", "<img>", "<pets>", "<1>", "<x>", '"&"', "<curves>"):
        assert raw not in page
    assert "&lt;b&gt;cat&lt;/b&gt;" in page and "dog &quot;&amp;&quot; co" in page
    assert "/data/&lt;pets&gt;" in page and "Baseline &lt;1&gt;" in page
    assert "the dataset changed since run &lt;x&gt; started" in page  # the notes


def test_the_confusion_matrix_holds_the_counts(tmp_path: Path) -> None:
    ev = classified()
    page = render_html(ev)
    assert matrix_cells(page) == ev.classification.confusion.tolist()
    # a cell's colour grows with the share of its row; a diagonal cell is marked
    shares = ev.classification.confusion_normalized
    alphas = [
        float(a)
        for a in re.findall(
            r'class="cell[^"]*" style="background:rgba\(37,99,235,([0-9.]+)\)', page
        )
    ]
    assert len(alphas) == 9
    flat = shares.ravel()
    order = np.argsort(flat)
    assert all(alphas[order[k]] <= alphas[order[k + 1]] for k in range(8))
    assert page.count('class="cell diag') == 3


def test_the_per_class_table_and_the_headline(tmp_path: Path) -> None:
    ev = classified()
    page = render_html(ev)
    c = ev.classification
    assert f"{c.accuracy:.4f}" in page and f"{c.per_class.macro['f1']:.4f}" in page
    for i, label in enumerate(ev.labels):
        row = re.search(
            rf'<span class="name">{re.escape(escape(label))}</span></td>(.*?)</tr>',
            page,
        )
        assert row is not None
        cells = re.findall(r"<td>(.*?)</td>", row.group(1))
        assert cells[0] == f"{c.per_class.precision[i]:.4f}"
        assert cells[1] == f"{c.per_class.recall[i]:.4f}"
        assert cells[3] == f"{int(c.per_class.support[i]):,}"


def test_the_most_confident_mistakes_are_listed_with_thumbnails(tmp_path: Path) -> None:
    files = []
    for i in range(60):
        path = tmp_path / f"img{i}.png"
        Image.new("RGB", (20, 30), (i * 4, 0, 0)).save(path)
        files.append(str(path))
    ev = classified(files)
    page = render_html(ev)
    mistakes = ev.classification.mistakes
    assert len(mistakes) > 0
    first = ev.ids[int(mistakes[0])]
    assert first in page
    thumbs = re.findall(r'<img class="pixelated" src="data:image/png;base64,([^"]+)"', page)
    assert len(thumbs) == min(12, len(mistakes))
    assert Image.open(io.BytesIO(base64.b64decode(thumbs[0]))).size == (20, 30)


def test_an_image_that_cannot_be_read_loses_only_its_thumbnail(tmp_path: Path) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image")
    ev = classified([str(broken)] * 60)
    page = render_html(ev)
    assert str(broken) in page and 'class="pixelated"' not in page


def test_a_regression_report(tmp_path: Path) -> None:
    ev = regressed()
    page = render_html(ev, figures=FIGURES)
    m = ev.regression
    assert "Largest errors" in page and "Confusion matrix" not in page
    assert f"row {ev.ids[int(m.largest_errors[0])]}" in page
    assert f"{m.r2:.4f}" in page and f"{m.mae:.4g}" in page


def test_many_classes_leave_the_matrix_to_the_json(tmp_path: Path) -> None:
    k = MAX_MATRIX_CLASSES + 1
    y = np.arange(k * 2) % k
    proba = np.full((k * 2, k), 1.0 / k)
    ev = Evaluation(
        "classification",
        "r",
        "test",
        [f"c{i}" for i in range(k)],
        list(range(k * 2)),
        y,
        proba.argmax(1),
        proba,
        classification_metrics(y, proba),
        id_label="index",
    )
    page = render_html(ev)
    assert f"{k} classes are too many to draw here" in page
    assert 'class="cell' not in page


def test_the_run_its_settings_and_curves(tmp_path: Path) -> None:
    page = render_html(classified(), run_info=summary(tmp_path), dataset_summary=dataset())
    assert "<h2>Training</h2>" in page and "0:01:15" in page  # the training time
    assert "<dt>lr</dt><dd>0.001</dd>" in page
    assert "<dt>momentum</dt>" not in page  # adam does not read it
    assert page.count('<svg class="chart"') == 2  # the losses, the scores
    assert "Evaluation report · net" in page  # the project, from the runs folder
    assert "Images · 570 images · 3 classes · train 420 / validation 90 / test 60" in page


def test_shown_settings_leave_out_what_the_run_did_not_use(tmp_path: Path) -> None:
    run = summary(tmp_path)
    run.hyperparameters = {"optimizer": "sgd", "momentum": 0.8, "schedule": "none", "step_size": 3}
    shown = dict(shown_settings(run, "classification"))
    assert shown == {"optimizer": "sgd", "momentum": "0.8", "schedule": "none"}


def test_the_dataset_summary_from_a_run_config() -> None:
    config = {
        "task": "regression",
        "data": {"path": "/d/house.csv", "target": "price", "missing": "drop"},
        "preprocessing": {"kind": "table"},
        "split_sizes": {"train": 700, "val": 150, "test": 150},
    }
    data = DatasetSummary.from_run_config(config)
    assert data is not None
    assert data.line() == "Table · 1,000 rows · regression · train 700 / validation 150 / test 150"
    assert data.details == [
        ("target column", "price"),
        ("preprocessing", "rows with missing values dropped"),
    ]
    assert DatasetSummary.from_run_config({"task": "classification"}) is None


def test_report_context_of_an_unknown_run_is_empty(tmp_path: Path) -> None:
    project = tmp_path / "p.wbproj"
    assert report_context(project, None) == (None, None, [])
    assert report_context(project, "nope", entries=[]) == (None, None, [])


# --- the curves ---------------------------------------------------------------------------------


def test_nice_ticks_cover_the_range_in_round_steps() -> None:
    assert nice_ticks(0.0, 1.0) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(1.13, 1.62) == pytest.approx([1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7])
    ticks = nice_ticks(3.0, 3.0)  # a flat line still gets an axis around it
    assert ticks[0] < 3.0 < ticks[-1]


def test_series_titles_and_groups() -> None:
    assert series_title("val_loss") == "validation loss"
    assert series_title("train_loss") == "training loss"
    assert series_title("val_top3_accuracy") == "validation top-3 accuracy"
    assert series_title("val_r2") == "validation R²"
    curves = Curves(
        "r",
        "r",
        [1, 2],
        {
            "train_loss": [1.0, 0.5],
            "val_mae": [2.0, 1.0],
            "val_rmse": [3.0, 2.0],
            "val_r2": [0.1, 0.5],
            "lr": [0.1, 0.01],
            "samples_per_s": [100.0, 120.0],
        },
    )
    groups = [(g.title, keys) for g, keys in chart_groups(curves)]
    assert groups == [
        ("Loss", ["train_loss"]),
        ("Errors", ["val_mae", "val_rmse"]),  # R² has a scale of its own
        ("R²", ["val_r2"]),
        ("Learning rate", ["lr"]),  # it changed
    ]


def test_a_gap_splits_a_line_and_the_best_epoch_is_marked() -> None:
    svg = chart_svg(
        "Loss",
        "loss",
        [1, 2, 3, 4],
        {"a": [1.0, None, 0.5, 0.4], "b": [0.9, 0.8, 0.7, 0.6]},
        best_epoch=3,
    )
    lines = re.findall(r'<polyline class="(c\d) series" points="([^"]*)"', svg)
    assert [(c, len(p.split())) for c, p in lines] == [("c0", 1), ("c0", 2), ("c1", 4)]
    assert "best, epoch 3" in svg
    assert svg.count("<circle") == 7


def test_a_run_without_epochs_has_no_charts() -> None:
    assert curves_svgs(Curves("r", "r")) == []


# --- in a browser ------------------------------------------------------------------------------

chromium = pytest.mark.skipif(
    find_chromium() is None,
    reason="no chromium binary on PATH (Debian/Ubuntu: apt-get install chromium)",
)


def full_report(tmp_path: Path) -> Path:
    files = []
    for i in range(60):
        path = tmp_path / "images" / f"img{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.new("RGB", (28, 28), (i * 4, 120, 200)).save(path)
        files.append(str(path))
    figures = [
        ("ROC curves", png("white", (800, 520))),
        ("Precision-recall", png("#eef", (800, 520))),
        ("Reliability", png("#efe", (800, 520))),
    ]
    written = write_report(
        classified(files),
        tmp_path / "report",
        figures=figures,
        run_info=summary(tmp_path),
        dataset_summary=dataset(),
        run_notes=["normalized with the training split's mean"],
    )
    return written[-1]


@chromium
def test_chromium_shows_every_image_and_chart(tmp_path: Path) -> None:
    page = full_report(tmp_path)
    found = probe(page, 1280)
    images, charts = found["images"], found["charts"]
    mistakes = len(classified().classification.mistakes)
    assert mistakes > 0
    assert len(images) == 3 + min(12, mistakes)  # the figures, the mistakes' thumbnails
    assert all(i["ok"] and i["width"] > 0 and i["height"] > 0 for i in images), images
    assert [i["natural"] for i in images[:3]] == [[800, 520]] * 3
    assert len(charts) == 2 and all(c["ok"] and c["lines"] >= 1 for c in charts), charts


@chromium
def test_chromium_reports_a_broken_image(tmp_path: Path) -> None:
    """The probe itself: an image whose data does not decode is caught."""
    page = tmp_path / "bad.html"
    good = base64.b64encode(png("red")).decode()
    page.write_text(
        f'<!DOCTYPE html><html><body><img src="data:image/png;base64,{good}">'
        '<img src="data:image/png;base64,AAAA"></body></html>'
    )
    assert [i["ok"] for i in probe(page)["images"]] == [True, False]


@chromium
def test_a_screenshot_at_1280_wide(tmp_path: Path) -> None:
    page = full_report(tmp_path)
    shot = tmp_path / "report.png"
    height = screenshot(page, shot, 1280)
    with Image.open(shot) as im:
        assert im.size == (1280, height) and height > 1500
        colours = im.convert("RGB").resize((160, height // 8)).getcolors(1 << 16)
    assert colours is None or len(colours) > 50  # a drawn page, not a blank one
