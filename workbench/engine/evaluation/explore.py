"""What the Evaluate tab shows, decided without Qt: the runs and splits its pickers offer,
the headline figures, the rows of a list of samples, which curves a plot draws, the
nearest point to a click and the words around them.

The tab (:mod:`workbench.ui.evaluate`) shows these as they are; the functions read run
folders and tables (never torch), so the tab calls the slow ones off the GUI thread.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from workbench.core.text import plural
from workbench.engine.evaluation.metrics import ClassificationMetrics, Curve, RegressionMetrics
from workbench.engine.evaluation.result import SPLITS, Evaluation

if TYPE_CHECKING:
    from workbench.data.tables import Table
    from workbench.engine.history import RunSummary

#: How the split picker names each split.
SPLIT_TITLES = {"test": "Test", "val": "Validation", "train": "Training"}
#: Samples a list shows at most (the rest are counted in its caption).
MAX_LISTED = 1000
#: Curves a ROC or precision-recall plot draws at most (the classes with the lowest areas).
MAX_CURVES = 12
#: Confusion matrices with more classes than this show no number in their cells.
MAX_CELL_TEXT = 20
#: A click this many pixels or nearer to a point picks it.
PICK_RADIUS_PX = 12.0

NO_RUNS_TITLE = "Train a model first"


# --- the pickers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RunOption:
    """A run the run picker offers: one with weights to evaluate."""

    run_id: str
    #: ``Run 3 · finished · 12 epochs · test accuracy 0.953``.
    label: str
    #: Longer words for a tooltip: when it started, its best validation figure, its device.
    detail: str = ""
    #: Samples in each split when the run started (None when the run did not record them).
    split_sizes: dict[str, int] | None = None
    #: ``image``, ``table``, ``arrays`` (from its recorded preprocessing), or "".
    data_kind: str = ""
    #: The dataset file or folder it was trained on.
    data_path: str = ""
    #: The table's feature columns (tables only), in the order the run used them.
    features: tuple[str, ...] = ()
    #: The target column of a table, or "".
    target: str = ""
    status: str = ""


def _fmt(value: float | None) -> str:
    """A figure to read at a glance: three decimals below 10, fewer above."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"


def metric_words(key: str) -> str:
    """``test_accuracy`` → ``test accuracy``, ``val_r2`` → ``val R²``."""
    words = {"r2": "R²", "mae": "MAE", "rmse": "RMSE", "f1": "F1"}
    prefix, _, name = key.partition("_") if key.startswith(("test_", "val_")) else ("", "", key)
    name = words.get(name, name.replace("_", " "))
    return f"{prefix} {name}".strip()


def run_option(summary: RunSummary, config: dict[str, Any]) -> RunOption:
    """The picker's entry for a run, from its history summary and its config.json."""
    parts = [summary.name, summary.label, plural(summary.epochs, "epoch")]
    metric = summary.test_metric or summary.best_metric
    if metric is not None:
        parts.append(f"{metric_words(metric[0])} {_fmt(metric[1])}")
    detail = [f"run {summary.id}"]
    if summary.started:
        detail.append(f"started {summary.started.replace('T', ' ')}")
    if summary.best_metric is not None:
        name, value = summary.best_metric
        where = f" (epoch {summary.best_epoch})" if summary.best_epoch else ""
        detail.append(f"best {metric_words(name)} {_fmt(value)}{where}")
    if summary.device:
        detail.append(f"trained on {summary.device}")
    sizes = config.get("split_sizes")
    split_sizes = (
        {k: int(v) for k, v in sizes.items() if k in SPLITS and isinstance(v, int)}
        if isinstance(sizes, dict)
        else None
    )
    pre = config.get("preprocessing")
    pre = pre if isinstance(pre, dict) else {}
    data = config.get("data")
    data = data if isinstance(data, dict) else {}
    features: tuple[str, ...] = ()
    if pre.get("kind") == "table" and isinstance(pre.get("features"), list):
        features = tuple(
            str(f["name"]) for f in pre["features"] if isinstance(f, dict) and "name" in f
        )
    return RunOption(
        run_id=summary.id,
        label=" · ".join(parts),
        detail=" · ".join(detail),
        split_sizes=split_sizes or None,
        data_kind=str(pre.get("kind") or ""),
        data_path=str(data.get("path") or ""),
        features=features,
        target=str(pre.get("target") or "") if pre.get("kind") == "table" else "",
        status=summary.status,
    )


