"""Evaluation metrics against values worked out by hand (workbench.engine.evaluation.metrics)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from workbench.engine.evaluation.metrics import (
    EPS,
    calibration,
    classification_metrics,
    confusion_matrix,
    normalize_rows,
    per_class_scores,
    precision_recall_curve,
    r2_score,
    regression_metrics,
    roc_curve,
    top_k_accuracy,
)


def one_hot(pred: list[int], classes: int, p: float = 0.7) -> np.ndarray:
    """Probabilities with ``p`` on the predicted class and the rest shared evenly."""
    out = np.full((len(pred), classes), (1 - p) / (classes - 1))
    out[np.arange(len(pred)), pred] = p
    return out


# --- per class, with a class never predicted and one that never occurs ----------------------


def test_a_class_never_predicted_and_one_never_occurring() -> None:
    # Four classes. Class 2 occurs twice but is never predicted; class 3 never occurs but
    # is predicted once.
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = [0, 1, 1, 1, 3, 0]
    # Confusion (rows true, columns predicted):
    #   0: [1, 1, 0, 0]   1: [0, 2, 0, 0]   2: [1, 0, 0, 1]   3: [0, 0, 0, 0]
    # class 0: tp 1 of 2 predicted, 2 true -> P 1/2, R 1/2, F1 1/2, support 2
    # class 1: tp 2 of 3 predicted, 2 true -> P 2/3, R 1,   F1 2*(2/3)/(5/3) = 4/5
    # class 2: never predicted             -> P 0 (zero_division), R 0/2 = 0, F1 0
    # class 3: never occurs                -> P 0/1 = 0, R 0 (zero_division), F1 0, support 0
    # macro over all four labels: P (1/2 + 2/3)/4 = 7/24, R (1/2 + 1)/4 = 3/8, F1 (1/2 + 4/5)/4 = 13/40
    # weighted by support (2, 2, 2, 0) of 6: P (1 + 4/3)/6 = 7/18, R 3/6 = 1/2, F1 2.6/6 = 13/30
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning for the zero divisions
        m = classification_metrics(y_true, one_hot(y_pred, 4))
    assert m.confusion.tolist() == [[1, 1, 0, 0], [0, 2, 0, 0], [1, 0, 0, 1], [0, 0, 0, 0]]
    pc = m.per_class
    assert pc.precision == pytest.approx([1 / 2, 2 / 3, 0, 0])
    assert pc.recall == pytest.approx([1 / 2, 1, 0, 0])
    assert pc.f1 == pytest.approx([1 / 2, 4 / 5, 0, 0])
    assert pc.support.tolist() == [2, 2, 2, 0]
    assert pc.macro == pytest.approx({"precision": 7 / 24, "recall": 3 / 8, "f1": 13 / 40})
    assert pc.weighted == pytest.approx({"precision": 7 / 18, "recall": 1 / 2, "f1": 13 / 30})
    assert m.accuracy == pytest.approx(3 / 6)
    # row-normalised: each row over its count; the absent class's row stays zero
    assert m.confusion_normalized.tolist() == [
        [0.5, 0.5, 0, 0],
        [0, 1, 0, 0],
        [0.5, 0, 0, 0.5],
        [0, 0, 0, 0],
    ]
    # ROC: class 3 has no positive sample, so it has no curve and is left out of the mean
    assert m.roc_skipped == [3] and sorted(m.roc) == [0, 1, 2]


def test_a_perfect_classifier() -> None:
    y = np.array([0, 1, 2, 2, 1, 0])
    proba = np.eye(3)[y]
    m = classification_metrics(y, proba, top_k=2)
    assert m.accuracy == 1 and m.top_k_accuracy == 1
    assert m.per_class.macro == {"precision": 1, "recall": 1, "f1": 1}
    assert m.confusion.tolist() == [[2, 0, 0], [0, 2, 0], [0, 0, 2]]
    assert m.roc_auc == 1 and m.average_precision == 1
    # p(true) = 1 is clipped to 1 - 1e-15, so the log loss is -log(1 - 1e-15) ~ 1e-15
    assert m.log_loss == pytest.approx(-math.log(1 - EPS), abs=1e-18)
    assert m.reliability.ece == 0 and len(m.mistakes) == 0


def test_a_constant_classifier() -> None:
    # Always the same probabilities (0.5, 0.3, 0.2): always class 0.
    y = np.array([0, 1, 2, 0])
    proba = np.tile([0.5, 0.3, 0.2], (4, 1))
    m = classification_metrics(y, proba, top_k=2)
    assert m.accuracy == 0.5
    assert m.confusion.tolist() == [[2, 0, 0], [1, 0, 0], [1, 0, 0]]
    # top 2 is always {0, 1}: right for the classes 0, 1, 0 -> 3 of 4
    assert m.top_k_accuracy == 0.75
    # class 0: P 2/4, R 1, F1 2/3; classes 1 and 2 never predicted: 0
    assert m.per_class.f1 == pytest.approx([2 / 3, 0, 0])
    assert m.per_class.macro["f1"] == pytest.approx(2 / 9)
    # every score is tied: each one-vs-rest curve is the diagonal, AUC 1/2
    assert m.roc_auc == pytest.approx(0.5)
    assert all(c.area == pytest.approx(0.5) for c in m.roc.values())
    # log loss: -(2 log 0.5 + log 0.3 + log 0.2) / 4
    assert m.log_loss == pytest.approx(-(2 * math.log(0.5) + math.log(0.3) + math.log(0.2)) / 4)
    # every confidence is 0.5 (bin (0.4, 0.5]) and half of the answers are right: ECE 0
    assert m.reliability.counts.tolist() == [0, 0, 0, 0, 4, 0, 0, 0, 0, 0]
    assert m.reliability.ece == pytest.approx(0.0)
    # the two mistakes, equally confident, in sample order
    assert m.mistakes.tolist() == [1, 2]


# --- curves -------------------------------------------------------------------------------------


def test_binary_roc_auc_and_average_precision_by_hand() -> None:
    # Negatives score 0.1 and 0.4, positives 0.35 and 0.8. Of the 4 (positive, negative)
    # pairs the positive ranks higher in 3: (0.35, 0.1), (0.8, 0.1), (0.8, 0.4) -> AUC 3/4.
    y = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    roc = roc_curve(y == 1, p1)
    assert roc is not None and roc.area == pytest.approx(0.75)
    # thresholds 0.8, 0.4, 0.35, 0.1 pass (0 fp, 1 tp), (1, 1), (1, 2), (2, 2)
    assert roc.x.tolist() == [0, 0, 0.5, 0.5, 1]
    assert roc.y.tolist() == [0, 0.5, 0.5, 1, 1]
    # precision at those thresholds 1, 1/2, 2/3, 1/2 with recall 1/2, 1/2, 1, 1:
    # AP = 1/2 * 1 + 0 * 1/2 + 1/2 * 2/3 + 0 * 1/2 = 5/6
    pr = precision_recall_curve(y == 1, p1)
    assert pr is not None and pr.area == pytest.approx(5 / 6)
    # the same through the two-class metrics: the curve of the second class
    m = classification_metrics(y, np.stack([1 - p1, p1], axis=1))
    assert m.roc_auc == pytest.approx(0.75) and list(m.roc) == [1]


def test_binary_roc_auc_counts_a_tie_as_half() -> None:
    # positives 0.5 and 0.9, negatives 0.5 and 0.2: pairs 1/2 (tie) + 1 + 1 + 1 of 4 -> 7/8
    roc = roc_curve(np.array([False, True, False, True]), np.array([0.5, 0.5, 0.2, 0.9]))
    assert roc is not None and roc.area == pytest.approx(7 / 8)


def test_multiclass_one_vs_rest_auc_by_hand() -> None:
    proba = np.array(
        [
            [0.6, 0.3, 0.1],  # true 0
            [0.2, 0.5, 0.3],  # true 1
            [0.3, 0.4, 0.3],  # true 2
            [0.5, 0.25, 0.25],  # true 1
        ]
    )
    y = np.array([0, 1, 2, 1])
    # class 0: positive 0.6 above every negative (0.2, 0.3, 0.5)                     -> 1
    # class 1: positives 0.5, 0.25 against negatives 0.3, 0.4: 0.5 wins both, 0.25 none -> 2/4
    # class 2: positive 0.3 against 0.1 (win), 0.3 (tie, 1/2), 0.25 (win)            -> 2.5/3
    # macro: (1 + 1/2 + 5/6) / 3 = 7/9
    m = classification_metrics(y, proba)
    assert m.roc[0].area == pytest.approx(1)
    assert m.roc[1].area == pytest.approx(0.5)
    assert m.roc[2].area == pytest.approx(5 / 6)
    assert m.roc_auc == pytest.approx(7 / 9) and m.roc_skipped == []


def test_a_class_absent_from_the_split_is_left_out_of_the_auc() -> None:
    proba = np.array([[0.7, 0.2, 0.1], [0.4, 0.5, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1]])
    y = np.array([0, 1, 1, 0])
    m = classification_metrics(y, proba)
    # class 0: positives 0.7, 0.6 above negatives 0.4, 0.3 -> 1; class 1 likewise -> 1
    assert m.roc_skipped == [2] and sorted(m.roc) == [0, 1]
    assert m.roc_auc == pytest.approx(1.0)


def test_a_split_of_one_class_has_no_auc() -> None:
    m = classification_metrics(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]))
    assert math.isnan(m.roc_auc) and m.roc_skipped == [1]


# --- the other figures ------------------------------------------------------------------------


def test_calibration_by_hand() -> None:
    # confidences 0.95, 0.95 (one right) and 0.65, 0.65 (both right):
    # bin (0.9, 1]: |1/2 - 0.95| = 0.45, bin (0.6, 0.7]: |1 - 0.65| = 0.35, each half the samples
    proba = np.array([[0.95, 0.05], [0.95, 0.05], [0.35, 0.65], [0.35, 0.65]])
    rel = calibration(np.array([0, 1, 1, 1]), proba)
    assert rel.counts.tolist() == [0, 0, 0, 0, 0, 0, 2, 0, 0, 2]
    assert rel.accuracy[9] == 0.5 and rel.confidence[9] == pytest.approx(0.95)
    assert math.isnan(rel.accuracy[0])
    assert rel.ece == pytest.approx(0.5 * 0.45 + 0.5 * 0.35)


def test_top_k_and_the_confusion_matrix() -> None:
    proba = np.array([[0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.3, 0.4, 0.3]])
    y = np.array([1, 0, 2])
    assert top_k_accuracy(y, proba, 1) == 0
    # top 2: {0, 1} holds 1; {2, 1} lacks 0; {1, 0} lacks 2 (the tie of 0 and 2 goes to 0)
    assert top_k_accuracy(y, proba, 2) == pytest.approx(1 / 3)
    assert top_k_accuracy(y, proba, 3) == 1
    cm = confusion_matrix(np.array([0, 0, 1]), np.array([1, 1, 1]), 3)
    assert cm.tolist() == [[0, 2, 0], [0, 1, 0], [0, 0, 0]]
    assert normalize_rows(cm)[0].tolist() == [0, 1, 0]
    assert per_class_scores(cm).support.tolist() == [2, 1, 0]


def test_log_loss_renormalises_sigmoid_scores() -> None:
    # scores (0.6, 0.2) become (0.75, 0.25): -log 0.75
    m = classification_metrics(np.array([0]), np.array([[0.6, 0.2]]))
    assert m.log_loss == pytest.approx(-math.log(0.75))


# --- regression -------------------------------------------------------------------------------


def test_r2_of_a_constant_predictor() -> None:
    y = np.array([1.0, 2.0, 3.0, 6.0])  # mean 3, SS_tot = 4 + 1 + 0 + 9 = 14
    at_mean = regression_metrics(y, np.full(4, 3.0))
    assert at_mean.r2 == pytest.approx(0.0)  # SS_res = SS_tot
    assert at_mean.mae == pytest.approx((2 + 1 + 0 + 3) / 4)
    assert at_mean.rmse == pytest.approx(math.sqrt(14 / 4))
    # a constant 4: SS_res = 9 + 4 + 1 + 4 = 18 -> 1 - 18/14 = -2/7
    assert regression_metrics(y, np.full(4, 4.0)).r2 == pytest.approx(-2 / 7)
    assert regression_metrics(y, y).r2 == 1.0


def test_r2_of_a_constant_truth() -> None:
    y = np.array([2.0, 2.0, 2.0])
    assert regression_metrics(y, y.copy()).r2 == 1.0  # predicted exactly
    assert regression_metrics(y, np.array([1.0, 2.0, 3.0])).r2 == 0.0


def test_residuals_largest_errors_and_several_targets() -> None:
    t = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]])
    p = np.array([[1.5, 10.0], [2.0, 25.0], [0.0, 30.0]])
    m = regression_metrics(t, p)
    assert m.residuals.tolist() == [[-0.5, 0.0], [0.0, -5.0], [3.0, 0.0]]
    assert m.largest_errors.tolist() == [1, 2, 0]  # |errors| 5, 3, 0.5
    assert m.mae == pytest.approx((0.5 + 5 + 3) / 6)
    # per target: SS_tot 2 and 200; SS_res 0.25 + 9 and 25
    assert m.r2_per_target == pytest.approx([1 - 9.25 / 2, 1 - 25 / 200])
    assert m.r2 == pytest.approx(((1 - 9.25 / 2) + (1 - 25 / 200)) / 2)
    assert r2_score(t, p) == pytest.approx(m.r2_per_target)


# --- against scikit-learn, where it is installed --------------------------------------------------


def test_agrees_with_scikit_learn() -> None:
    skm = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(200, 4))
    proba = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    y = rng.integers(0, 4, 200)
    y[y == 3] = 2  # class 3 never occurs
    m = classification_metrics(y, proba, top_k=2)
    labels = [0, 1, 2, 3]
    pred = proba.argmax(1)
    p, r, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    assert m.per_class.precision == pytest.approx(p) and m.per_class.f1 == pytest.approx(f)
    assert m.per_class.macro["f1"] == pytest.approx(
        skm.f1_score(y, pred, labels=labels, average="macro", zero_division=0)
    )
    assert m.per_class.weighted["f1"] == pytest.approx(
        skm.f1_score(y, pred, labels=labels, average="weighted", zero_division=0)
    )
    assert m.log_loss == pytest.approx(skm.log_loss(y, proba, labels=labels))
    assert m.top_k_accuracy == pytest.approx(skm.top_k_accuracy_score(y, proba, k=2, labels=labels))
    for c, curve in m.roc.items():
        assert curve.area == pytest.approx(skm.roc_auc_score(y == c, proba[:, c]))
    for c, curve in m.pr.items():
        assert curve.area == pytest.approx(skm.average_precision_score(y == c, proba[:, c]))
    t = rng.normal(size=(50, 2))
    q = t + rng.normal(scale=0.3, size=(50, 2))
    assert regression_metrics(t, q).r2 == pytest.approx(skm.r2_score(t, q))
