"""The evaluation report: a folder with ``report.html``, ``metrics.json`` and ``predictions.csv``.

``report.html`` is one self-contained page (no file or network it needs beside it): the
figures embedded as PNG data, the headline metrics, the per-class table, the confusion
matrix with a colour scale, the most confident mistakes (with thumbnails for images),
the run's settings and training curves (inline SVG, :mod:`.report_curves`), the
dataset's summary and the notes. No Qt and no torch here: the figures arrive as PNG
bytes drawn by the caller (``workbench.ui.evaluate.figures.render_figures`` for
``workbench evaluate --report`` and the Evaluate tab). Every text that comes from the
user or the data (class names, paths, run names) is escaped.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from workbench.core.fileio import atomic_write_text, os_error_text, unwritable_reason
from workbench.core.text import clock, plural
from workbench.engine.evaluation.metrics import ClassificationMetrics, RegressionMetrics
from workbench.engine.evaluation.report_curves import curves_svgs
from workbench.engine.evaluation.result import Evaluation, EvaluationError
from workbench.engine.history import HistoryError, RunSummary, find_summary

REPORT_HTML = "report.html"
METRICS_JSON = "metrics.json"
PREDICTIONS_CSV = "predictions.csv"
#: The files a report folder holds, in the order they are written (the page last: it links the others).
REPORT_FILES = (METRICS_JSON, PREDICTIONS_CSV, REPORT_HTML)
#: The most classes the confusion matrix is drawn for (beyond, metrics.json has it).
MAX_MATRIX_CLASSES = 50
#: Mistakes (or largest errors) listed.
MAX_LISTED = 12
#: The longest side of a mistake's thumbnail, in pixels.
THUMBNAIL = 96
#: The class names listed in the dataset's summary before "and N more".
MAX_CLASS_NAMES = 40
#: The size (width, height) to draw the figures at for the page: about the width the page
#: shows them at, so that their text reads at the page's size.
FIGURE_SIZE = (640, 440)
#: The confusion matrix's colour (the darkest cell), as RGB.
MATRIX_RGB = (37, 99, 235)

_PNG = b"\x89PNG\r\n\x1a\n"
#: Dataset kinds by the ``kind`` of a run's recorded preprocessing.
_KINDS = {"image": "images", "table": "table", "arrays": "arrays"}
_UNITS = {"images": "images", "table": "rows", "arrays": "samples"}
_KIND_TITLES = {"images": "Images", "table": "Table", "arrays": "Arrays"}


# --- what the report says about the dataset ----------------------------------------------------


@dataclass
class DatasetSummary:
    """The dataset a run was trained on, as its config.json recorded it."""

    #: Its path (a folder of images, a table or an arrays file).
    source: str
    #: ``images``, ``table`` or ``arrays`` ("" when the run did not record it).
    kind: str
    task: str
    #: Class names (classification), else None.
    classes: list[str] | None = None
    #: ``{"train": n, "val": n, "test": n}`` as the run split it.
    split_sizes: dict[str, int] = field(default_factory=dict)
    #: More facts as ``(label, text)``: the target column, the preprocessing.
    details: list[tuple[str, str]] = field(default_factory=list)

    def line(self) -> str:
        """One line in the Data tab's words: ``Images · 1,500 images · 5 classes · train 1,050 / …``."""
        parts = []
        total = sum(self.split_sizes.values())
        if self.kind in _KIND_TITLES:
            parts.append(_KIND_TITLES[self.kind])
            if total:
                parts.append(f"{total:,} {_UNITS[self.kind]}")
        elif total:
            parts.append(plural(total, "sample"))
        if self.task == "classification":
            parts.append(plural(len(self.classes or []), "class"))
        else:
            parts.append("regression")
        sizes = self.split_sizes
        if sizes:
            parts.append(
                f"train {sizes.get('train', 0):,} / validation {sizes.get('val', 0):,} / "
                f"test {sizes.get('test', 0):,}"
            )
        return " · ".join(parts)

    @classmethod
    def from_run_config(cls, config: Mapping[str, Any]) -> DatasetSummary | None:
        """The summary from a run's config.json; None when it names no dataset."""
        from workbench.data import DataError, DataSettings
        from workbench.data.describe import settings_text

        data = config.get("data")
        if not isinstance(data, dict) or not isinstance(data.get("path"), str):
            return None
        pre = config.get("preprocessing")
        kind = _KINDS.get(str(pre.get("kind")), "") if isinstance(pre, dict) else ""
        classes = config.get("classes")
        sizes = config.get("split_sizes")
        details = []
        target = data.get("target") or (pre.get("target") if isinstance(pre, dict) else None)
        if kind == "table" and isinstance(target, str) and target:
            details.append(("target column", target))
        with contextlib.suppress(DataError):
            text = settings_text(kind, DataSettings.from_dict(data)) if kind else ""
            if text:
                details.append(("preprocessing", text.removeprefix("Preprocessing: ")))
        return cls(
            source=str(data["path"]),
            kind=kind,
            task=str(config.get("task") or ""),
            classes=[str(c) for c in classes] if isinstance(classes, list) else None,
            split_sizes=(
                {str(k): int(v) for k, v in sizes.items() if isinstance(v, int)}
                if isinstance(sizes, dict)
                else {}
            ),
            details=details,
        )