def list_run_options(
    project_path: str | os.PathLike[str], entries: Sequence[dict[str, Any]] | None = None
) -> list[RunOption]:
    """The project's runs that have weights to evaluate, newest first (reads files only).

    Args:
        project_path: The ``.wbproj`` file.
        entries: The project's runs list when the caller holds the project (the window).
    """
    from workbench.engine.history import load_history
    from workbench.engine.runs import RunDir

    options = []
    for summary in reversed(load_history(project_path, entries)):
        run = RunDir(summary.path)
        if not (run.best.is_file() or run.last.is_file()):
            continue
        try:
            config = run.read_config()
        except (OSError, ValueError):
            config = {}
        options.append(run_option(summary, config if isinstance(config, dict) else {}))
    return options


@dataclass(frozen=True)
class SplitOption:
    """A split the split picker offers."""

    key: str
    label: str
    #: Samples in it when the run started; None when unknown.
    size: int | None

    @property
    def empty(self) -> bool:
        """True when the run recorded that the dataset has no such split."""
        return self.size == 0


def split_options(sizes: dict[str, int] | None) -> list[SplitOption]:
    """Test, validation and training, each with its size (``Validation · none``)."""
    out = []
    for key in SPLITS:
        size = None if sizes is None else sizes.get(key)
        title = SPLIT_TITLES[key]
        if size is None:
            label = f"{title} split"
        elif size == 0:
            label = f"{title} split · none in this dataset"
        else:
            label = f"{title} split · {plural(size, 'sample')}"
        out.append(SplitOption(key, label, size))
    return out


def missing_split_text(split: str, dataset: str = "") -> str:
    """What the tab says when the run's dataset has no ``split``."""
    title = SPLIT_TITLES.get(split, split).lower()
    name = f"“{dataset}”" if dataset else "This dataset"
    other = "the validation split" if split == "test" else "another split"
    ratio = {"test": "test", "val": "validation", "train": "training"}.get(split, split)
    return (
        f"{name} has no {title} split, so there is nothing to evaluate there. Choose {other}, "
        f"or set a {ratio} share in the Data tab's split settings and train again."
    )


def default_split(option: RunOption | None) -> str:
    """The split the tab evaluates first: test, else validation, else training."""
    if option is None or option.split_sizes is None:
        return "test"
    for key in SPLITS:
        if option.split_sizes.get(key, 1) > 0:
            return key
    return "test"


def no_runs_text(project_name: str | None, saved: bool) -> str:
    """The empty state's line when the project has no run to evaluate."""
    if not saved:
        return (
            "This project is not saved yet, so it has no training runs. Train it on the Train "
            "tab; its runs appear here with their test results, confusion matrix and mistakes."
        )
    return (
        f"No run of “{project_name}” has weights yet. Train the model on the Train tab; "
        "each run is evaluated on the test split when it ends, and its results appear here."
    )


# --- the results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """One headline figure: its name, its value as text and what it means."""

    name: str
    value: str
    tip: str = ""


def headline(ev: Evaluation) -> list[Figure]:
    """The figures over the results: accuracy, top-k accuracy (when k is less than the
    number of classes), macro F1, ROC AUC, log loss and calibration error for
    classification; MAE, RMSE and R² for regression."""
    if isinstance(ev.metrics, RegressionMetrics):
        m = ev.metrics
        return [
            Figure("MAE", _fmt(m.mae), "Mean absolute error: the typical size of a miss"),
            Figure("RMSE", _fmt(m.rmse), "Root mean squared error: large misses weigh more"),
            Figure(
                "R²", _fmt(m.r2), "1 is perfect; 0 is no better than always predicting the mean"
            ),
        ]
    c = ev.classification
    top_k = [
        Figure(
            f"top-{c.top_k} accuracy",
            _fmt(c.top_k_accuracy),
            f"Share of samples whose true class is among the {c.top_k} most probable",
        )
    ]
    if c.top_k >= len(ev.labels) or c.top_k < 2:
        top_k = []  # every class is among the top k: always 1, it says nothing
    return [
        Figure("accuracy", _fmt(c.accuracy), "Share of samples whose predicted class is right"),
        *top_k,
        Figure(
            "macro F1",
            _fmt(c.per_class.macro["f1"]),
            "The mean of the classes' F1 scores: every class counts the same",
        ),
        Figure(
            "ROC AUC",
            _fmt(c.roc_auc),
            "Area under the ROC curve (one-vs-rest, macro mean): 1 is perfect, 0.5 is chance",
        ),
        Figure("log loss", _fmt(c.log_loss), "Mean −log p(true class): lower is better"),
        Figure(
            "calibration error",
            _fmt(c.ece),
            "Expected calibration error: how far the confidence is from the accuracy (10 bins)",
        ),
    ]


