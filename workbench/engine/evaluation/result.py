"""The result of evaluating a run on a split, torch-free: per-sample results, the metrics,
their JSON form, the predictions CSV and the lines ``workbench evaluate`` prints.

:class:`Evaluation` is what a report writer, the Evaluate tab and the command line read;
it is made by :mod:`workbench.engine.evaluation.run`.
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.fileio import atomic_write_text, os_error_text
from workbench.engine.config import TrainError
from workbench.engine.evaluation.metrics import ClassificationMetrics, RegressionMetrics

SPLITS = ("test", "val", "train")
#: Rows of the per-class table and of the confusion matrix ``summary_lines`` prints in full.
MAX_PRINTED_CLASSES = 20


class EvaluationError(TrainError):
    """An evaluation that cannot be done; the one-line message says why."""


class EvaluationCancelled(Exception):
    """The evaluation was cancelled (``cancelled()`` turned true between two batches)."""


def _number(v: Any) -> float | None:
    """A float for JSON: NaN and infinities become None."""
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _fmt(v: float | None, digits: int = 4) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}f}"


@dataclass
class Evaluation:
    """One run evaluated on one split, sample by sample.

    Sample ``i`` is ``ids[i]`` (its file path for images, its 1-based data row for
    tables, its index into x for arrays), with true value ``y_true[i]`` and prediction
    ``y_pred[i]``; classification also has ``proba[i]`` (one probability per label).
    """

    task: str  # classification or regression
    run: str | None
    split: str
    #: Class names (classification), or the names of the regression targets.
    labels: list[str]
    ids: list[Any]
    #: Class indices ``(N,)`` int64, or targets ``(N, k)`` float64.
    y_true: np.ndarray
    #: Predicted class indices ``(N,)`` int64, or predicted values ``(N, k)`` float64.
    y_pred: np.ndarray
    #: ``(N, classes)`` float64 probabilities (classification), else None.
    proba: np.ndarray | None
    metrics: ClassificationMetrics | RegressionMetrics
    #: The checkpoint evaluated (``best.pt`` unless the run has none) and its epoch.
    checkpoint: str | None = None
    epoch: int | None = None
    device: str = "cpu"
    seconds: float = 0.0
    #: What an id is, for the words: ``row`` (tables), ``index`` (arrays), "" (file paths).
    id_label: str = ""
    #: What the user should know: a dataset changed since the run, a fallback checkpoint…
    notes: list[str] = field(default_factory=list)

    @property
    def num_samples(self) -> int:
        """The samples evaluated."""
        return len(self.ids)

    @property
    def classification(self) -> ClassificationMetrics:
        """The metrics of a classification run (TypeError for regression)."""
        if not isinstance(self.metrics, ClassificationMetrics):
            raise TypeError("a regression run has no classification metrics")
        return self.metrics

    @property
    def regression(self) -> RegressionMetrics:
        """The metrics of a regression run (TypeError for classification)."""
        if not isinstance(self.metrics, RegressionMetrics):
            raise TypeError("a classification run has no regression metrics")
        return self.metrics

    def sample_name(self, i: int) -> str:
        """Sample ``i`` as the summary names it: a path, ``row 12`` or ``index 7``."""
        return f"{self.id_label} {self.ids[i]}" if self.id_label else str(self.ids[i])

    @property
    def confidence(self) -> np.ndarray:
        """Classification: each sample's probability of its predicted class."""
        if self.proba is None:
            raise TypeError("a regression run has no probabilities")
        return self.proba[np.arange(len(self.y_pred)), self.y_pred]

    def cell_samples(self, true: int, predicted: int) -> np.ndarray:
        """Indices of the samples of confusion-matrix cell (``true``, ``predicted``), most confident first."""
        idx = np.flatnonzero((self.y_true == true) & (self.y_pred == predicted))
        return idx[np.argsort(-self.confidence[idx], kind="stable")]

    # --- JSON ------------------------------------------------------------------------------

    def to_json_dict(self) -> dict[str, Any]:
        """The ``workbench evaluate --json`` document.

        Classification: ``task, run, split, num_samples, accuracy, top_k_accuracy,
        macro_f1, weighted_f1, log_loss, labels, confusion_matrix`` (rows = true, columns
        = predicted, in the order of ``labels``), ``per_class`` ({label: {precision,
        recall, f1, support}}) and ``roc_auc`` (null when undefined). Regression:
        ``task, run, split, num_samples, mae, rmse, r2``.
        """
        head: dict[str, Any] = {
            "task": self.task,
            "run": self.run,
            "split": self.split,
            "num_samples": self.num_samples,
        }
        if isinstance(self.metrics, RegressionMetrics):
            m = self.metrics
            return {**head, "mae": _number(m.mae), "rmse": _number(m.rmse), "r2": _number(m.r2)}
        c = self.classification
        pc = c.per_class
        return {
            **head,
            "accuracy": _number(c.accuracy),
            "top_k_accuracy": _number(c.top_k_accuracy),
            "macro_f1": _number(pc.macro["f1"]),
            "weighted_f1": _number(pc.weighted["f1"]),
            "log_loss": _number(c.log_loss),
            "labels": list(self.labels),
            "confusion_matrix": c.confusion.astype(int).tolist(),
            "per_class": {
                label: {
                    "precision": _number(pc.precision[i]),
                    "recall": _number(pc.recall[i]),
                    "f1": _number(pc.f1[i]),
                    "support": int(pc.support[i]),
                }
                for i, label in enumerate(self.labels)
            },
            "roc_auc": _number(c.roc_auc),
        }

    def record(self) -> dict[str, Any]:
        """The scalar figures kept with a run: its metrics file's ``{"split": "test", ...}``
        line and its entry in the project's runs list."""
        doc = self.to_json_dict()
        keep = {
            k: v
            for k, v in doc.items()
            if k not in ("task", "run", "labels", "confusion_matrix", "per_class")
        }
        if isinstance(self.metrics, ClassificationMetrics):
            keep["top_k"] = self.metrics.top_k
            keep["ece"] = _number(self.metrics.ece)
        keep["checkpoint"] = self.checkpoint
        keep["weights_epoch"] = self.epoch
        return keep

    # --- per-sample results ------------------------------------------------------------------

    def prediction_rows(self) -> tuple[list[str], list[list[Any]]]:
        """The predictions table: a header and one row per sample.

        Classification: ``sample, true, predicted, p_<label>…``; regression with one
        target: ``sample, true, predicted``; with several: ``sample, true_<name>…,
        predicted_<name>…``.
        """
        rows: list[list[Any]] = []
        if self.proba is not None:
            header = ["sample", "true", "predicted", *(f"p_{label}" for label in self.labels)]
            for i, sample in enumerate(self.ids):
                rows.append(
                    [
                        sample,
                        self.labels[int(self.y_true[i])],
                        self.labels[int(self.y_pred[i])],
                        *(f"{p:.9g}" for p in self.proba[i]),
                    ]
                )
            return header, rows
        t = self.y_true.reshape(len(self.ids), -1)
        p = self.y_pred.reshape(t.shape)
        if t.shape[1] == 1:
            header = ["sample", "true", "predicted"]
        else:
            header = [
                "sample",
                *(f"true_{n}" for n in self.labels),
                *(f"predicted_{n}" for n in self.labels),
            ]
        for i, sample in enumerate(self.ids):
            rows.append([sample, *(f"{v:.9g}" for v in t[i]), *(f"{v:.9g}" for v in p[i])])
        return header, rows

    def write_predictions_csv(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`prediction_rows` as CSV, atomically (a failed write leaves the old file).

        Raises:
            EvaluationError: the file cannot be written.
        """
        header, rows = self.prediction_rows()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        target = Path(path)
        try:
            atomic_write_text(target, buffer.getvalue())
        except OSError as e:
            raise EvaluationError(f"{target}: cannot be written ({os_error_text(e)})") from None

    # --- words -------------------------------------------------------------------------------

    def headline(self) -> str:
        """The main figures in a few words: ``accuracy 0.9533, macro F1 0.9531 on 150 test samples``."""
        where = f"on {self.num_samples} {self.split} samples"
        if isinstance(self.metrics, RegressionMetrics):
            m = self.metrics
            return f"MAE {m.mae:.4g}, RMSE {m.rmse:.4g}, R² {_fmt(m.r2)} {where}"
        c = self.classification
        return f"accuracy {_fmt(c.accuracy)}, macro F1 {_fmt(c.per_class.macro['f1'])} {where}"

    def summary_lines(self, examples: int = 5) -> list[str]:
        """A readable summary: what was evaluated, the metrics, the per-class table and
        confusion matrix (classification) and the worst samples."""
        weights = f" ({self.checkpoint}, epoch {self.epoch})" if self.checkpoint else ""
        lines = [
            f"run {self.run}{weights} on the {self.split} split: {self.num_samples} samples, "
            f"{self.seconds:.1f}s on {self.device}"
        ]
        lines += [f"note: {n}" for n in self.notes]
        lines.append("")
        if isinstance(self.metrics, RegressionMetrics):
            return lines + self._regression_lines(self.metrics, examples)
        return lines + self._classification_lines(self.classification, examples)

    def _classification_lines(self, c: ClassificationMetrics, examples: int) -> list[str]:
        pc = c.per_class
        auc = _fmt(c.roc_auc)
        if math.isfinite(c.roc_auc) and len(self.labels) > 2:
            auc += " (one-vs-rest, macro"
            auc += (
                f"; left out, not in the split: {', '.join(self.labels[i] for i in c.roc_skipped)})"
                if c.roc_skipped
                else ")"
            )
        elif not math.isfinite(c.roc_auc):
            auc += " (the split holds a single class)"
        figures = [
            ("accuracy", _fmt(c.accuracy)),
            (f"top-{c.top_k} accuracy", _fmt(c.top_k_accuracy)),
            ("macro F1", _fmt(pc.macro["f1"])),
            ("weighted F1", _fmt(pc.weighted["f1"])),
            ("log loss", _fmt(c.log_loss)),
            ("ROC AUC", auc),
            ("average precision", _fmt(c.average_precision)),
            ("calibration error", _fmt(c.ece) + " (expected, 10 bins)"),
        ]
        width = max(len(k) for k, _ in figures)
        lines = [f"{k:<{width}}  {v}" for k, v in figures]
        lines.append("")
        names = [str(label) for label in self.labels]
        shown = len(names) <= MAX_PRINTED_CLASSES
        col = max(12, *(len(n) for n in names)) if shown else 12
        lines.append(f"{'class':<{col}}  precision  recall      f1  support")
        rows = range(len(names)) if shown else ()
        for i in rows:
            lines.append(
                f"{names[i]:<{col}}  {pc.precision[i]:9.4f}  {pc.recall[i]:6.4f}  {pc.f1[i]:6.4f}  {int(pc.support[i]):7d}"
            )
        total = int(pc.support.sum())
        for name, avg in (("macro avg", pc.macro), ("weighted avg", pc.weighted)):
            lines.append(
                f"{name:<{col}}  {avg['precision']:9.4f}  {avg['recall']:6.4f}  {avg['f1']:6.4f}  {total:7d}"
            )
        if not shown:
            lines.append(
                f"({len(names)} classes: the per-class table is in --json and --predictions)"
            )
        else:
            lines.append("")
            lines.append("confusion matrix (rows: true class, columns: predicted class)")
            cells = c.confusion.astype(int)
            cell = max(5, *(len(n) for n in names), len(str(int(cells.max(initial=0)))))
            lines.append(" " * col + "  " + " ".join(f"{n:>{cell}}" for n in names))
            for i, n in enumerate(names):
                lines.append(f"{n:<{col}}  " + " ".join(f"{v:>{cell}d}" for v in cells[i]))
        if len(c.mistakes) and examples:
            lines.append("")
            lines.append("most confident mistakes:")
            for i in c.mistakes[:examples]:
                true, pred = int(self.y_true[i]), int(self.y_pred[i])
                p = self.confidence[i]
                lines.append(
                    f"  {self.sample_name(i)}: {names[true]} predicted as {names[pred]} (p {p:.3f})"
                )
        return lines

    def _regression_lines(self, m: RegressionMetrics, examples: int) -> list[str]:
        lines = [f"MAE   {m.mae:.4g}", f"RMSE  {m.rmse:.4g}", f"R²    {_fmt(m.r2)}"]
        if len(self.labels) > 1:
            lines.append("")
            col = max(8, *(len(n) for n in self.labels))
            lines.append(f"{'target':<{col}}  {'MAE':>10}  {'RMSE':>10}  {'R²':>8}")
            for j, name in enumerate(self.labels):
                lines.append(
                    f"{name:<{col}}  {m.mae_per_target[j]:10.4g}  {m.rmse_per_target[j]:10.4g}  {_fmt(m.r2_per_target[j]):>8}"
                )
        if len(m.largest_errors) and examples:
            lines.append("")
            lines.append("largest errors:")
            t = self.y_true.reshape(self.num_samples, -1)
            p = self.y_pred.reshape(t.shape)
            for i in m.largest_errors[:examples]:
                true = ", ".join(f"{v:.4g}" for v in t[i])
                pred = ", ".join(f"{v:.4g}" for v in p[i])
                lines.append(f"  {self.sample_name(i)}: true {true}, predicted {pred}")
        return lines


__all__ = [
    "SPLITS",
    "Evaluation",
    "EvaluationCancelled",
    "EvaluationError",
]