def report_context(
    project_path: str | os.PathLike[str],
    run_id: str | None,
    entries: Sequence[dict[str, Any]] | None = None,
) -> tuple[RunSummary | None, DatasetSummary | None, list[str]]:
    """What a report says about a run beside its evaluation: its summary, its dataset and its notes.

    Args:
        project_path: The ``.wbproj`` file.
        run_id: The evaluated run (``Evaluation.run``).
        entries: The project's runs list when the caller holds the project (the window).

    Returns:
        ``(run, dataset, notes)``: the run's summary (with its curves and
        hyperparameters), its dataset as config.json recorded it, and the notes the run
        recorded when it was prepared; None and [] for what cannot be read (the report
        then leaves it out).
    """
    if run_id is None:
        return None, None, []
    try:
        summary = find_summary(project_path, run_id, entries)
    except HistoryError:
        return None, None, []
    from workbench.engine.runs import RunDir

    config = RunDir(summary.path).read_config()
    notes = config.get("notes")
    notes = [str(n) for n in notes] if isinstance(notes, list) else []
    return summary, DatasetSummary.from_run_config(config), notes


# --- the folder ------------------------------------------------------------------------------


def prepare_folder(folder: str | os.PathLike[str]) -> Path:
    """Create the report's folder if missing and check that it can be written.

    Called before a long evaluation, so a bad folder is said at once.

    Raises:
        EvaluationError: one line: it is a file, or it cannot be created or written.
    """
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise EvaluationError(f"{path}: not a folder (a file has that name)") from None
    except OSError as e:
        raise EvaluationError(
            f"{path}: the report's folder cannot be created ({os_error_text(e)})"
        ) from None
    if not path.is_dir():
        raise EvaluationError(f"{path}: not a folder (a file has that name)")
    if not os.access(path, os.W_OK | os.X_OK):
        raise EvaluationError(
            f"{path}: the report cannot be written there ({unwritable_reason(path)})"
        )
    return path


def write_report(
    evaluation: Evaluation,
    folder: str | os.PathLike[str],
    *,
    figures: Sequence[tuple[str, bytes]],
    run_info: RunSummary | None = None,
    dataset_summary: DatasetSummary | None = None,
    run_notes: Sequence[str] = (),
) -> list[Path]:
    """Write ``metrics.json``, ``predictions.csv`` and ``report.html`` into ``folder``.

    Each file is written atomically (a failed write leaves the one that was there); the
    folder is created if missing.

    Args:
        evaluation: What to report.
        folder: Where; created with its parents if missing.
        figures: ``(title, PNG bytes)`` per plot, in the order shown.
        run_info: The run's summary (settings, curves, status), or None to leave it out.
        dataset_summary: The dataset's summary, or None to leave it out.
        run_notes: What the run noted when it was prepared (config.json's ``notes``).

    Returns:
        The files written, in :data:`REPORT_FILES` order.

    Raises:
        EvaluationError: one line: the folder or a file cannot be written.
        ValueError: a figure is not PNG data (a caller's mistake, not the user's).
    """
    for title, data in figures:
        if bytes(data[:8]) != _PNG:
            raise ValueError(f"figure {title!r} is not a PNG image")
    path = prepare_folder(folder)
    page = render_html(
        evaluation,
        figures=figures,
        run_info=run_info,
        dataset_summary=dataset_summary,
        run_notes=run_notes,
    )
    written = []
    target = path / METRICS_JSON
    _write(target, json.dumps(evaluation.to_json_dict(), indent=2, ensure_ascii=False) + "\n")
    written.append(target)
    target = path / PREDICTIONS_CSV
    evaluation.write_predictions_csv(target)
    written.append(target)
    target = path / REPORT_HTML
    _write(target, page)
    written.append(target)
    return written


