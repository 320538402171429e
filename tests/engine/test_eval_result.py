"""The evaluation result: its JSON, its record, its predictions CSV, a cell's samples."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from workbench.engine.evaluation.metrics import classification_metrics, regression_metrics
from workbench.engine.evaluation.result import Evaluation, EvaluationError


def classified() -> Evaluation:
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.7, 0.3]])
    y = np.array([0, 1, 1, 1])
    return Evaluation(
        task="classification",
        run="r1",
        split="test",
        labels=["cat", "dog"],
        ids=["a.png", "b.png", "c.png", "d.png"],
        y_true=y,
        y_pred=proba.argmax(1),
        proba=proba,
        metrics=classification_metrics(y, proba, top_k=5),
        checkpoint="best.pt",
        epoch=3,
    )


def test_the_json_document_and_the_record() -> None:
    doc = classified().to_json_dict()
    # dog: tp 1 of 1 predicted, 3 true; cat: tp 1 of 3 predicted, 1 true
    assert doc == {
        "task": "classification",
        "run": "r1",
        "split": "test",
        "num_samples": 4,
        "accuracy": 0.5,
        "top_k_accuracy": 1.0,
        "macro_f1": pytest.approx((0.5 + 0.5) / 2),
        "weighted_f1": pytest.approx((0.5 * 1 + 0.5 * 3) / 4),
        "log_loss": pytest.approx(
            -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.3)) / 4
        ),
        "labels": ["cat", "dog"],
        "confusion_matrix": [[1, 0], [2, 1]],
        "per_class": {
            "cat": {"precision": pytest.approx(1 / 3), "recall": 1.0, "f1": 0.5, "support": 1},
            "dog": {"precision": 1.0, "recall": pytest.approx(1 / 3), "f1": 0.5, "support": 3},
        },
        # dog's scores 0.8, 0.4, 0.3 against cat's 0.1: every pair ranked right
        "roc_auc": 1.0,
    }
    record = classified().record()
    assert list(record) == [
        "split",
        "num_samples",
        "accuracy",
        "top_k_accuracy",
        "macro_f1",
        "weighted_f1",
        "log_loss",
        "roc_auc",
        "top_k",
        "ece",
        "checkpoint",
        "weights_epoch",
    ]
    assert record["top_k"] == 2 and record["weights_epoch"] == 3


def test_a_cells_samples_most_confident_first() -> None:
    ev = classified()
    # true dog predicted cat: c (p 0.6) and d (p 0.7)
    assert [ev.ids[i] for i in ev.cell_samples(1, 0)] == ["d.png", "c.png"]
    assert ev.cell_samples(0, 1).tolist() == []
    assert [ev.ids[i] for i in ev.classification.mistakes] == ["d.png", "c.png"]


def test_the_predictions_csv(tmp_path: Path) -> None:
    out = tmp_path / "p.csv"
    out.write_text("old")
    classified().write_predictions_csv(out)
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["sample", "true", "predicted", "p_cat", "p_dog"]
    assert rows[3] == ["c.png", "dog", "cat", "0.6", "0.4"]
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]  # no temporary file left
    with pytest.raises(EvaluationError, match="cannot be written") as info:
        classified().write_predictions_csv(tmp_path / "missing" / "p.csv")
    assert "\n" not in str(info.value)


def test_regression_with_two_targets(tmp_path: Path) -> None:
    t = np.array([[1.0, 10.0], [2.0, 20.0]])
    p = np.array([[1.5, 10.0], [2.0, 19.0]])
    ev = Evaluation(
        task="regression",
        run="r2",
        split="val",
        labels=["y0", "y1"],
        ids=[4, 9],
        y_true=t,
        y_pred=p,
        proba=None,
        metrics=regression_metrics(t, p),
        id_label="index",
    )
    assert ev.to_json_dict() == {
        "task": "regression",
        "run": "r2",
        "split": "val",
        "num_samples": 2,
        "mae": pytest.approx(1.5 / 4),
        "rmse": pytest.approx(math.sqrt(1.25 / 4)),
        # y0: SS_res 0.25 of SS_tot 0.5; y1: 1 of 50
        "r2": pytest.approx(((1 - 0.5) + (1 - 1 / 50)) / 2),
    }
    header, rows = ev.prediction_rows()
    assert header == ["sample", "true_y0", "true_y1", "predicted_y0", "predicted_y1"]
    assert rows[0] == [4, "1", "10", "1.5", "10"]
    text = "\n".join(ev.summary_lines())
    assert "largest errors:\n  index 9: true 2, 20, predicted 2, 19" in text
    with pytest.raises(TypeError):
        _ = ev.confidence
