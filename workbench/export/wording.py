"""How the Export tab words things, without Qt: runs in the picker, the output path's
note, the result's figures, errors and the example request.

The Export tab (:mod:`workbench.ui.export`) shows these strings as they are; keeping them
here lets them be tested without a window.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.export_check import ExportIssue
from workbench.core.export_formats import get_format
from workbench.core.text import human_bytes
from workbench.export.service import trained_runs

#: The metric shown beside a run in the picker: the first of these its epoch row has.
RUN_METRICS = ("val_accuracy", "val_r2", "val_mae", "val_rmse", "val_loss")


@dataclass(frozen=True)
class RunChoice:
    """One trained run as the run picker shows it."""

    run_id: str
    label: str
    detail: str


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def describe_run(
    run_id: str, status: dict[str, Any], rows: list[dict[str, Any]], has_best: bool
) -> RunChoice:
    """The picker's label for a run: ``20261123-175137 · finished · 2 epochs · val_accuracy 0.94``."""
    state = str(status.get("status") or "unknown")
    epochs = status.get("epoch")
    if not isinstance(epochs, int):
        epochs = len(rows)
    parts = [run_id, state, f"{epochs} epoch{'s' if epochs != 1 else ''}"]
    best = status.get("best_epoch") if has_best else None
    row: dict[str, Any] = {}
    for r in rows:
        if r.get("epoch") == (best if best is not None else epochs):
            row = r
    if not row and rows:
        row = rows[-1]
    metric = next((k for k in RUN_METRICS if _number(row.get(k)) is not None), None)
    if metric is not None:
        parts.append(f"{metric} {_number(row[metric]):.3g}")
    which = "best" if has_best else "last"
    detail = f"Exports the {which} checkpoint"
    if row.get("epoch") is not None:
        detail += f" (epoch {row['epoch']} of {epochs})"
    shown = [
        f"{k} {_number(row[k]):.4g}"
        for k in ("val_loss", *RUN_METRICS[:-1])
        if _number(row.get(k)) is not None
    ]
    if shown:
        detail += ": " + " · ".join(shown)
    return RunChoice(run_id, " · ".join(parts), detail + ".")


def list_run_choices(project_path: str | os.PathLike[str]) -> list[RunChoice]:
    """The project's runs that have a checkpoint, newest first (torch-free; reads files)."""
    return [
        describe_run(run.id, run.read_status(), run.read_metrics(), run.best.is_file())
        for run in reversed(trained_runs(project_path))
    ]


def one_line(error: BaseException) -> str:
    """An error as one line for the user: the message of our own errors, else its type too."""
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    if isinstance(error, ValueError | OSError) or type(error).__name__ in (
        "ServeError",
        "ExportError",
    ):
        return first or type(error).__name__
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter (unless it starts with a file or
    layer name such as ``model.py`` or ``embedding_1``) and a full stop."""
    text = text.strip().rstrip(":;,").rstrip()
    if text and text[-1] not in ".!?)":
        text += "."
    first = text.split(" ", 1)[0]
    if any(c in first for c in "._/\\") or first[:1].isdigit():
        return text
    return text[:1].upper() + text[1:]


def gui_wording(message: str) -> str:
    """A server message written for the command line, worded for the window."""
    return message.replace("choose another with --port", "choose another port")


def issue_text(issue: ExportIssue) -> str:
    """One of the builder's findings as its row says it: ``dense_1: message.``."""
    if not issue.node:
        return sentence(issue.message)
    msg = issue.message.strip()
    msg += "" if msg.endswith(".") else "."
    return sentence(msg) if f"{issue.node}:" in msg else f"{issue.node}: {msg}"


# --- the output path ---------------------------------------------------------------------------


def output_note(text: str, fmt: str) -> tuple[str, bool]:
    """What the tab says under the output path ``text`` for format ``fmt``, and whether
    it is a problem (the path cannot be written as it is)."""
    if not text:
        return "", False
    out = Path(text).expanduser()
    spec = get_format(fmt)
    if not out.parent.is_dir():
        return f"The folder {out.parent} does not exist.", True
    if spec.folder:
        if out.exists():
            return f"{out.name} exists: it is replaced only if it holds {spec.replaces}.", False
        return f"Creates the folder {out.name} in {out.parent}.", False
    if out.is_dir():
        return f"{out} is a folder: add a file name.", True
    if out.exists():
        return f"{out.name} exists and will be replaced.", False
    return "", False


