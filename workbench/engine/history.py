"""A project's runs side by side: a :class:`RunSummary` per run, its curves, renaming and deleting.

What ``workbench runs`` prints and the window's Runs panel shows. File reads only (no
torch), from each run's folder (config.json, metrics.jsonl, status.json, run.json) and
the project's runs entry. A damaged run folder gives a run marked failed with the
reason, never an exception, so one bad run cannot hide the others.

A run's name lives in its folder (run.json), nowhere else: renaming writes that one
file, and never the project file, which a window may hold open. A run without a name is
called after its number ("Run 3"), given when its folder was made.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.fileio import os_error_text, process_alive
from workbench.engine.runs import NO_CHECKPOINT, RunDir, run_folders, run_numbers, runs_root

log = logging.getLogger(__name__)

#: How a run stands. ``running``: its process is training it now; ``interrupted``: its
#: process died after a checkpoint (it can be resumed); ``early-stopped``: finished by
#: early stopping; ``stopped``: stopped by the user; ``failed``: an error, a kill before
#: the first checkpoint, or a damaged run folder (the message says which).
STATUSES = ("running", "interrupted", "finished", "early-stopped", "stopped", "failed")
#: The metric a run is summed up by: the first of these its rows have (``val_`` and ``test_`` forms).
HEADLINE_METRICS = ("accuracy", "r2", "mae", "rmse", "loss")
#: The longest name a run may be given.
MAX_NAME = 200
_TIME = "%Y-%m-%dT%H:%M:%S"


class HistoryError(ValueError):
    """A run that cannot be found, renamed or deleted; the message is one line for the user."""


@dataclass
class Curves:
    """A run's per-epoch curves: ``series[key][i]`` is the value of ``key`` at ``epochs[i]``."""

    run_id: str
    name: str
    epochs: list[int] = field(default_factory=list)
    #: Every number of the metrics log by key (train_loss, val_loss, val_accuracy, lr…);
    #: None where an epoch has no value (a NaN, or a key an older row lacks).
    series: dict[str, list[float | None]] = field(default_factory=dict)

    def keys(self) -> list[str]:
        """The curves' keys, in the order of the metrics log."""
        return list(self.series)


@dataclass
class RunSummary:
    """One run of a project, as the runs table lists it."""

    id: str
    name: str
    path: Path
    status: str
    message: str = ""
    #: When the run started, as ``2025-01-31T14:25:01`` (local time), if known.
    started: str | None = None
    #: Seconds spent training: the sum of its epochs' times (a resumed run's pause between
    #: processes does not count), or None before its first epoch.
    duration: float | None = None
    #: The device it trained on (``cpu``, ``cuda:0``…) or, before it started, the one asked for.
    device: str | None = None
    #: Epochs completed, and the number it was set to train.
    epochs: int = 0
    epochs_planned: int | None = None
    #: How many times it was continued (resumed from a checkpoint or trained for more epochs).
    resumed: int = 0
    #: The monitored metric (what picks the best epoch) and its best value and epoch.
    monitor: str | None = None
    best_value: float | None = None
    best_epoch: int | None = None
    #: The run's headline validation metric at its best epoch: ("val_accuracy", 0.97).
    best_metric: tuple[str, float] | None = None
    #: The test split's metrics (by name, without ``test_``) once evaluated, else None.
    test: dict[str, float] | None = None
    #: The training settings, flattened (``{"lr": 0.001, "optimizer": "adam", …}``).
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    #: What is damaged in its folder (the run is then failed).
    problems: list[str] = field(default_factory=list)
    curves: Curves | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        """The status as the table shows it: ``early-stopped``, ``finished, resumed``."""
        return f"{self.status}, resumed" if self.resumed else self.status

    @property
    def test_metric(self) -> tuple[str, float] | None:
        """The test counterpart of :attr:`best_metric` ("test_accuracy", 0.96), or the first headline test metric."""
        if not self.test:
            return None
        wanted = [self.best_metric[0].removeprefix("val_")] if self.best_metric else []
        for name in [*wanted, *HEADLINE_METRICS]:
            value = self.test.get(name)
            if value is not None:
                return f"test_{name}", value
        return None

    def to_json(self) -> dict[str, Any]:
        """The run as ``workbench runs --json`` prints it."""
        best, test = self.best_metric, self.test_metric
        return {
            "id": self.id,
            "name": self.name,
            "path": os.path.abspath(self.path),
            "status": self.status,
            "resumed": self.resumed,
            "message": self.message,
            "started": self.started,
            "duration_s": self.duration,
            "device": self.device,
            "epochs": self.epochs,
            "epochs_planned": self.epochs_planned,
            "monitor": self.monitor,
            "best_epoch": self.best_epoch,
            "best_value": self.best_value,
            "best_metric": {"name": best[0], "value": best[1]} if best else None,
            "test_metric": {"name": test[0], "value": test[1]} if test else None,
            "test": dict(self.test) if self.test is not None else None,
            "hyperparameters": dict(self.hyperparameters),
            "problems": list(self.problems),
        }