def describe_evaluation(ev: Evaluation) -> str:
    """What was evaluated: ``225 test samples · weights of epoch 6 (best.pt) · 1.2 s on cpu``."""
    split = SPLIT_TITLES.get(ev.split, ev.split).lower()
    parts = [plural(ev.num_samples, f"{split} sample")]
    if ev.checkpoint:
        parts.append(
            f"weights of epoch {ev.epoch} ({ev.checkpoint})" if ev.epoch else ev.checkpoint
        )
    if ev.seconds:
        took = f"{ev.seconds:.1f} s" if ev.seconds >= 0.1 else "under 0.1 s"
        parts.append(f"evaluated in {took} on {ev.device}")
    return " · ".join(parts)


def cell_caption(ev: Evaluation, true: int, predicted: int, count: int) -> str:
    """The samples list's caption for a confusion-matrix cell."""
    t, p = ev.labels[true], ev.labels[predicted]
    if true == predicted:
        return f"“{t}” predicted correctly: {plural(count, 'sample')}"
    return f"“{t}” predicted as “{p}”: {plural(count, 'sample')}"


def mistakes_caption(count: int) -> str:
    """The caption of the most confident mistakes."""
    if count == 0:
        return "No mistakes: every sample of the split is predicted correctly"
    return f"{plural(count, 'mistake')}, the most confident first"


def largest_errors_caption(count: int) -> str:
    """The caption of a regression's largest errors."""
    return f"{'The sample' if count == 1 else f'All {count:,} samples'}, the largest error first"


def point_caption(ev: Evaluation, index: int) -> str:
    """The caption when one point of a regression plot was clicked."""
    return f"The sample nearest the click: {ev.sample_name(index)}"


def shown_note(listed: int, total: int) -> str:
    """``(the first 1,000 of 2,345)`` when a list is cut, else ""."""
    return f"(the first {listed:,} of {total:,} are listed)" if listed < total else ""


@dataclass
class SampleRows:
    """Rows of a list of samples: one per sample, with the columns' names.

    ``values[r][c]`` is a number (for sorting and right alignment) or a text.
    """

    columns: list[str]
    indices: np.ndarray
    values: list[list[Any]]
    #: The column of the probability of the predicted class (classification), or of the
    #: absolute error (regression): the column the list is sorted by, descending, first.
    sort_column: int
    #: Whether each sample is predicted right (classification; empty for regression).
    correct: list[bool] = field(default_factory=list)
    #: Each row's tooltip: the sample's id and every class's probability.
    tips: list[str] = field(default_factory=list)


