"""What the Evaluate tab shows, decided without Qt: pickers, rows of samples, curves, clicks."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from workbench.data.tables import read_table
from workbench.engine.evaluation import explore
from workbench.engine.evaluation.explore import (
    MAX_LISTED,
    RunOption,
    TableRows,
    cell_caption,
    cell_label,
    curves_to_draw,
    default_split,
    headline,
    histogram,
    missing_split_text,
    nearest_point,
    sample_rows,
    split_options,
    text_color_on,
    tick_step,
)
from workbench.engine.evaluation.metrics import (
    Curve,
    classification_metrics,
    regression_metrics,
)
from workbench.engine.evaluation.result import Evaluation
from workbench.engine.history import RunSummary


def classification(n: int = 6) -> Evaluation:
    """Three classes; samples 0-2 right, 3 and 4 wrong (4 the more confident), 5 right."""
    proba = np.array(
        [
            [0.9, 0.05, 0.05],
            [0.1, 0.8, 0.1],
            [0.2, 0.2, 0.6],
            [0.3, 0.6, 0.1],  # true 0, predicted 1
            [0.05, 0.9, 0.05],  # true 2, predicted 1
            [0.7, 0.2, 0.1],
        ]
    )[:n]
    y_true = np.array([0, 1, 2, 0, 2, 0])[:n]
    return Evaluation(
        task="classification",
        run="r1",
        split="test",
        labels=["cat", "dog", "eel"],
        ids=[
            f"/data/{c}/{i}.png" for i, c in enumerate(["cat", "dog", "eel", "cat", "eel", "cat"])
        ][:n],
        y_true=y_true,
        y_pred=proba.argmax(axis=1),
        proba=proba,
        metrics=classification_metrics(y_true, proba, top_k=2),
        checkpoint="best.pt",
        epoch=4,
        seconds=1.25,
    )


def regression() -> Evaluation:
    t = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.5], [2.0], [1.0], [4.1]])
    return Evaluation(
        task="regression",
        run="r2",
        split="val",
        labels=["price"],
        ids=[3, 5, 8, 9],
        y_true=t,
        y_pred=p,
        proba=None,
        metrics=regression_metrics(t, p),
        id_label="row",
    )


# --- pickers -------------------------------------------------------------------------------------


def test_split_options_name_each_split_with_its_size_or_say_none():
    options = split_options({"train": 700, "val": 0, "test": 150})
    assert [o.key for o in options] == ["test", "val", "train"]
    assert [o.label for o in options] == [
        "Test split · 150 samples",
        "Validation split · none in this dataset",
        "Training split · 700 samples",
    ]
    assert [o.empty for o in options] == [False, True, False]
    unknown = split_options(None)
    assert [o.label for o in unknown] == ["Test split", "Validation split", "Training split"]
    assert not any(o.empty for o in unknown)


def test_default_split_is_test_else_validation_else_training():
    def option(sizes):
        return RunOption("r", "Run 1", split_sizes=sizes)

    assert default_split(None) == "test"
    assert default_split(option(None)) == "test"
    assert default_split(option({"train": 5, "val": 2, "test": 1})) == "test"
    assert default_split(option({"train": 5, "val": 2, "test": 0})) == "val"
    assert default_split(option({"train": 5, "val": 0, "test": 0})) == "train"


def test_missing_split_text_names_the_dataset_and_what_to_do():
    text = missing_split_text("val", "fruit.csv")
    assert "“fruit.csv” has no validation split" in text
    assert "validation share" in text and "train again" in text
    assert "Choose the validation split" in missing_split_text("test")


def test_run_option_reads_the_summary_and_config(tmp_path: Path):
    summary = RunSummary(
        id="20250101-120000",
        name="Run 3",
        path=tmp_path,
        status="early-stopped",
        started="2025-01-01T12:00:00",
        device="cpu",
        epochs=12,
        best_epoch=9,
        best_metric=("val_accuracy", 0.9712),
        test={"accuracy": 0.953},
    )
    config = {
        "split_sizes": {"train": 700, "val": 150, "test": 150},
        "data": {"path": "/d/fruit.csv"},
        "preprocessing": {
            "kind": "table",
            "target": "label",
            "features": [{"name": "weight"}, {"name": "color"}],
        },
    }
    option = explore.run_option(summary, config)
    assert option.label == "Run 3 · early-stopped · 12 epochs · test accuracy 0.953"
    assert "best val accuracy 0.971 (epoch 9)" in option.detail
    assert "started 2025-01-01 12:00:00" in option.detail and "trained on cpu" in option.detail
    assert option.split_sizes == {"train": 700, "val": 150, "test": 150}
    assert (option.data_kind, option.data_path) == ("table", "/d/fruit.csv")
    assert option.features == ("weight", "color") and option.target == "label"
    bare = explore.run_option(summary, {})
    assert bare.split_sizes is None and bare.data_kind == "" and bare.features == ()


# --- results ---------------------------------------------------------------------------------------


def test_headline_figures_of_classification_and_regression():
    figures = {f.name: f.value for f in headline(classification())}
    assert list(figures) == [
        "accuracy",
        "top-2 accuracy",
        "macro F1",
        "ROC AUC",
        "log loss",
        "calibration error",
    ]
    assert figures["accuracy"] == f"{4 / 6:.3f}"
    ev = classification()
    ev.metrics = classification_metrics(ev.y_true, ev.proba, top_k=3)
    assert "top-3 accuracy" not in [f.name for f in headline(ev)]  # 3 of 3 classes: always 1
    reg = {f.name: f.value for f in headline(regression())}
    assert list(reg) == ["MAE", "RMSE", "R²"]
    assert reg["MAE"] == f"{(0.5 + 0 + 2 + 0.1) / 4:.3f}"


def test_cell_caption_says_right_or_wrong():
    ev = classification()
    assert cell_caption(ev, 0, 0, 3) == "“cat” predicted correctly: 3 samples"
    assert cell_caption(ev, 2, 1, 1) == "“eel” predicted as “dog”: 1 sample"


def test_sample_rows_of_a_cell_hold_labels_and_probabilities_in_order():
    ev = classification()
    idx = ev.cell_samples(0, 1)  # true cat, predicted dog: sample 3
    rows = sample_rows(ev, idx)
    assert rows.columns == [
        "file",
        "true",
        "predicted",
        "confidence",
        "p(true)",
        "p(cat)",
        "p(dog)",
        "p(eel)",
    ]
    assert rows.values == [["3.png", "cat", "dog", 0.6, 0.3, 0.3, 0.6, 0.1]]
    assert rows.correct == [False]
    assert rows.columns[rows.sort_column] == "confidence"
    assert "p(dog) = 0.600" in rows.tips[0] and "/data/cat/3.png" in rows.tips[0]
    mistakes = sample_rows(ev, explore.all_mistakes(ev))
    assert [v[0] for v in mistakes.values] == ["4.png", "3.png"]  # the more confident first


def test_sample_rows_of_regression_sort_by_the_absolute_error():
    ev = regression()
    rows = sample_rows(ev, explore.by_error(ev))
    assert rows.columns == ["row", "true", "predicted", "error", "|error|"]
    assert [v[0] for v in rows.values] == [8, 3, 9, 5]
    assert rows.values[0] == [8, 3.0, 1.0, 2.0, 2.0]
    assert rows.columns[rows.sort_column] == "|error|" and rows.correct == []


def test_sample_rows_are_cut_at_the_limit():
    n = MAX_LISTED + 5
    t = np.zeros((n, 1))
    ev = Evaluation(
        "regression",
        "r",
        "test",
        ["y"],
        list(range(n)),
        t,
        t + 1,
        None,
        regression_metrics(t, t + 1),
    )
    rows = sample_rows(ev, np.arange(n))
    assert len(rows.values) == MAX_LISTED and len(rows.indices) == MAX_LISTED
    assert explore.shown_note(MAX_LISTED, n) == f"(the first {MAX_LISTED:,} of {n:,} are listed)"
    assert explore.shown_note(3, 3) == ""


def test_table_rows_give_each_rows_feature_values(tmp_path: Path):
    csv = tmp_path / "t.csv"
    csv.write_text("w,color,label\n1.5,red,a\n,green,b\n3,,a\n", encoding="utf-8")
    rows = explore.read_table_rows(csv, (), target="label")
    assert rows.columns == ["w", "color"]
    assert rows.cells([1, 2, 3, 99]) == [[1.5, "red"], ["", "green"], [3.0, ""], ["", ""]]
    picked = TableRows(read_table(csv), ["color", "missing"])
    assert picked.columns == ["color"]
    ev = regression()
    ev.ids = [1, 2, 3, 1]
    with_features = sample_rows(ev, [0], picked)
    assert with_features.columns[-1] == "color" and with_features.values[0][-1] == "red"


# --- figures -------------------------------------------------------------------------------------------


def test_curves_to_draw_keeps_the_hardest_classes_in_class_order():
    curves = {
        c: Curve(np.zeros(2), np.zeros(2), np.zeros(2), area)
        for c, area in enumerate([0.9, 0.5, 0.7, 0.99])
    }
    assert curves_to_draw(curves) == [0, 1, 2, 3]
    assert curves_to_draw(curves, limit=2) == [1, 2]


def test_cell_labels_and_the_text_colour_on_a_cell():
    assert cell_label(1234, 0.5, normalized=False) == "1,234"
    assert cell_label(3, 0.456, normalized=True) == "46%"
    assert cell_label(0, 0.0, normalized=True) == "0"
    assert text_color_on((255, 255, 255)) == "dark"
    assert text_color_on((37, 99, 235)) == "light"  # the accent blue
    assert text_color_on((42, 43, 47)) == "light"  # the dark theme's panel


def test_tick_step_keeps_labels_readable():
    assert tick_step(5) == 1
    assert tick_step(24) == 1
    assert tick_step(100) == 5


def test_nearest_point_measures_in_pixels_and_ignores_far_clicks():
    xs = np.array([0.0, 10.0, 0.0])
    ys = np.array([0.0, 0.0, 1.0])
    # 1 px per x unit, 100 px per y unit: 0.1 in y is 10 px, 9 in x is 9 px
    assert nearest_point(xs, ys, 0.0, 0.1, px_per_x=1.0, px_per_y=100.0) == 0
    assert nearest_point(xs, ys, 0.0, 0.95, px_per_x=1.0, px_per_y=100.0) == 2
    assert nearest_point(xs, ys, 9.0, 0.02, px_per_x=1.0, px_per_y=100.0) == 1
    assert nearest_point(xs, ys, 0.0, 0.5, px_per_x=1.0, px_per_y=100.0) is None
    assert nearest_point(np.zeros(0), np.zeros(0), 0, 0, 1, 1) is None


def test_histogram_counts_every_finite_value():
    values = np.array([0.0, 0.1, 0.2, 5.0, math.nan])
    counts, edges = histogram(values)
    assert counts.sum() == 4 and len(edges) == len(counts) + 1
    assert edges[0] == pytest.approx(0.0) and edges[-1] == pytest.approx(5.0)
    flat, flat_edges = histogram(np.array([2.0, 2.0]))
    assert flat.sum() == 2 and flat_edges[0] < 2.0 < flat_edges[-1]