def output_problem(text: str, fmt: str) -> str | None:
    """Why Export cannot write to the output path ``text`` in format ``fmt``, or None."""
    if not text:
        return "Choose where to save the export."
    out = Path(text).expanduser()
    if not out.parent.is_dir() or (not get_format(fmt).folder and out.is_dir()):
        return "Fix the path to save to (above)."
    return None


def serve_candidate(text: str, fmt: str) -> Path | None:
    """The ONNX file at output path ``text`` that Start would serve, or None."""
    if not get_format(fmt).servable or not text:
        return None
    out = Path(text).expanduser()
    return out if out.suffix.lower() == ".onnx" and out.is_file() else None


# --- the result -----------------------------------------------------------------------------------


def disk_size(path: Path) -> int:
    """The bytes of a file, or of every file under a folder (0 when it cannot be read)."""
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0


def result_title(result: Any) -> str:
    """The result card's title for an ``ExportResult``."""
    verified = result.onnx is not None or getattr(result, "verified", False)
    return "✓  Exported and verified" if verified else "✓  Exported"


def result_figures(result: Any, source: str) -> tuple[list[tuple[str, str]], list[str]]:
    """The result card's figures ``(name, value)`` and its notes, for an ``ExportResult``
    (``source`` is what was exported: ``run 2026…, epoch 3 (best checkpoint)``)."""
    path = Path(result.path)
    report = result.onnx
    rows: list[tuple[str, str]] = [("From", sentence(source).rstrip("."))]
    notes = list(result.notes)
    if report is not None:
        ok = report.max_abs_diff <= report.tolerance
        rows.append(
            (
                "Largest difference",
                f"{report.max_abs_diff:.2e} vs PyTorch (tolerance {report.tolerance:g}){'  ✓' if ok else ''}",
            )
        )
        rows.append(("Batch sizes checked", ", ".join(map(str, report.batch_sizes_checked))))
        if len(report.sequence_lengths_checked) > 1:
            rows.append(("Sequence lengths", ", ".join(map(str, report.sequence_lengths_checked))))
        if report.samples_checked:
            diff = report.samples_max_abs_diff
            rows.append(
                (
                    "Dataset samples",
                    f"{report.samples_checked} checked, largest difference {diff:.2e}"
                    if diff is not None
                    else f"{report.samples_checked} checked",
                )
            )
        else:
            why = next((n for n in notes if "samples" in n and "checked" in n), "")
            if why:
                notes.remove(why)
            rows.append(("Dataset samples", sentence(why or "not checked").rstrip(".")))
        if report.dynamic_axes:
            rows.append(
                (
                    "Dynamic axes",
                    ", ".join(
                        f"{name} (axis {axis})"
                        for axis, name in sorted(report.dynamic_axes.items())
                    ),
                )
            )
        metrics = next(
            (ln for ln in result.lines if ln.startswith("final metrics in the metadata: ")), ""
        )
        if metrics:
            rows.append(("Metrics in the file", metrics.split(": ", 1)[1]))
        rows.append(("Opset", str(report.opset)))
        rows.append(("File size", human_bytes(report.size_bytes or disk_size(path))))
        rows.append(("Time", f"{report.seconds:.1f} s"))
    else:
        files = [Path(p) for p in result.files]
        shown = ", ".join(p.name for p in files[:6]) + (", …" if len(files) > 6 else "")
        rows.append(("Files", shown))
        rows.append(("Size", human_bytes(sum(disk_size(p) for p in files))))
        for line in result.lines[1:]:
            head, _sep, tail = line.partition(": max abs difference ")
            if tail:
                rows.append(
                    ("Verified", f"{sentence(head).rstrip('.')}: largest difference {tail}")
                )
            else:
                notes.append(line)
    return rows, notes


# --- serving --------------------------------------------------------------------------------------


def curl_command(url: str, example: str) -> str:
    """An example request for a server at ``url`` (``example``: one instance as JSON)."""
    body = '{"instances": [' + (example or "...") + "]}"
    return f"curl -X POST {url}/predict -d '{body}'"


__all__ = [
    "RUN_METRICS",
    "RunChoice",
    "curl_command",
    "describe_run",
    "disk_size",
    "gui_wording",
    "issue_text",
    "list_run_choices",
    "one_line",
    "output_note",
    "output_problem",
    "result_figures",
    "result_title",
    "sentence",
    "serve_candidate",
]