# --- reading ----------------------------------------------------------------------------


def load_history(
    project_path: str | os.PathLike[str], entries: Sequence[dict[str, Any]] | None = None
) -> list[RunSummary]:
    """Every run of the project, oldest first: those with a folder and those only the project lists.

    Args:
        project_path: The ``.wbproj`` file.
        entries: The project's runs list when the caller holds the project (the window);
            None reads it from the file.

    Raises:
        HistoryError: the project file cannot be read (entries not given).
    """
    path = Path(project_path)
    if entries is None:
        from workbench.core.project import ProjectError, load_project

        try:
            entries = load_project(path).runs
        except ProjectError as e:
            raise HistoryError(str(e)) from None
    by_id = {e["id"]: e for e in entries if isinstance(e, dict) and isinstance(e.get("id"), str)}
    root = runs_root(path)
    folders = {p.name: p for p in run_folders(root) if _looks_like_a_run(p) or p.name in by_id}
    numbers = run_numbers(root)
    ids = sorted(set(folders) | set(by_id))
    summaries = []
    for place, run_id in enumerate(ids, 1):
        entry = by_id.get(run_id, {})
        folder = folders.get(run_id) or _entry_folder(path, run_id, entry)
        number = numbers.get(run_id, place)
        try:
            summaries.append(_summarize(folder, entry, number))
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
            reason = os_error_text(e) if isinstance(e, OSError) else f"{type(e).__name__}: {e}"
            summaries.append(
                RunSummary(
                    run_id,
                    f"Run {number}",
                    folder,
                    "failed",
                    f"its record cannot be read ({reason})",
                    problems=[reason],
                )
            )
    return summaries


def find_summary(
    project_path: str | os.PathLike[str],
    run_id: str,
    entries: Sequence[dict[str, Any]] | None = None,
) -> RunSummary:
    """The summary of run ``run_id``; HistoryError if the project has no such run."""
    summaries = load_history(project_path, entries)
    for s in summaries:
        if s.id == run_id:
            return s
    known = ", ".join(s.id for s in summaries[-3:]) or "none yet"
    raise HistoryError(f"{Path(project_path).name} has no run '{run_id}' (latest: {known})")


def read_curves(run_dir: str | os.PathLike[str], name: str = "") -> Curves:
    """The per-epoch curves of the run in ``run_dir`` (a missing or damaged log gives none)."""
    folder = Path(run_dir)
    rows, _tests, _problems = _read_log(RunDir(folder))
    return _curves(folder.name, name or folder.name, rows)


def differing_hyperparameters(summaries: Sequence[RunSummary]) -> list[str]:
    """The hyperparameters whose values differ between the runs (one missing in some counts), in first-seen order."""
    if len(summaries) < 2:
        return []
    keys: dict[str, None] = {}
    for s in summaries:
        keys.update(dict.fromkeys(s.hyperparameters))
    missing = object()
    out = []
    for key in keys:
        values = {_canonical(s.hyperparameters.get(key, missing), missing) for s in summaries}
        if len(values) > 1:
            out.append(key)
    return out


def flatten(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested settings as one level with dotted keys: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``."""
    out: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _canonical(value: Any, missing: object) -> str:
    if value is missing:
        return "\0missing"
    return json.dumps(value, sort_keys=True, default=str)


def _looks_like_a_run(folder: Path) -> bool:
    return any(
        (folder / name).exists()
        for name in ("config.json", "status.json", "metrics.jsonl", "run.json", "checkpoints")
    )


def _entry_folder(project_path: Path, run_id: str, entry: dict[str, Any]) -> Path:
    rel = entry.get("path")
    if isinstance(rel, str) and rel:
        p = Path(rel)
        return p if p.is_absolute() else project_path.resolve().parent / p
    return runs_root(project_path) / run_id


def _number(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _read_doc(path: Path, problems: list[str]) -> dict[str, Any] | None:
    """A JSON object file: None when missing; {} with a problem noted when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        problems.append(f"{path.name} cannot be read ({os_error_text(e)})")
        return {}
    except ValueError:
        problems.append(f"{path.name} is not text")
        return {}
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):
        problems.append(f"{path.name} is damaged (not valid JSON)")
        return {}
    if not isinstance(doc, dict):
        problems.append(f"{path.name} is damaged (not a JSON object)")
        return {}
    return doc