def sample_rows(
    ev: Evaluation, indices: Sequence[int] | np.ndarray, table: TableRows | None = None
) -> SampleRows:
    """The rows of samples ``indices`` of ``ev``, in that order (at most :data:`MAX_LISTED`).

    Classification: sample, true, predicted, confidence (the predicted class's
    probability), the true class's probability, then one probability column per class; regression: sample, true, predicted and error (true − predicted) per target,
    then the absolute error (summed over the targets). A table's feature values follow
    when ``table`` holds them.
    """
    idx = np.asarray(indices, dtype=np.int64)[:MAX_LISTED]
    values: list[list[Any]] = []
    correct: list[bool] = []
    tips: list[str] = []
    sample_col = ev.id_label or "file"
    cells = table.cells([ev.ids[int(i)] for i in idx]) if table is not None else None
    extra = list(table.columns) if table is not None else []
    if ev.proba is not None:
        labels = [str(x) for x in ev.labels]
        columns = [
            sample_col,
            "true",
            "predicted",
            "confidence",
            "p(true)",
            *(f"p({n})" for n in labels),
        ]
        conf = ev.confidence
        for r, i in enumerate(idx):
            true, pred = int(ev.y_true[i]), int(ev.y_pred[i])
            probs = [float(v) for v in ev.proba[i]]
            values.append(
                [
                    _sample_cell(ev, int(i)),
                    labels[true],
                    labels[pred],
                    float(conf[i]),
                    probs[true],
                    *probs,
                    *(cells[r] if cells else ()),
                ]
            )
            correct.append(true == pred)
            ranked = sorted(range(len(labels)), key=lambda k: -probs[k])[:5]
            tips.append(
                f"{ev.sample_name(int(i))}\ntrue: {labels[true]}, predicted: {labels[pred]}\n"
                + "\n".join(f"p({labels[k]}) = {probs[k]:.3f}" for k in ranked)
            )
        return SampleRows([*columns, *extra], idx, values, 3, correct, tips)
    t = ev.y_true.reshape(ev.num_samples, -1)
    p = ev.y_pred.reshape(t.shape)
    names = [str(x) for x in ev.labels]
    if t.shape[1] == 1:
        columns = [sample_col, "true", "predicted", "error", "|error|"]
    else:
        columns = [
            sample_col,
            *(f"true {n}" for n in names),
            *(f"predicted {n}" for n in names),
            *(f"error {n}" for n in names),
            "|error|",
        ]
    for r, i in enumerate(idx):
        err = t[i] - p[i]
        values.append(
            [
                _sample_cell(ev, int(i)),
                *(float(v) for v in t[i]),
                *(float(v) for v in p[i]),
                *(float(v) for v in err),
                float(np.abs(err).sum()),
                *(cells[r] if cells else ()),
            ]
        )
        tips.append(
            f"{ev.sample_name(int(i))}\n"
            + "\n".join(
                f"{names[j]}: true {t[i, j]:.4g}, predicted {p[i, j]:.4g}"
                for j in range(t.shape[1])
            )
        )
    sort_column = len(columns) - 1
    return SampleRows([*columns, *extra], idx, values, sort_column, correct, tips)


def _sample_cell(ev: Evaluation, i: int) -> Any:
    """A sample's id as its list shows it: a file's name, or a row or index number."""
    sid = ev.ids[i]
    if ev.id_label:
        return int(sid) if isinstance(sid, int | np.integer) else str(sid)
    return Path(str(sid)).name


def by_error(ev: Evaluation) -> np.ndarray:
    """Regression: every sample by its absolute error (over the targets), largest first."""
    return np.asarray(ev.regression.largest_errors, dtype=np.int64)


def all_mistakes(ev: Evaluation) -> np.ndarray:
    """Classification: the wrong predictions, most confident first."""
    return np.asarray(ev.classification.mistakes, dtype=np.int64)


# --- the figures ----------------------------------------------------------------------------------


def curves_to_draw(curves: dict[int, Curve], limit: int = MAX_CURVES) -> list[int]:
    """The classes whose curves a plot draws, in class order: all of them, or the ``limit``
    with the lowest areas (the classes the model finds hardest)."""
    chosen = sorted(curves, key=lambda c: (curves[c].area, c))[:limit]
    return sorted(chosen)


def curves_note(metrics: ClassificationMetrics, labels: Sequence[str], kind: str) -> str:
    """Under a ROC or PR plot: which classes have no curve or are not drawn."""
    curves = metrics.roc if kind == "roc" else metrics.pr
    skipped = metrics.roc_skipped if kind == "roc" else metrics.pr_skipped
    notes = []
    if len(curves) > MAX_CURVES:
        notes.append(
            f"The {MAX_CURVES} classes with the lowest {'AUC' if kind == 'roc' else 'AP'} of "
            f"{len(curves)} are drawn."
        )
    if skipped and len(labels) > 2:
        names = ", ".join(str(labels[i]) for i in skipped[:8])
        more = f" and {len(skipped) - 8} more" if len(skipped) > 8 else ""
        why = "no sample or every sample" if kind == "roc" else "no sample"
        notes.append(f"No curve for {names}{more}: the split has {why} of it.")
    return " ".join(notes)


def cell_label(count: int, share: float, normalized: bool) -> str:
    """A confusion-matrix cell's text: its count, or its share of the true class as a percentage."""
    if normalized:
        return f"{100 * share:.0f}%" if share > 0 else "0"
    return f"{count:,}"


def text_color_on(rgb: Sequence[float]) -> str:
    """``dark`` or ``light``: the text that reads best on a cell of colour ``rgb`` (0-255)."""
    r, g, b = (float(v) / 255.0 for v in rgb[:3])

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "dark" if luminance > 0.36 else "light"


