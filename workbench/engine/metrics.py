"""Validation metrics accumulated on the device and read back once per epoch.

Classification: loss, accuracy, top-k accuracy, macro precision, recall and F1 (from
per-class true/false positive and false negative counts kept on the device). Regression: loss, MAE, RMSE and R² (from running
sums). :meth:`MetricAccumulator.update` launches a few tensor ops and never waits for
the device; :meth:`MetricAccumulator.compute` copies everything to the host in one go.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch


def classification_scores(confusion: np.ndarray) -> dict[str, float]:
    """Accuracy and macro precision, recall and F1 from a confusion matrix.

    ``confusion[t, p]`` counts samples of true class ``t`` predicted as ``p``. The macro
    averages run over the classes that occur in the targets or the predictions (as
    scikit-learn does); a class with no predictions has precision 0.
    """
    cm = np.asarray(confusion, dtype=np.float64)
    tp = np.diag(cm)
    return _scores_from_counts(
        tp, cm.sum(0) - tp, cm.sum(1) - tp, correct=float(tp.sum()), total=float(cm.sum())
    )


def _scores_from_counts(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, correct: float, total: float
) -> dict[str, float]:
    present = (tp + fp + fn) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        recall = np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    if not present.any():
        return {"accuracy": math.nan, "precision": math.nan, "recall": math.nan, "f1": math.nan}
    return {
        "accuracy": correct / total if total else math.nan,
        "precision": float(precision[present].mean()),
        "recall": float(recall[present].mean()),
        "f1": float(f1[present].mean()),
    }


def regression_scores(
    n: float, sum_abs: np.ndarray, sum_sq: np.ndarray, sum_y: np.ndarray, sum_y2: np.ndarray
) -> dict[str, float]:
    """MAE, RMSE and R² from per-target running sums over ``n`` samples.

    MAE and RMSE average over every target value; R² is computed per target and then
    averaged. A target with no variance scores R² 1 when predicted exactly, else 0.
    """
    if n <= 0:
        return {"mae": math.nan, "rmse": math.nan, "r2": math.nan}
    sum_abs, sum_sq = np.asarray(sum_abs, np.float64), np.asarray(sum_sq, np.float64)
    sum_y, sum_y2 = np.asarray(sum_y, np.float64), np.asarray(sum_y2, np.float64)
    count = n * sum_abs.size
    sst = np.maximum(sum_y2 - sum_y * sum_y / n, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1.0 - sum_sq / sst, np.where(sum_sq == 0, 1.0, 0.0))
    return {
        "mae": float(sum_abs.sum() / count),
        "rmse": float(math.sqrt(sum_sq.sum() / count)),
        "r2": float(r2.mean()),
    }


class MetricAccumulator:
    """Sums loss and metric statistics over an epoch's batches without syncing the device.

    Args:
        task: ``classification`` or ``regression``.
        metrics: Names to report (``accuracy``, ``top_k_accuracy``, ``precision``, ``recall``,
            ``f1``; or ``mae``, ``rmse``, ``r2``). The loss is always reported.
        num_classes: Classes (classification).
        top_k: ``k`` of the top-k accuracy; reported as ``top{k}_accuracy``.
        device: Where the sums live (the training device).
        multi_label: Targets are 0/1 per class; predictions are logits above 0.
        target_scale: ``(mean, std)`` when the model outputs standardized regression
            targets; outputs are turned back into the targets' units before MAE, RMSE
            and R² are taken.
    """

    def __init__(
        self,
        task: str,
        metrics: Sequence[str],
        num_classes: int | None = None,
        top_k: int = 5,
        device: torch.device | str = "cpu",
        multi_label: bool = False,
        target_scale: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> None:
        self.task = task
        self.target_scale = target_scale
        self.metrics = list(metrics)
        self.num_classes = int(num_classes or 0)
        self.top_k = max(1, min(int(top_k), self.num_classes or 1))
        self.top_k_name = f"top{int(top_k)}_accuracy"
        self.device = torch.device(device)
        self.multi_label = multi_label
        # float64 is exact for counts up to 2**53; MPS has no float64.
        self.dtype = torch.float32 if self.device.type == "mps" else torch.float64
        self.reset()

    def reset(self) -> None:
        """Start a new epoch."""
        z = lambda *shape: torch.zeros(shape, dtype=self.dtype, device=self.device)  # noqa: E731
        self.loss_sum = z()
        self.n = 0  # samples (a host-side count: batch sizes are known without a sync)
        self.topk_correct = z()
        #: Per class: true positives, false positives, false negatives.
        self.counts = torch.zeros(3, self.num_classes, dtype=torch.int64, device=self.device)
        self.label_correct = z()
        self.reg_sums: torch.Tensor | None = None  # (4, targets): |e|, e², y, y²

    def update(self, output: torch.Tensor, target: torch.Tensor, loss: torch.Tensor) -> None:
        """Add one batch: model ``output``, ``target`` and the batch-mean ``loss``."""
        n = output.shape[0]
        self.n += n
        self.loss_sum += loss.detach().to(self.dtype) * n
        if self.task == "classification":
            self._update_classification(output.detach(), target)
        else:
            self._update_regression(output.detach(), target)

    def _update_classification(self, out: torch.Tensor, y: torch.Tensor) -> None:
        if self.multi_label:
            pred = out > 0
            truth = y > 0.5
            tp = (pred & truth).sum(0)
            fp = (pred & ~truth).sum(0)
            fn = (~pred & truth).sum(0)
            self.counts += torch.stack([tp, fp, fn])
            self.label_correct += (pred == truth).sum().to(self.dtype)
            return
        c = self.num_classes
        pred = out.argmax(1)
        # Unweighted bincounts only: no host sync, deterministic on CUDA, O(classes) memory.
        # Wrong predictions go to the extra bin c.
        tp = torch.bincount(torch.where(pred == y, y, c), minlength=c + 1)[:c]
        predicted = torch.bincount(pred, minlength=c)[:c]
        actual = torch.bincount(y, minlength=c)[:c]
        self.counts += torch.stack([tp, predicted - tp, actual - tp])
        if "top_k_accuracy" in self.metrics:
            top = out.topk(self.top_k, dim=1).indices
            self.topk_correct += (top == y.unsqueeze(1)).any(1).sum().to(self.dtype)

    def _update_regression(self, out: torch.Tensor, y: torch.Tensor) -> None:
        out = out.reshape(out.shape[0], -1).to(self.dtype)
        if self.target_scale is not None:
            mean, std = self.target_scale
            out = out * std.to(self.dtype) + mean.to(self.dtype)
        y = y.reshape(out.shape).to(self.dtype)
        err = out - y
        sums = torch.stack([err.abs().sum(0), err.square().sum(0), y.sum(0), y.square().sum(0)])
        if self.reg_sums is None:
            self.reg_sums = sums
        else:
            self.reg_sums += sums

    def compute(self, prefix: str = "val_") -> dict[str, float]:
        """The epoch's loss and metrics, keyed ``{prefix}loss``, ``{prefix}accuracy``…

        This is the one place that waits for the device.
        """
        parts = [
            self.loss_sum.reshape(1),
            self.topk_correct.reshape(1),
            self.label_correct.reshape(1),
        ]
        if self.task == "classification":
            parts.append(self.counts.reshape(-1).to(self.dtype))
        elif self.reg_sums is not None:
            parts.append(self.reg_sums.reshape(-1))
        flat = torch.cat(parts).cpu().numpy().astype(np.float64)  # the single host sync
        n = self.n
        out: dict[str, float] = {f"{prefix}loss": float(flat[0] / n) if n else math.nan}
        rest = flat[3:]
        if self.task == "classification":
            c = self.num_classes
            tp, fp, fn = rest.reshape(3, c)
            if self.multi_label:
                scores = _scores_from_counts(tp, fp, fn, correct=float(flat[2]), total=float(n * c))
            else:
                scores = _scores_from_counts(tp, fp, fn, correct=float(tp.sum()), total=float(n))
            scores["top_k_accuracy"] = float(flat[1] / n) if n else math.nan
        else:
            if rest.size:
                sums = rest.reshape(4, -1)
                scores = regression_scores(n, sums[0], sums[1], sums[2], sums[3])
            else:
                scores = regression_scores(0, np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1))
        for name in self.metrics:
            key = self.top_k_name if name == "top_k_accuracy" else name
            if name in scores:
                out[f"{prefix}{key}"] = scores[name]
        return out


def compute_metrics(
    output: torch.Tensor,
    target: torch.Tensor,
    task: str,
    metrics: Sequence[str],
    loss: torch.Tensor | None = None,
    top_k: int = 5,
    prefix: str = "",
) -> dict[str, float]:
    """Metrics of one set of outputs and targets at once (tests, evaluation)."""
    num_classes = output.shape[1] if task == "classification" else None
    multi_label = task == "classification" and target.dim() == 2
    acc = MetricAccumulator(task, metrics, num_classes, top_k, output.device, multi_label)
    acc.update(output, target, loss if loss is not None else torch.zeros((), device=output.device))
    return acc.compute(prefix)