def _read_log(
    run: RunDir, problems: list[str] | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """metrics.jsonl as (epoch rows by epoch, other-split lines such as ``{"split": "test"}``, problems).

    A torn last line (a kill while it was written) is skipped quietly; unreadable lines
    before it are a problem. An epoch logged twice keeps its later line.
    """
    problems = [] if problems is None else problems
    try:
        text = run.metrics_path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], [], problems
    except OSError as e:
        problems.append(f"metrics.jsonl cannot be read ({os_error_text(e)})")
        return [], [], problems
    lines = text.splitlines()
    by_epoch: dict[int, dict[str, Any]] = {}
    others: list[dict[str, Any]] = []
    bad = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            row = None
        if not isinstance(row, dict):
            if i < len(lines) - 1:
                bad += 1
            continue
        if "split" in row:
            others.append(row)
            continue
        epoch = _whole(row.get("epoch"))
        if epoch is None or epoch < 1:
            bad += 1
            continue
        by_epoch[epoch] = row
    if bad:
        problems.append(f"metrics.jsonl is damaged ({bad} unreadable line{'s' if bad > 1 else ''})")
    return [by_epoch[e] for e in sorted(by_epoch)], others, problems


def _curves(run_id: str, name: str, rows: list[dict[str, Any]]) -> Curves:
    keys: dict[str, None] = {}
    for row in rows:
        keys.update(dict.fromkeys(k for k in row if k != "epoch"))
    series = {k: [_number(row.get(k)) for row in rows] for k in keys}
    return Curves(
        run_id,
        name,
        [int(row["epoch"]) for row in rows],
        {k: v for k, v in series.items() if any(x is not None for x in v)},
    )


def _test_metrics(others: list[dict[str, Any]], entry: dict[str, Any]) -> dict[str, float] | None:
    """The test split's metrics: the last ``{"split": "test"}`` line of the log, else the entry's ``test``."""
    doc: Any = next((r for r in reversed(others) if r.get("split") == "test"), None)
    if doc is None:
        doc = entry.get("test")
        if isinstance(doc, dict) and isinstance(doc.get("metrics"), dict):
            doc = doc["metrics"]
    if not isinstance(doc, dict):
        return None
    out = {}
    for key, value in doc.items():
        number = _number(value)
        if number is not None and key not in ("epoch", "split"):
            out[str(key).removeprefix("test_")] = number
    return out or None


def _best(
    rows: list[dict[str, Any]], monitor: str, maximize: bool, min_delta: float
) -> tuple[int | None, float | None]:
    """The best epoch by ``monitor``, as the trainer's BestWeights picks it."""
    best_epoch, best = None, None
    for row in rows:
        value = _number(row.get(monitor))
        if value is None:
            continue
        if best is None or (value > best + min_delta if maximize else value < best - min_delta):
            best_epoch, best = int(row["epoch"]), value
    return best_epoch, best


def _maximizes(training: dict[str, Any], monitor: str) -> bool:
    from workbench.engine.config import TrainConfig

    config = TrainConfig()
    config.monitor = monitor
    mode = training.get("monitor_mode")
    config.monitor_mode = mode if mode in ("min", "max") else "auto"
    return config.monitor_is_max()


def _started(entry: dict[str, Any], config: dict[str, Any], run_id: str) -> str | None:
    for value in (entry.get("started"), config.get("created")):
        if isinstance(value, str) and value:
            return value
    try:  # the folder's name is the time it was made: 20250131-142501
        return time.strftime(_TIME, time.strptime(run_id[:15], "%Y%m%d-%H%M%S"))
    except ValueError:
        return None


def _status(
    doc: dict[str, Any] | None, entry: dict[str, Any], run: RunDir, problems: list[str]
) -> tuple[str, str]:
    """How the run stands, with its message, from status.json (else the project's entry)."""
    source = doc if doc else entry
    state, message = source.get("status"), source.get("message")
    message = message if isinstance(message, str) else ""
    if not doc and state in ("running", None):
        if doc is None:  # (a damaged one is noted already)
            problems.append("status.json is missing")
        return "failed", message
    if state == "running":
        pid = doc.get("pid") if doc else None
        if pid == os.getpid() or process_alive(pid) is True:
            return "running", message
        if run.resume_checkpoint() is not None:
            epoch = _whole(source.get("epoch"))
            after = f" after epoch {epoch}" if epoch else ""
            return "interrupted", f"interrupted{after}: its process ended while it trained"
        return "failed", NO_CHECKPOINT
    if state == "finished":
        early = source.get("stopped_early") is True or message.startswith("stopped early")
        return ("early-stopped" if early else "finished"), message
    if state in ("stopped", "failed"):
        return str(state), message
    problems.append(f"status.json holds an unknown status {state!r}")
    return "failed", message