def write_run_report(
    evaluation: Evaluation,
    folder: str | os.PathLike[str],
    project_path: str | os.PathLike[str],
    figures: Sequence[tuple[str, bytes]],
    entries: Sequence[dict[str, Any]] | None = None,
) -> Path:
    """:func:`write_report` with what the project says about the evaluated run
    (:func:`report_context`); returns the ``report.html`` written."""
    run, dataset, run_notes = report_context(project_path, evaluation.run, entries)
    written = write_report(
        evaluation,
        folder,
        figures=figures,
        run_info=run,
        dataset_summary=dataset,
        run_notes=run_notes,
    )
    return next(p for p in written if p.name == REPORT_HTML)


def _write(target: Path, text: str) -> None:
    try:
        atomic_write_text(target, text)
    except OSError as e:
        raise EvaluationError(f"{target}: cannot be written ({os_error_text(e)})") from None


# --- the page ----------------------------------------------------------------------------------


def _num(v: float | None, digits: int = 4) -> str:
    if v is None or not math.isfinite(v):
        return "n/a"
    return f"{v:.{digits}f}"


def _short(v: float) -> str:
    if not math.isfinite(v):
        return "n/a"
    return f"{v:.4g}"


def _seconds(s: float) -> str:
    """A duration: ``0.42 s``, ``12.5 s``, or as a clock from a minute on (``0:01:15``)."""
    if s < 10:
        return f"{s:.2f} s"
    return f"{s:.1f} s" if s < 60 else clock(s)