def short_name(name: str, limit: int = 14) -> str:
    """A class name cut to ``limit`` characters for an axis tick."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


def tick_step(n: int, room: int = 24) -> int:
    """Label every k-th class of ``n`` on an axis so at most ``room`` labels show."""
    return max(1, math.ceil(n / room))


def nearest_point(
    xs: np.ndarray,
    ys: np.ndarray,
    x: float,
    y: float,
    px_per_x: float,
    px_per_y: float,
    radius_px: float = PICK_RADIUS_PX,
) -> int | None:
    """The index of the point nearest ``(x, y)`` on screen, if within ``radius_px`` pixels.

    Distances are measured in pixels (``px_per_x`` and ``px_per_y`` are the plot's scale),
    so a click picks what is under it whatever the axes' units.
    """
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    if len(xs) == 0:
        return None
    d2 = ((xs - x) * px_per_x) ** 2 + ((ys - y) * px_per_y) ** 2
    d2 = np.where(np.isfinite(d2), d2, np.inf)
    best = int(np.argmin(d2))
    return best if d2[best] <= radius_px**2 else None


def histogram(values: np.ndarray, max_bins: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin edges of ``values`` (the finite ones), with a bin count that suits their number."""
    v = np.asarray(values, np.float64).ravel()
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.zeros(1, np.int64), np.array([0.0, 1.0])
    bins = int(min(max_bins, max(5, math.ceil(2 * len(v) ** (1 / 3)))))
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(v, bins=bins, range=(lo, hi))
    return counts.astype(np.int64), edges


def span(*arrays: np.ndarray) -> tuple[float, float]:
    """The range covered by the finite values of ``arrays`` (0 to 1 when there are none)."""
    finite = [np.asarray(a, np.float64).ravel() for a in arrays]
    joined = np.concatenate(finite) if finite else np.zeros(0)
    joined = joined[np.isfinite(joined)]
    if len(joined) == 0:
        return 0.0, 1.0
    lo, hi = float(joined.min()), float(joined.max())
    return (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)


# --- a table's own values ----------------------------------------------------------------------


class TableRows:
    """The cells of a table's rows by row number (1-based, as a table's sample ids are),
    to show each listed sample with its feature values."""

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        self.columns: list[str] = []
        self._cols: list[tuple[np.ndarray, list[str] | None, np.ndarray | None]] = []
        for name in columns:
            col = table.column(name)
            if col is None:
                continue
            self.columns.append(col.name)
            if col.numeric:
                self._cols.append((col.values(), None, None))
            else:
                codes, levels = col.codes()
                self._cols.append((codes, levels, col.missing))
        self.num_rows = table.num_rows

    def cells(self, row_ids: Sequence[Any]) -> list[list[Any]]:
        """The cells of each row (numbers as floats, texts as texts, missing as "")."""
        out: list[list[Any]] = []
        for rid in row_ids:
            r = int(rid) - 1
            row: list[Any] = []
            for values, levels, missing in self._cols:
                if not 0 <= r < len(values):
                    row.append("")
                elif levels is None:
                    v = float(values[r])
                    row.append(v if math.isfinite(v) else "")
                else:
                    code = int(values[r])
                    row.append(
                        "" if code < 0 or (missing is not None and missing[r]) else levels[code]
                    )
            out.append(row)
        return out


def read_table_rows(
    path: str | os.PathLike[str],
    features: Sequence[str],
    target: str = "",
    cancelled: Any = None,
) -> TableRows:
    """Read a table to show its rows' values: ``features`` (all columns but ``target``
    when none are named).

    Raises:
        DataError: the file cannot be read.
    """
    from workbench.data.tables import read_table

    table = read_table(path, cancelled=cancelled)
    names = list(features) or [n for n in table.names if n != target]
    return TableRows(table, names)


__all__ = [
    "MAX_CELL_TEXT",
    "MAX_CURVES",
    "MAX_LISTED",
    "NO_RUNS_TITLE",
    "SPLIT_TITLES",
    "Figure",
    "RunOption",
    "SampleRows",
    "SplitOption",
    "TableRows",
    "all_mistakes",
    "by_error",
    "cell_caption",
    "cell_label",
    "curves_note",
    "curves_to_draw",
    "default_split",
    "describe_evaluation",
    "headline",
    "histogram",
    "largest_errors_caption",
    "list_run_options",
    "metric_words",
    "missing_split_text",
    "mistakes_caption",
    "nearest_point",
    "no_runs_text",
    "point_caption",
    "read_table_rows",
    "run_option",
    "sample_rows",
    "short_name",
    "shown_note",
    "span",
    "split_options",
    "text_color_on",
    "tick_step",
]