def _summarize(folder: Path, entry: dict[str, Any], number: int) -> RunSummary:
    run = RunDir(folder)
    problems: list[str] = []
    meta = _read_doc(run.meta_path, []) or {}  # a damaged run.json only loses the name
    name = meta.get("name")
    name = name if isinstance(name, str) and name.strip() else f"Run {number}"
    if not folder.is_dir():
        return RunSummary(
            run.id,
            name,
            folder,
            "failed",
            f"its folder {folder} is missing",
            started=_started(entry, {}, run.id),
            problems=["the run folder is missing"],
        )
    status_doc = _read_doc(run.status_path, problems)
    status, message = _status(status_doc, entry, run, problems)
    config = _read_doc(run.config_path, problems)
    if config is None:
        if status != "running":
            problems.append("config.json is missing")
        config = {}
    rows, others, _ = _read_log(run, problems)
    training: dict[str, Any] = {}
    for source in (config, entry):
        if isinstance(source.get("training"), dict):
            training = source["training"]
            break
    doc = status_doc or {}

    monitor = config.get("monitor") or doc.get("monitor") or entry.get("monitor")
    monitor = monitor if isinstance(monitor, str) and monitor else None
    best_epoch, best_value = None, None
    if monitor is not None:
        delta = _number(training.get("min_delta")) or 0.0
        best_epoch, best_value = _best(rows, monitor, _maximizes(training, monitor), delta)
        if best_epoch is None:  # no curves to read it from: what was recorded
            for source in (doc, entry):
                if _whole(source.get("best_epoch")) is not None:
                    best_epoch = _whole(source.get("best_epoch"))
                    best_value = _number(source.get("best_value"))
                    break
    row = next((r for r in rows if r["epoch"] == best_epoch), rows[-1] if rows else {})
    best_metric: tuple[str, float] | None = None
    for metric in HEADLINE_METRICS:
        value = _number(row.get(f"val_{metric}"))
        if value is not None:
            best_metric = (f"val_{metric}", value)
            break
    if best_metric is None and monitor is not None and best_value is not None:
        best_metric = (monitor, best_value)

    epochs = _whole(doc.get("epoch"))
    if epochs is None:
        epochs = _whole(entry.get("epochs"))
    if epochs is None:
        epochs = len(rows)
    planned = _whole(doc.get("epochs"))
    if planned is None:
        planned = _whole(training.get("epochs"))
    seconds = [s for s in (_number(r.get("epoch_seconds")) for r in rows) if s is not None]
    device = config.get("device") or training.get("device")
    resumed = config.get("resumed")
    times_resumed = len(resumed) if isinstance(resumed, list) else int(bool(entry.get("resumed")))
    if problems:
        status, message = "failed", "damaged run folder: " + "; ".join(problems)
    return RunSummary(
        id=run.id,
        name=name,
        path=folder,
        status=status,
        message=message,
        started=_started(entry, config, run.id),
        duration=sum(seconds) if seconds else None,
        device=str(device) if device else None,
        epochs=epochs,
        epochs_planned=planned,
        resumed=times_resumed,
        monitor=monitor,
        best_value=best_value,
        best_epoch=best_epoch,
        best_metric=best_metric,
        test=_test_metrics(others, entry),
        hyperparameters=flatten(training),
        problems=problems,
        curves=_curves(run.id, name, rows),
    )


# --- changing ---------------------------------------------------------------------------


def _run_folder(project_path: str | os.PathLike[str], run_id: str) -> RunDir:
    """The folder of run ``run_id`` (which must be a plain folder name); HistoryError if there is none."""
    root = runs_root(project_path)
    _check_id(run_id)
    folder = root / run_id
    if not folder.is_dir():
        raise HistoryError(f"{Path(project_path).name} has no run folder '{run_id}' in {root}")
    return RunDir(folder)


