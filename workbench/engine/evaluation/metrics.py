"""Evaluation metrics of a whole split, in plain numpy (no torch): what the Evaluate tab,
``workbench evaluate`` and a report show.

Conventions (those of scikit-learn, which is not a dependency):

* Per-class precision, recall and F1 use ``zero_division=0``: a class that is never
  predicted has precision 0, a class absent from the split has recall 0 and support 0,
  without a warning. The macro means run over **every** label of the model (a class
  absent from the split and never predicted counts with 0); the weighted means weight
  each class by its support, so absent classes do not count.
* ROC curves and AUC: for two classes, the curve of the second class (its probability
  as the score); for more, one curve per class against the rest and the macro mean of
  their AUCs. A class with no positive or no negative sample in the split has no curve
  and is left out of the mean (:attr:`ClassificationMetrics.roc_skipped` names it); with
  none left the AUC is undefined (NaN).
* Average precision is the step-wise area under the precision-recall curve,
  ``sum((R[n] - R[n-1]) * P[n])`` over the thresholds (no interpolation).
* Log loss: the probabilities are renormalised to sum to 1 per sample, clipped to
  ``[1e-15, 1 - 1e-15]``, and the mean of ``-log p(true class)`` taken.
* Calibration: the top probability of each sample (its confidence) falls into one of
  ``bins`` equal-width bins, ``(lo, hi]`` (0 goes to the first); the expected
  calibration error is ``sum(n_b / N * |accuracy_b - confidence_b|)``.
* Regression: MAE and RMSE over every target value; R² per target, then averaged. R² is
  ``1 - SS_res / SS_tot``: predicting the truth's mean everywhere scores 0. A target whose
  true values are all equal (``SS_tot = 0``) scores 1 when predicted exactly and 0
  otherwise (scikit-learn's ``force_finite``). Residuals are ``true - predicted``.

Multi-label targets (a 0/1 column per class) are not covered: no dataset reader makes
them (one-hot rows are read as class indices).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

#: Probabilities are clipped to [EPS, 1 - EPS] for the log loss.
EPS = 1e-15
#: Bins of the reliability diagram.
CALIBRATION_BINS = 10


# --- classification: single numbers and tables ---------------------------------------------


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """The share of samples whose predicted class is the true one (NaN for no samples)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    return float(np.mean(y_true == y_pred)) if len(y_true) else math.nan


def top_k_accuracy(y_true: np.ndarray, proba: np.ndarray, k: int) -> float:
    """The share of samples whose true class is among the ``k`` most probable ones.

    Ties are broken by class order (the lower index ranks first).
    """
    y_true, proba = np.asarray(y_true), np.asarray(proba)
    if len(y_true) == 0:
        return math.nan
    k = max(1, min(int(k), proba.shape[1]))
    top = np.argsort(-proba, axis=1, kind="stable")[:, :k]
    return float(np.mean((top == y_true[:, None]).any(axis=1)))


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``(num_classes, num_classes)``: row = true class, column = predicted class."""
    y_true = np.asarray(y_true, dtype=np.int64)
    y_pred = np.asarray(y_pred, dtype=np.int64)
    flat = y_true * num_classes + y_pred
    return np.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def normalize_rows(confusion: np.ndarray) -> np.ndarray:
    """The confusion matrix with each row divided by its sum (a row of zeros stays zeros)."""
    cm = np.asarray(confusion, dtype=np.float64)
    sums = cm.sum(axis=1, keepdims=True)
    return np.divide(cm, sums, out=np.zeros_like(cm), where=sums > 0)


@dataclass
class PerClass:
    """Precision, recall, F1 and support of every class, and their macro and weighted means."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray  # int64
    macro: dict[str, float]
    weighted: dict[str, float]


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def per_class_scores(confusion: np.ndarray) -> PerClass:
    """Per-class scores from a confusion matrix (see the module's conventions)."""
    cm = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(cm)
    predicted = cm.sum(axis=0)
    support = cm.sum(axis=1)
    precision = _safe_divide(tp, predicted)
    recall = _safe_divide(tp, support)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    total = support.sum()

    def weighted(v: np.ndarray) -> float:
        return float(np.dot(v, support) / total) if total > 0 else math.nan

    return PerClass(
        precision=precision,
        recall=recall,
        f1=f1,
        support=support.astype(np.int64),
        macro={
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
        },
        weighted={
            "precision": weighted(precision),
            "recall": weighted(recall),
            "f1": weighted(f1),
        },
    )