def _data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], cls: str = "") -> str:
    """A table whose cells are HTML already (the callers escape what they put in)."""
    attr = f' class="{cls}"' if cls else ""
    out = [f"<table{attr}><thead><tr>"]
    out += [f"<th>{h}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _card(label: str, value: str, hint: str = "") -> str:
    hint_html = f'<div class="hint">{escape(hint)}</div>' if hint else ""
    return (
        f'<div class="card"><div class="value">{escape(value)}</div>'
        f'<div class="label">{escape(label)}</div>{hint_html}</div>'
    )


def _headline_cards(evaluation: Evaluation) -> str:
    m = evaluation.metrics
    if isinstance(m, RegressionMetrics):
        cards = [
            _card("MAE", _short(m.mae), "mean absolute error"),
            _card("RMSE", _short(m.rmse), "root mean squared error"),
            _card("R²", _num(m.r2), "1 is perfect; 0 predicts the mean"),
        ]
    else:
        assert isinstance(m, ClassificationMetrics)
        pc = m.per_class
        auc_hint = "one-vs-rest, macro mean" if len(evaluation.labels) > 2 else ""
        if not math.isfinite(m.roc_auc):
            auc_hint = "the split holds a single class"
        cards = [
            _card("accuracy", _num(m.accuracy), f"{_percent(m.accuracy)} right"),
            _card(f"top-{m.top_k} accuracy", _num(m.top_k_accuracy)),
            _card("macro F1", _num(pc.macro["f1"]), "every class counts the same"),
            _card("weighted F1", _num(pc.weighted["f1"]), "weighted by support"),
            _card("log loss", _num(m.log_loss), "lower is better"),
            _card("ROC AUC", _num(m.roc_auc), auc_hint),
            _card("average precision", _num(m.average_precision), "area under PR curves"),
            _card("calibration error", _num(m.ece), "expected, 10 bins; lower is better"),
        ]
    return '<div class="cards">' + "".join(cards) + "</div>"


def _percent(v: float) -> str:
    return f"{v:.1%}" if math.isfinite(v) else "n/a"


def _figures(figures: Sequence[tuple[str, bytes]]) -> str:
    if not figures:
        return ""
    items = [
        f'<figure><img src="{_data_uri(data)}" alt="{escape(title, quote=True)}">'
        f"<figcaption>{escape(title)}</figcaption></figure>"
        for title, data in figures
    ]
    return '<section><h2>Figures</h2><div class="figures">' + "".join(items) + "</div></section>"


def _per_class(evaluation: Evaluation, m: ClassificationMetrics) -> str:
    pc = m.per_class
    rows = []
    for i, label in enumerate(evaluation.labels):
        rows.append(
            [
                f'<span class="name">{escape(label)}</span>',
                _num(pc.precision[i]),
                _num(pc.recall[i]),
                _bar(pc.f1[i]),
                f"{int(pc.support[i]):,}",
            ]
        )
    total = f"{int(pc.support.sum()):,}"
    for name, avg in (("macro mean", pc.macro), ("weighted mean", pc.weighted)):
        rows.append(
            [
                f"<em>{name}</em>",
                _num(avg["precision"]),
                _num(avg["recall"]),
                _bar(avg["f1"]),
                total,
            ]
        )
    table = _table(["class", "precision", "recall", "F1", "support"], rows, "numbers")
    return f"<section><h2>Per class</h2>{table}</section>"


def _bar(v: float) -> str:
    """A value with a small bar under it (0 to 1)."""
    width = max(0.0, min(1.0, v)) * 100 if math.isfinite(v) else 0.0
    return f'{_num(v)}<span class="bar"><span style="width:{width:.1f}%"></span></span>'


def _matrix(evaluation: Evaluation, m: ClassificationMetrics) -> str:
    labels = evaluation.labels
    head = "<section><h2>Confusion matrix</h2>"
    if len(labels) > MAX_MATRIX_CLASSES:
        return (
            head + f"<p>{len(labels)} classes are too many to draw here: "
            f"the matrix is in <a href='{METRICS_JSON}'>{METRICS_JSON}</a> "
            "(<code>confusion_matrix</code>, rows = true class).</p></section>"
        )
    counts = m.confusion.astype(np.int64)
    shares = m.confusion_normalized
    r, g, b = MATRIX_RGB
    out = [
        head,
        '<p class="muted">Rows: the true class; columns: the predicted class. Each cell is a '
        "count; its colour is the share of its row (the class's recall on the diagonal).</p>",
        '<div class="scroll"><table class="matrix"><thead><tr><th class="corner">'
        "true ╲ predicted</th>",
    ]
    out += [f'<th class="col"><span>{escape(lab)}</span></th>' for lab in labels]
    out.append('<th class="col total"><span>total</span></th></tr></thead><tbody>')
    for i, lab in enumerate(labels):
        out.append(f'<tr><th class="row">{escape(lab)}</th>')
        for j in range(len(labels)):
            share = float(shares[i, j])
            alpha = 0.06 + 0.86 * share if counts[i, j] else 0.0
            cls = ["cell"]
            if i == j:
                cls.append("diag")
            if share > 0.5:
                cls.append("dark")
            tip = f"true {lab}, predicted {labels[j]}: {counts[i, j]:,} ({_percent(share)} of the row)"
            out.append(
                f'<td class="{" ".join(cls)}" style="background:rgba({r},{g},{b},{alpha:.3f})" '
                f'title="{escape(tip, quote=True)}">{counts[i, j]:,}</td>'
            )
        out.append(f'<td class="total">{int(counts[i].sum()):,}</td></tr>')
    out.append('<tr><th class="row total">total</th>')
    out += [f'<td class="total">{int(v):,}</td>' for v in counts.sum(axis=0)]
    out.append(f'<td class="total">{int(counts.sum()):,}</td></tr>')
    out.append("</tbody></table></div>")
    out.append(_scale())
    out.append("</section>")
    return "".join(out)


def _scale() -> str:
    r, g, b = MATRIX_RGB
    return (
        '<div class="scale"><span>0 %</span>'
        f'<span class="ramp" style="background:linear-gradient(to right, rgba({r},{g},{b},0.06), '
        f'rgba({r},{g},{b},0.92))"></span><span>100 % of the row</span></div>'
    )


def _thumbnail(path: Any) -> str:
    """A small inline PNG of an image file, or "" when it cannot be read."""
    from PIL import Image

    from workbench.data.decode import load_image, open_image

    try:
        im = open_image(str(path), (THUMBNAIL, THUMBNAIL), "rgb")
        w, h = im.size
        scale = min(1.0, THUMBNAIL / max(w, h, 1))
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        small = load_image(im, size, "rgb")
        buffer = io.BytesIO()
        small.save(buffer, "PNG", optimize=True)
    except (OSError, ValueError, Image.DecompressionBombError):
        return ""
    except Exception:  # noqa: BLE001 - Pillow raises many kinds; a bad file only loses its picture
        return ""
    pixelated = ' class="pixelated"' if max(w, h) < THUMBNAIL else ""
    return f'<img{pixelated} src="{_data_uri(buffer.getvalue())}" alt="">'


def _is_image_evaluation(evaluation: Evaluation) -> bool:
    return evaluation.id_label == "" and all(isinstance(i, str) for i in evaluation.ids[:1])


def _mistakes(evaluation: Evaluation, m: ClassificationMetrics) -> str:
    wrong = m.mistakes[:MAX_LISTED]
    head = "<section><h2>Most confident mistakes</h2>"
    if not len(m.mistakes):
        return head + "<p>None: every sample was predicted right.</p></section>"
    images = _is_image_evaluation(evaluation)
    rows = []
    for i in wrong:
        true, pred = int(evaluation.y_true[i]), int(evaluation.y_pred[i])
        assert evaluation.proba is not None
        row = []
        if images:
            row.append(_thumbnail(evaluation.ids[i]))
        row += [
            f'<span class="path">{escape(evaluation.sample_name(int(i)))}</span>',
            escape(evaluation.labels[true]),
            escape(evaluation.labels[pred]),
            _num(float(evaluation.proba[i, pred]), 3),
            _num(float(evaluation.proba[i, true]), 3),
        ]
        rows.append(row)
    cols = ["sample", "true", "predicted", "p(predicted)", "p(true)"]
    if images:
        cols.insert(0, "")
    more = len(m.mistakes) - len(wrong)
    tail = (
        f'<p class="muted">{plural(more, "more mistake")} in '
        f"<a href='{PREDICTIONS_CSV}'>{PREDICTIONS_CSV}</a>.</p>"
        if more > 0
        else ""
    )
    return head + _table(cols, rows, "samples") + tail + "</section>"


def _largest_errors(evaluation: Evaluation, m: RegressionMetrics) -> str:
    n = evaluation.num_samples
    t = evaluation.y_true.reshape(n, -1)
    p = evaluation.y_pred.reshape(t.shape)
    rows = []
    for i in m.largest_errors[:MAX_LISTED]:
        rows.append(
            [
                f'<span class="path">{escape(evaluation.sample_name(int(i)))}</span>',
                escape(", ".join(_short(v) for v in t[i])),
                escape(", ".join(_short(v) for v in p[i])),
                escape(", ".join(_short(v) for v in m.residuals[i])),
            ]
        )
    table = _table(["sample", "true", "predicted", "residual (true − predicted)"], rows, "samples")
    return f"<section><h2>Largest errors</h2>{table}</section>"


def _per_target(evaluation: Evaluation, m: RegressionMetrics) -> str:
    if len(evaluation.labels) < 2:
        return ""
    rows = [
        [
            f'<span class="name">{escape(name)}</span>',
            _short(m.mae_per_target[j]),
            _short(m.rmse_per_target[j]),
            _num(m.r2_per_target[j]),
        ]
        for j, name in enumerate(evaluation.labels)
    ]
    return (
        "<section><h2>Per target</h2>"
        + _table(["target", "MAE", "RMSE", "R²"], rows, "numbers")
        + "</section>"
    )


def _setting_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, list | dict):
        return json.dumps(v, ensure_ascii=False)
    if v is None:
        return "default"
    return str(v)