def _check_id(run_id: str) -> None:
    """A run id is a plain folder name (nothing that would reach outside the runs folder)."""
    if (
        not run_id
        or run_id in (".", "..")
        or run_id.startswith(".")
        or any(c in run_id for c in "/\\:")
        or not run_id.isprintable()
    ):
        raise HistoryError(f"{run_id!r} is not a run id")


def clean_name(name: str) -> str:
    """A name as it is kept: on one line, without surrounding or repeated spaces.

    Raises:
        HistoryError: it is longer than :data:`MAX_NAME` characters.
    """
    text = " ".join("".join(c if c.isprintable() else " " for c in name).split())
    if len(text) > MAX_NAME:
        raise HistoryError(f"a run's name may have at most {MAX_NAME} characters ({len(text)})")
    return text


def rename_run(project_path: str | os.PathLike[str], run_id: str, name: str) -> str:
    """Give run ``run_id`` a name (kept in its run.json); a blank name gives back its default ("Run 3").

    Returns:
        The name the run now has.

    Raises:
        HistoryError: no such run, a name that is too long, or run.json cannot be written.
    """
    from workbench.engine.config import TrainError

    run = _run_folder(project_path, run_id)
    text = clean_name(name)
    meta = run.read_meta()
    if _whole(meta.get("number")) is None:  # a run from before run.json: keep its place
        meta["number"] = run_numbers(run.path.parent).get(run_id, 1)
    if text:
        meta["name"] = text
    else:
        meta.pop("name", None)
    try:
        run.write_meta(meta)
    except TrainError as e:
        raise HistoryError(f"run {run_id} cannot be renamed: {e}") from None
    return text or f"Run {meta['number']}"


def drop_entry(entries: list[dict[str, Any]], run_id: str) -> bool:
    """Remove run ``run_id``'s entry from a project's runs list; True if there was one."""
    kept = [e for e in entries if not (isinstance(e, dict) and e.get("id") == run_id)]
    dropped = len(kept) != len(entries)
    entries[:] = kept
    return dropped


def delete_run(
    project_path: str | os.PathLike[str],
    run_id: str,
    entries: list[dict[str, Any]] | None = None,
) -> None:
    """Delete run ``run_id``: its folder and its entry in the project's runs list.

    The folder is first renamed to a hidden name (so it leaves every listing at once,
    and a failure before the project is updated puts it back), then removed.

    Args:
        project_path: The ``.wbproj`` file.
        run_id: The run.
        entries: The runs list of a project the caller holds (the window), which loses
            the entry here and is saved by the caller; None updates the project file.

    Raises:
        HistoryError: no such run, the run is training, or its folder or the project
            file cannot be changed (nothing is then deleted).
    """
    from workbench.core.project import ProjectError, load_project, save_project

    path = Path(project_path)
    _check_id(run_id)
    summary = find_summary(path, run_id, entries)
    if summary.status == "running":
        raise HistoryError(f"{summary.name} ({run_id}) is training: stop it before deleting it")
    root = runs_root(path)
    folder = root / run_id  # never a folder elsewhere that a project file's entry points to
    trash: Path | None = None
    if folder.is_dir():
        trash = folder.with_name(f".{run_id}.deleting")
        try:
            if trash.exists():
                shutil.rmtree(trash)
            folder.rename(trash)
        except OSError as e:
            raise HistoryError(
                f"{summary.name} ({run_id}) cannot be deleted: {folder} ({os_error_text(e)})"
            ) from None
    try:
        if entries is not None:
            drop_entry(entries, run_id)
        else:
            project = load_project(path)
            if drop_entry(project.runs, run_id):
                save_project(project, path)
    except ProjectError as e:
        if trash is not None:
            with contextlib.suppress(OSError):
                trash.rename(folder)
        raise HistoryError(f"{summary.name} ({run_id}) was not deleted: {e}") from None
    if trash is not None:
        _remove_tree(trash)
    for left in root.glob(".*.deleting"):  # what an earlier delete could not remove
        _remove_tree(left, quiet=True)


def _remove_tree(folder: Path, quiet: bool = False) -> None:
    try:
        shutil.rmtree(folder)
    except OSError as e:
        if not quiet:
            log.warning(
                "%s could not be removed completely (%s); it is removed at the next delete",
                folder,
                os_error_text(e),
            )


__all__ = [
    "HEADLINE_METRICS",
    "STATUSES",
    "Curves",
    "HistoryError",
    "RunSummary",
    "clean_name",
    "delete_run",
    "differing_hyperparameters",
    "drop_entry",
    "find_summary",
    "flatten",
    "load_history",
    "read_curves",
    "rename_run",
]