def log_loss(y_true: np.ndarray, proba: np.ndarray, eps: float = EPS) -> float:
    """Mean negative log-probability of the true class (see the module's conventions)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    p = np.asarray(proba, dtype=np.float64)
    if len(y_true) == 0:
        return math.nan
    sums = p.sum(axis=1, keepdims=True)
    p = np.divide(p, sums, out=np.full_like(p, 1.0 / p.shape[1]), where=sums > 0)
    true_p = np.clip(p[np.arange(len(y_true)), y_true], eps, 1 - eps)
    return float(-np.mean(np.log(true_p)))


# --- curves --------------------------------------------------------------------------------


@dataclass
class Curve:
    """A curve of one class against the rest: points and the threshold of each point."""

    x: np.ndarray
    y: np.ndarray
    thresholds: np.ndarray
    #: The area under it: ROC AUC, or the average precision.
    area: float


def _cumulative_counts(
    positive: np.ndarray, scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True and false positives at each distinct threshold, highest threshold first."""
    positive = np.asarray(positive, dtype=bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    hits = positive[order].astype(np.int64)
    # the last sample of each run of equal scores: tied samples cross the threshold together
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.cumsum(hits)[last]
    fps = last + 1 - tps
    return tps, fps, s[last]


def _trapezoid(x: np.ndarray, y: np.ndarray) -> float:
    """The area under the polyline through the points (numpy 1.26 has no np.trapezoid)."""
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def roc_curve(positive: np.ndarray, scores: np.ndarray) -> Curve | None:
    """False and true positive rates over all thresholds, from (0, 0) to (1, 1).

    Returns None when the samples hold no positive or no negative (the curve is undefined).
    """
    if len(positive) == 0:
        return None
    tps, fps, thresholds = _cumulative_counts(positive, scores)
    p, n = tps[-1], fps[-1]
    if p == 0 or n == 0:
        return None
    fpr = np.r_[0.0, fps / n]
    tpr = np.r_[0.0, tps / p]
    return Curve(fpr, tpr, np.r_[np.inf, thresholds], _trapezoid(fpr, tpr))


def precision_recall_curve(positive: np.ndarray, scores: np.ndarray) -> Curve | None:
    """Recall (x) and precision (y) over all thresholds, starting at recall 0, precision 1.

    ``area`` is the average precision. Returns None when no sample is positive.
    """
    if len(positive) == 0:
        return None
    tps, fps, thresholds = _cumulative_counts(positive, scores)
    p = tps[-1]
    if p == 0:
        return None
    precision = tps / (tps + fps)
    recall = tps / p
    ap = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return Curve(np.r_[0.0, recall], np.r_[1.0, precision], np.r_[np.inf, thresholds], ap)


def one_vs_rest(
    y_true: np.ndarray, proba: np.ndarray, kind: str = "roc"
) -> tuple[dict[int, Curve], list[int]]:
    """The ``roc`` or ``pr`` curve of every class against the rest.

    With two classes only the second class's curve is drawn (the first's is its mirror).

    Returns:
        ``(curves, skipped)``: the curves by class index, and the classes without one (no
        positive sample in the split, or for ROC no negative).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    make = roc_curve if kind == "roc" else precision_recall_curve
    classes = [1] if proba.shape[1] == 2 else range(proba.shape[1])
    curves: dict[int, Curve] = {}
    skipped: list[int] = []
    for c in classes:
        curve = make(y_true == c, proba[:, c])
        if curve is None:
            skipped.append(c)
        else:
            curves[c] = curve
    return curves, skipped


def mean_area(curves: dict[int, Curve]) -> float:
    """The macro mean of the curves' areas (NaN when there is none)."""
    return float(np.mean([c.area for c in curves.values()])) if curves else math.nan


# --- calibration ---------------------------------------------------------------------------


@dataclass
class Reliability:
    """A reliability diagram: per confidence bin, the samples, their mean confidence and accuracy."""

    edges: np.ndarray  # bins + 1 edges from 0 to 1
    counts: np.ndarray  # int64
    confidence: np.ndarray  # NaN for an empty bin
    accuracy: np.ndarray  # NaN for an empty bin
    #: The expected calibration error.
    ece: float


def calibration(y_true: np.ndarray, proba: np.ndarray, bins: int = CALIBRATION_BINS) -> Reliability:
    """Reliability bins of the top-class confidence and the expected calibration error."""
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    n = len(y_true)
    edges = np.linspace(0.0, 1.0, bins + 1)
    if n == 0:
        empty = np.full(bins, math.nan)
        return Reliability(edges, np.zeros(bins, np.int64), empty, empty.copy(), math.nan)
    conf = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(np.float64)
    which = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    conf_sum = np.bincount(which, weights=conf, minlength=bins)
    hit_sum = np.bincount(which, weights=correct, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(counts > 0, conf_sum / counts, math.nan)
        mean_acc = np.where(counts > 0, hit_sum / counts, math.nan)
    ece = float(np.sum(np.abs(hit_sum - conf_sum)) / n)
    return Reliability(edges, counts.astype(np.int64), mean_conf, mean_acc, ece)


# --- classification: everything at once ------------------------------------------------------


@dataclass
class ClassificationMetrics:
    """Every classification figure of one split (class indices refer to the labels' order)."""

    num_samples: int
    accuracy: float
    top_k: int
    top_k_accuracy: float
    confusion: np.ndarray  # counts, row = true, column = predicted
    confusion_normalized: np.ndarray  # rows sum to 1 (rows of absent classes are 0)
    per_class: PerClass
    log_loss: float
    roc: dict[int, Curve]
    #: Classes without a ROC curve: no positive or no negative sample in the split.
    roc_skipped: list[int]
    #: Binary: the second class's AUC; more classes: the macro mean over ``roc``.
    roc_auc: float
    pr: dict[int, Curve]
    pr_skipped: list[int]
    #: The macro mean of the average precisions in ``pr``.
    average_precision: float
    reliability: Reliability
    #: Indices of the wrongly predicted samples, the most confident first.
    mistakes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def ece(self) -> float:
        """The expected calibration error."""
        return self.reliability.ece


def classification_metrics(
    y_true: np.ndarray,
    proba: np.ndarray,
    top_k: int = 5,
    bins: int = CALIBRATION_BINS,
) -> ClassificationMetrics:
    """All classification metrics from true class indices and per-class probabilities.

    The predicted class is the most probable one (the lower index on a tie).
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    c = proba.shape[1]
    y_pred = proba.argmax(axis=1) if len(proba) else np.zeros(0, np.int64)
    cm = confusion_matrix(y_true, y_pred, c)
    roc, roc_skipped = one_vs_rest(y_true, proba, "roc")
    pr, pr_skipped = one_vs_rest(y_true, proba, "pr")
    k = max(1, min(int(top_k), c))
    return ClassificationMetrics(
        num_samples=len(y_true),
        accuracy=accuracy(y_true, y_pred),
        top_k=k,
        top_k_accuracy=top_k_accuracy(y_true, proba, k),
        confusion=cm,
        confusion_normalized=normalize_rows(cm),
        per_class=per_class_scores(cm),
        log_loss=log_loss(y_true, proba),
        roc=roc,
        roc_skipped=roc_skipped,
        roc_auc=mean_area(roc),
        pr=pr,
        pr_skipped=pr_skipped,
        average_precision=mean_area(pr),
        reliability=calibration(y_true, proba, bins),
        mistakes=confident_mistakes(y_true, proba),
    )


def confident_mistakes(y_true: np.ndarray, proba: np.ndarray) -> np.ndarray:
    """Indices of the wrongly predicted samples, by the predicted class's probability, highest first."""
    y_true = np.asarray(y_true, dtype=np.int64)
    proba = np.asarray(proba, dtype=np.float64)
    if len(y_true) == 0:
        return np.zeros(0, np.int64)
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != y_true)
    conf = proba[wrong, pred[wrong]]
    return wrong[np.argsort(-conf, kind="stable")].astype(np.int64)


# --- regression ------------------------------------------------------------------------------


@dataclass
class RegressionMetrics:
    """Every regression figure of one split; arrays are ``(N, targets)``."""

    num_samples: int
    mae: float
    rmse: float
    r2: float
    #: Per target.
    mae_per_target: np.ndarray
    rmse_per_target: np.ndarray
    r2_per_target: np.ndarray
    #: ``true - predicted``.
    residuals: np.ndarray
    #: Sample indices by absolute error (summed over the targets), largest first.
    largest_errors: np.ndarray


def r2_score(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """R² per target (columns) of ``(N, targets)`` arrays (see the module's conventions)."""
    t = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, np.float64).reshape(t.shape)
    ss_res = ((t - p) ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0) if len(t) else np.zeros(t.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ss_tot > 0, 1.0 - ss_res / ss_tot, np.where(ss_res == 0, 1.0, 0.0))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> RegressionMetrics:
    """MAE, RMSE, R², residuals and the largest errors of predicted against true values."""
    t = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, np.float64).reshape(t.shape)
    n = len(t)
    residuals = t - p
    if n == 0:
        nan = np.full(t.shape[1], math.nan)
        return RegressionMetrics(
            0, math.nan, math.nan, math.nan, nan, nan, nan, residuals, np.zeros(0, np.int64)
        )
    abs_err = np.abs(residuals)
    mae_t = abs_err.mean(axis=0)
    rmse_t = np.sqrt((residuals**2).mean(axis=0))
    r2_t = r2_score(t, p)
    return RegressionMetrics(
        num_samples=n,
        mae=float(abs_err.mean()),
        rmse=float(math.sqrt((residuals**2).mean())),
        r2=float(r2_t.mean()),
        mae_per_target=mae_t,
        rmse_per_target=rmse_t,
        r2_per_target=r2_t,
        residuals=residuals,
        largest_errors=np.argsort(-abs_err.sum(axis=1), kind="stable").astype(np.int64),
    )


__all__ = [
    "CALIBRATION_BINS",
    "EPS",
    "ClassificationMetrics",
    "Curve",
    "PerClass",
    "RegressionMetrics",
    "Reliability",
    "accuracy",
    "calibration",
    "classification_metrics",
    "confident_mistakes",
    "confusion_matrix",
    "log_loss",
    "mean_area",
    "normalize_rows",
    "one_vs_rest",
    "per_class_scores",
    "precision_recall_curve",
    "r2_score",
    "regression_metrics",
    "roc_curve",
    "top_k_accuracy",
]