def shown_settings(run: RunSummary, task: str) -> list[tuple[str, str]]:
    """The run's training settings as the report lists them: those that mattered to it.

    A setting only some choices read (momentum for SGD, a schedule's step) is left out
    when the run's choices do not read it, as the Train form hides it.
    """
    from workbench.engine.train_form import relevant_settings

    values = run.hyperparameters
    relevant = relevant_settings(values, task)
    return [
        (name, _setting_value(value)) for name, value in values.items() if relevant.get(name, True)
    ]


def _training(evaluation: Evaluation, run: RunSummary, run_notes: Sequence[str]) -> str:
    facts = [
        ("run", f"{run.name} ({run.id})"),
        ("status", run.label),
        ("started", (run.started or "—").replace("T", " ")),
        ("training time", _seconds(run.duration) if run.duration is not None else "—"),
        ("device", run.device or "—"),
        (
            "epochs",
            f"{run.epochs} of {run.epochs_planned}" if run.epochs_planned else str(run.epochs),
        ),
    ]
    if run.monitor and run.best_epoch is not None:
        facts.append(
            (
                "best epoch",
                f"{run.best_epoch} (by {run.monitor} {_short(run.best_value or math.nan)})",
            )
        )
    if run.best_metric:
        facts.append(("best validation", f"{run.best_metric[0]} {_short(run.best_metric[1])}"))
    if run.message:
        facts.append(("message", run.message))
    out = ["<section><h2>Training</h2>"]
    charts = curves_svgs(run.curves, run.best_epoch) if run.curves is not None else []
    if charts:
        out.append('<div class="charts">')
        out += [f"<figure>{svg}<figcaption>{escape(t)}</figcaption></figure>" for t, svg in charts]
        out.append("</div>")
    else:
        out.append('<p class="muted">The run logged no epochs, so it has no curves.</p>')
    out.append('<div class="columns"><div><h3>Run</h3>')
    out.append(_pairs(facts))
    if run_notes:
        out.append("<h3>Notes from training</h3><ul>")
        out += [f"<li>{escape(n)}</li>" for n in run_notes]
        out.append("</ul>")
    out.append("</div><div><h3>Settings</h3>")
    settings = shown_settings(run, evaluation.task)
    out.append(_settings(settings) if settings else '<p class="muted">Not recorded.</p>')
    out.append("</div></div></section>")
    return "".join(out)


def _settings(pairs: Sequence[tuple[str, str]]) -> str:
    items = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in pairs)
    return f'<dl class="settings">{items}</dl>'


def _pairs(pairs: Sequence[tuple[str, str]]) -> str:
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in pairs)
    return f'<table class="pairs"><tbody>{rows}</tbody></table>'


def _dataset(data: DatasetSummary) -> str:
    facts = [("source", data.source), ("summary", data.line())]
    if data.classes is not None:
        shown = data.classes[:MAX_CLASS_NAMES]
        more = len(data.classes) - len(shown)
        facts.append(("classes", ", ".join(shown) + (f" and {more} more" if more > 0 else "")))
    facts += data.details
    rows = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in facts)
    return f'<section><h2>Dataset</h2><table class="pairs"><tbody>{rows}</tbody></table></section>'


def _project_name(run: RunSummary | None) -> str:
    if run is None:
        return ""
    return run.path.parent.name.removesuffix(".runs")


def render_html(
    evaluation: Evaluation,
    *,
    figures: Sequence[tuple[str, bytes]] = (),
    run_info: RunSummary | None = None,
    dataset_summary: DatasetSummary | None = None,
    run_notes: Sequence[str] = (),
    written: str | None = None,
) -> str:
    """The report page as one HTML string (see :func:`write_report` for the arguments).

    ``written`` is the time the page says it was written (default: now).
    """
    from workbench import __version__

    name = run_info.name if run_info is not None else f"run {evaluation.run or '?'}"
    project = _project_name(run_info)
    title = f"{name}: {evaluation.split} split" + (f" · {project}" if project else "")
    weights = (
        f"{evaluation.checkpoint}" + (f", epoch {evaluation.epoch}" if evaluation.epoch else "")
        if evaluation.checkpoint
        else ""
    )
    facts = [
        f"run {evaluation.run}" if evaluation.run else "",
        f"{evaluation.num_samples:,} {evaluation.split} samples",
        weights,
        f"{_seconds(evaluation.seconds)} on {evaluation.device}",
    ]
    when = written or time.strftime("%Y-%m-%d %H:%M")
    body = [
        "<header>",
        f'<p class="kicker">Evaluation report{" · " + escape(project) if project else ""}</p>',
        f"<h1>{escape(name)} on the {escape(evaluation.split)} split</h1>",
        f'<p class="muted">{escape(" · ".join(f for f in facts if f))}</p>',
        f'<p class="headline">{escape(evaluation.headline())}</p>',
        "</header>",
    ]
    if evaluation.notes:
        body.append('<aside class="notes"><strong>Notes</strong><ul>')
        body += [f"<li>{escape(n)}</li>" for n in evaluation.notes]
        body.append("</ul></aside>")
    body.append(f"<section><h2>Metrics</h2>{_headline_cards(evaluation)}</section>")
    body.append(_figures(figures))
    m = evaluation.metrics
    if isinstance(m, ClassificationMetrics):
        body.append(f'<div class="side">{_per_class(evaluation, m)}{_matrix(evaluation, m)}</div>')
        body.append(_mistakes(evaluation, m))
    else:
        assert isinstance(m, RegressionMetrics)
        body.append(_per_target(evaluation, m))
        body.append(_largest_errors(evaluation, m))
    if run_info is not None:
        body.append(_training(evaluation, run_info, run_notes))
    if dataset_summary is not None:
        body.append(_dataset(dataset_summary))
    body.append(
        "<footer>"
        f"<p>Beside this page: <a href='{METRICS_JSON}'>{METRICS_JSON}</a> (the metrics) and "
        f"<a href='{PREDICTIONS_CSV}'>{PREDICTIONS_CSV}</a> (one row per sample).</p>"
        f"<p>Written {escape(when)} by Model Workbench {escape(__version__)}.</p>"
        "</footer>"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="color-scheme" content="light dark">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


#: The page's style sheet: system fonts, light and dark colours, tables and the charts.
STYLE = (
    """
:root {
  --bg: #ffffff; --fg: #1f2328; --muted: #5b6470; --line: #d8dee4; --card: #f6f8fa;
  --accent: #2563eb; --warn-bg: #fff8e1; --warn-line: #e0b400;
  --c0: #2563eb; --c1: #e8590c; --c2: #2f9e44; --c3: #ae3ec9; --c4: #0c8599; --c5: #c2255c;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #16181d; --fg: #e6e8eb; --muted: #9aa3ad; --line: #343a43; --card: #1e2128;
    --accent: #6ea0ff; --warn-bg: #2d2610; --warn-line: #a07d00;
    --c0: #6ea0ff; --c1: #ff922b; --c2: #51cf66; --c3: #da77f2; --c4: #3bc9db; --c5: #f06595;
  }
  figure img { background: #fff; }
}
* { box-sizing: border-box; }
html { background: var(--bg); color: var(--fg); }
body {
  margin: 0; font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans",
  "Helvetica Neue", Arial, sans-serif;
}
main { max-width: 1180px; margin: 0 auto; padding: 28px 32px 48px; }
h1 { font-size: 28px; line-height: 1.25; margin: 2px 0 6px; }
h2 { font-size: 19px; margin: 36px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
a { color: var(--accent); }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, monospace; font-size: 0.92em; }
.kicker { text-transform: uppercase; letter-spacing: 0.06em; font-size: 12px; color: var(--muted); margin: 0; }
.muted { color: var(--muted); }
.headline { font-size: 17px; margin: 8px 0 0; }
.notes { background: var(--warn-bg); border-left: 4px solid var(--warn-line); padding: 10px 16px; margin: 20px 0; border-radius: 4px; }
.notes ul { margin: 4px 0 0; padding-left: 20px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card .value { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .label { font-weight: 600; }
.card .hint { color: var(--muted); font-size: 13px; }
.figures { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); gap: 16px; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px; }
figure img { display: block; width: 100%; height: auto; border-radius: 4px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 6px; text-align: center; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 5px 10px; text-align: left; vertical-align: middle; }
thead th { border-bottom: 2px solid var(--line); font-size: 13px; color: var(--muted); font-weight: 600; }
tbody tr + tr td, tbody tr + tr th { border-top: 1px solid var(--line); }
table.numbers td:not(:first-child), table.numbers th:not(:first-child) { text-align: right; }
table.numbers tbody tr:nth-last-child(-n+2) td { background: var(--card); }
.bar { display: block; height: 3px; background: var(--line); border-radius: 2px; margin-top: 2px; min-width: 60px; }
.bar span { display: block; height: 100%; background: var(--accent); border-radius: 2px; }
.name { font-weight: 600; }
.path { word-break: break-all; font-size: 13px; }
table.samples img { display: block; height: 56px; width: auto; border-radius: 3px; }
img.pixelated { image-rendering: pixelated; }
.scroll { overflow-x: auto; }
table.matrix { margin-top: 4px; }
table.matrix td.cell { text-align: center; min-width: 52px; height: 40px; border: 1px solid var(--bg); }
table.matrix td.cell.dark { color: #fff; }
table.matrix td.cell.diag { font-weight: 700; }
table.matrix td.total, table.matrix th.total { color: var(--muted); text-align: center; }
table.matrix th.row { text-align: right; white-space: nowrap; }
table.matrix th.col { vertical-align: bottom; text-align: center; font-size: 13px; max-width: 90px; overflow-wrap: anywhere; }
table.matrix th.corner { font-size: 12px; color: var(--muted); font-weight: 400; text-align: right; }
table.matrix tbody tr + tr td, table.matrix tbody tr + tr th { border-top: 1px solid var(--bg); }
.scale { display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; margin-top: 10px; }
.scale .ramp { display: inline-block; width: 180px; height: 10px; border-radius: 5px; }
.side { display: flex; flex-wrap: wrap; gap: 0 56px; align-items: flex-start; }
.side > section { min-width: 0; max-width: 100%; }
.side p { max-width: 34em; }
dl.settings { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 0 20px; margin: 0; }
dl.settings div { display: flex; justify-content: space-between; gap: 12px; padding: 4px 0; border-bottom: 1px solid var(--line); }
dl.settings dt { color: var(--muted); }
dl.settings dd { margin: 0; text-align: right; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
.columns { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 24px; }
table.pairs th { color: var(--muted); font-weight: 500; white-space: nowrap; padding-left: 0; }
table.pairs td { overflow-wrap: anywhere; }
svg.chart { display: block; width: 100%; height: auto; font-size: 12px; }
svg.chart text { fill: var(--fg); }
svg.chart .tick, svg.chart .best-label { fill: var(--muted); font-size: 11px; }
svg.chart .label { fill: var(--muted); }
svg.chart .grid { stroke: var(--line); stroke-width: 1; }
svg.chart .axis { stroke: var(--muted); stroke-width: 1; }
svg.chart .best { stroke: var(--muted); stroke-width: 1; stroke-dasharray: 4 3; }
svg.chart .series { fill: none; stroke-width: 2; stroke-linejoin: round; }
"""
    + "".join(
        f"svg.chart .c{i} {{ stroke: var(--c{i}); }} svg.chart circle.c{i} {{ fill: var(--c{i}); }}\n"
        for i in range(6)
    )
    + """
footer { margin-top: 40px; padding-top: 12px; border-top: 1px solid var(--line); color: var(--muted); font-size: 13px; }
footer p { margin: 4px 0; }
@media print { main { max-width: none; } .figures, .charts { break-inside: avoid; } }
"""
)


__all__ = [
    "FIGURE_SIZE",
    "MAX_MATRIX_CLASSES",
    "METRICS_JSON",
    "PREDICTIONS_CSV",
    "REPORT_FILES",
    "REPORT_HTML",
    "DatasetSummary",
    "prepare_folder",
    "render_html",
    "report_context",
    "shown_settings",
    "write_report",
    "write_run_report",
]
