"""Runs recorded beside the project, and :func:`train_project`: everything ``workbench train`` does.

A project ``net.wbproj`` keeps its runs in ``net.runs/<run-id>/``::

    config.json        the training configuration, graph, data settings, seed, device…
    metrics.jsonl      one line per epoch: epoch, train_loss, val_loss, val_<metric>…, lr,
                       epoch_seconds, samples_per_s; once the run ended, a last line
                       {"split": "test", ...}: its best weights on the test split
    status.json        running / finished / stopped / failed, with a message (running from
                       the moment the folder is made, with the process id)
    run.json           the run's number ("Run 3") and the name the user gave it, if any
    dataset.json       the dataset's fingerprint when the run started (see workbench.data.fingerprint)
    test.json          the test split's metrics in full (confusion matrix, per class), once
                       the run ended (see workbench.engine.evaluation)
    events.out.tfevents.*  the curves for TensorBoard (workbench.engine.tensorboard_log)
    checkpoints/       last.pt (after every epoch) and best.pt (the best epoch), and
                       sha256.json, their checksums

A run is resumed only from what it was: a checkpoint that fails its checksum or a
dataset that changed since the run started is refused (:class:`ResumeRefused`), and
a new run can start from the old run's weights instead (``from_run``).

A run killed before ``last.pt`` was first written resumes from ``best.pt`` (written just
before it, with the same state); one killed before any checkpoint is marked failed.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.core.fileio import atomic_write_text, os_error_text, process_alive
from workbench.core.project import runs_folder
from workbench.engine.config import TrainError

if TYPE_CHECKING:
    from workbench.core.project import Project
    from workbench.data.base import DataSettings, Source
    from workbench.engine.session import Session
    from workbench.engine.trainer import Callback

UNFINISHED = ("running", "stopped", "failed")


def clean_json(row: dict[str, Any]) -> dict[str, Any]:
    """A copy with NaN and infinities as None, so the JSON stays standard."""
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()
    }


class RunDir:
    """The folder of one run and its files."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    @property
    def id(self) -> str:
        """The run id (the folder's name)."""
        return self.path.name

    @property
    def config_path(self) -> Path:
        """config.json."""
        return self.path / "config.json"

    @property
    def metrics_path(self) -> Path:
        """metrics.jsonl."""
        return self.path / "metrics.jsonl"

    @property
    def status_path(self) -> Path:
        """status.json."""
        return self.path / "status.json"

    @property
    def meta_path(self) -> Path:
        """run.json: the run's number and the name the user gave it."""
        return self.path / "run.json"

    @property
    def fingerprint_path(self) -> Path:
        """dataset.json: the dataset's fingerprint when the run started."""
        return self.path / "dataset.json"

    @property
    def test_path(self) -> Path:
        """test.json: the test split's metrics once the run ended."""
        return self.path / "test.json"

    @property
    def checkpoints(self) -> Path:
        """The checkpoints folder."""
        return self.path / "checkpoints"

    @property
    def last(self) -> Path:
        """The checkpoint written after every epoch."""
        return self.checkpoints / "last.pt"

    @property
    def best(self) -> Path:
        """The checkpoint of the best epoch so far."""
        return self.checkpoints / "best.pt"

    def resume_checkpoint(self) -> Path | None:
        """The checkpoint to continue from: ``last.pt``, else ``best.pt`` (a kill between the two), else None."""
        for path in (self.last, self.best):
            if path.is_file():
                return path
        return None

    def write_config(self, config: dict[str, Any]) -> None:
        """Write config.json atomically."""
        _write(self.config_path, json.dumps(config, indent=2, default=str) + "\n")

    def read_config(self) -> dict[str, Any]:
        """config.json, or {} if it is missing or unreadable."""
        return _read_json(self.config_path)

    def read_meta(self) -> dict[str, Any]:
        """run.json, or {} if it is missing or unreadable (a run recorded before it existed)."""
        return _read_json(self.meta_path)

    def write_meta(self, meta: dict[str, Any]) -> None:
        """Write run.json atomically."""
        _write(self.meta_path, json.dumps(meta, indent=2, ensure_ascii=False) + "\n")

    def write_fingerprint(self, fingerprint: dict[str, Any]) -> None:
        """Write dataset.json atomically."""
        _write(self.fingerprint_path, json.dumps(fingerprint) + "\n")

    def read_fingerprint(self) -> dict[str, Any]:
        """dataset.json, or {} if it is missing or unreadable (an older run)."""
        return _read_json(self.fingerprint_path)

    def append_metrics(self, row: dict[str, Any]) -> None:
        """Add an epoch's line to metrics.jsonl."""
        with open(self.metrics_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(clean_json(row)) + "\n")

    def write_metrics(self, rows: Sequence[dict[str, Any]]) -> None:
        """Replace metrics.jsonl with ``rows`` (a resumed run drops lines after its checkpoint)."""
        _write(self.metrics_path, "".join(json.dumps(clean_json(r)) + "\n" for r in rows))

    def _metrics_lines(self) -> list[dict[str, Any]]:
        rows = []
        try:
            text = self.metrics_path.read_text(encoding="utf-8")
        except OSError:
            return []
        for line in text.splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(row, dict):
                rows.append(row)
        return rows

    def read_metrics(self) -> list[dict[str, Any]]:
        """The epochs' rows of metrics.jsonl (a torn last line is skipped; the test line is
        left out: see :meth:`read_test_metrics`)."""
        return [row for row in self._metrics_lines() if "split" not in row]

    def read_test_metrics(self) -> dict[str, Any] | None:
        """The ``{"split": "test", ...}`` line of metrics.jsonl, or None before the run ended."""
        tests = [row for row in self._metrics_lines() if row.get("split") == "test"]
        return tests[-1] if tests else None

    def write_test(self, doc: dict[str, Any]) -> None:
        """Write test.json atomically."""
        _write(self.test_path, json.dumps(clean_json(doc), indent=2) + "\n")

    def read_test(self) -> dict[str, Any]:
        """test.json, or {} if it is missing or unreadable (a run that has not ended)."""
        return _read_json(self.test_path)

    def write_status(self, status: str, message: str = "", **extra: Any) -> None:
        """Write status.json atomically."""
        doc = {
            "status": status,
            "message": message,
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S"),
            **extra,
        }
        if "pid" not in extra:
            doc["pid"] = os.getpid()
        _write(self.status_path, json.dumps(clean_json(doc), indent=2) + "\n")

    def read_status(self) -> dict[str, Any]:
        """status.json, or {} if it is missing or unreadable."""
        return _read_json(self.status_path)


def _write(path: Path, text: str, attempts: int = 10) -> None:
    """Write a run file atomically, waiting out a reader that holds it open (Windows).

    Raises:
        TrainError: the file cannot be written.
    """
    for attempt in range(attempts):
        try:
            atomic_write_text(path, text)
            return
        except PermissionError as e:
            if (
                sys.platform != "win32"
            ):  # a sharing violation is a Windows thing; here it is the permissions
                raise TrainError(f"{path}: cannot be written ({os_error_text(e)})") from None
            if attempt == attempts - 1:
                raise TrainError(
                    f"{path}: cannot be written (it is locked by another program)"
                ) from None
            time.sleep(0.05 * (attempt + 1))
        except OSError as e:
            raise TrainError(f"{path}: cannot be written ({os_error_text(e)})") from None


def _read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def runs_root(project_path: str | os.PathLike[str]) -> Path:
    """The folder holding a project's runs: ``net.wbproj`` -> ``net.runs``."""
    return runs_folder(project_path)


def new_run(project_path: str | os.PathLike[str]) -> RunDir:
    """Create a fresh run folder named after the time (``20250131-142501``).

    The folder starts with a ``running`` status.json holding this process's id, so that a
    run being set up is not taken for a dead one (nor deleted), and a run.json with its
    number (the next after the project's other runs).

    Raises:
        TrainError: the folder cannot be made (read-only file system, no permission…).
    """
    root = runs_root(project_path)
    try:
        root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for k in range(1, 1000):
            name = stamp if k == 1 else f"{stamp}-{k:03d}"
            try:
                (root / name).mkdir()
            except FileExistsError:
                continue
            run = RunDir(root / name)
            run.checkpoints.mkdir()
            run.write_status("running", "starting")
            run.write_meta({"number": next_run_number(root, run.path)})
            return run
    except OSError as e:
        raise TrainError(f"{root}: cannot create a run folder there ({os_error_text(e)})") from None
    raise TrainError(f"{root}: cannot create a run folder")  # pragma: no cover


def run_folders(root: Path) -> list[Path]:
    """The folders in a runs folder, oldest first (hidden ones, such as a run being deleted, left out)."""
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def list_runs(project_path: str | os.PathLike[str]) -> list[RunDir]:
    """The project's runs, oldest first."""
    return [
        RunDir(p)
        for p in run_folders(runs_root(project_path))
        if (p / "config.json").exists() or (p / "status.json").exists()
    ]


def run_numbers(root: Path) -> dict[str, int]:
    """Each run folder's number, by folder name: the one in its run.json, else its place (1, 2…)."""
    numbers: dict[str, int] = {}
    for place, folder in enumerate(run_folders(root), 1):
        number = RunDir(folder).read_meta().get("number")
        if isinstance(number, int) and not isinstance(number, bool) and number > 0:
            numbers[folder.name] = number
        else:
            numbers[folder.name] = place
    return numbers


def next_run_number(root: Path, new: Path | None = None) -> int:
    """The number of a new run: one more than the project's runs (or than their highest number)."""
    numbers = [n for name, n in run_numbers(root).items() if new is None or name != new.name]
    return max([len(numbers), *numbers]) + 1


def _alive(pid: Any) -> bool:
    """Another process, known to be alive (this one and unknown ones are not)."""
    return pid != os.getpid() and bool(process_alive(pid))


NO_CHECKPOINT = "interrupted before its first checkpoint"


def find_unfinished_run(project_path: str | os.PathLike[str]) -> RunDir | None:
    """The newest run that did not finish (stopped, failed or killed) and has a checkpoint to resume from.

    A run killed before its first checkpoint is skipped (:func:`settle_interrupted_runs`
    marks it failed).

    Raises:
        TrainError: that run is still being trained by another process.
    """
    for run in reversed(list_runs(project_path)):
        status = run.read_status()
        state = status.get("status")
        if state == "finished":
            continue
        if state == "running" and _alive(status.get("pid")):
            raise TrainError(
                f"run {run.id} is still training in process {status['pid']}; stop it first"
            )
        if run.resume_checkpoint() is None:
            continue
        return run
    return None


@dataclass
class Interrupted:
    """A run whose process was killed while it trained, with a checkpoint to resume from."""

    run: RunDir
    checkpoint: Path
    #: The epochs it had completed and was to train (from status.json), when recorded.
    epoch: int | None = None
    epochs: int | None = None

    def describe(self) -> str:
        """One sentence for the user: "Run 20250131-142501 was interrupted after epoch 5 of 30."."""
        if self.epoch is None:
            return f"Run {self.run.id} was interrupted while it trained."
        of = f" of {self.epochs}" if self.epochs is not None else ""
        return f"Run {self.run.id} was interrupted after epoch {self.epoch}{of}."


def interrupted_run(project_path: str | os.PathLike[str]) -> Interrupted | None:
    """The project's newest run when its process was killed while it trained and left a checkpoint.

    File reads only (no torch): the window asks when it shows a project. A run still
    training (in another process, or in this one) and a run that ended are not
    interrupted; neither is a killed run without a checkpoint (:func:`settle_interrupted_runs`).
    """
    runs = list_runs(project_path)
    if not runs:
        return None
    run = runs[-1]
    status = run.read_status()
    pid = status.get("pid")
    if status.get("status") != "running" or pid == os.getpid() or _alive(pid):
        return None
    checkpoint = run.resume_checkpoint()
    if checkpoint is None:
        return None

    def number(key: str) -> int | None:
        value = status.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    return Interrupted(run, checkpoint, number("epoch"), number("epochs"))


def settle_quietly(project_path: str | os.PathLike[str]) -> list[str]:
    """:func:`settle_interrupted_runs` where failing to settle must not stop what comes next.

    Opening a project or starting a new run settles killed runs on the way; a project that
    cannot be read or written here says so later, in its own words.
    """
    from workbench.core.project import ProjectError

    try:
        return settle_interrupted_runs(project_path)
    except (OSError, ProjectError, ValueError):
        return []


def settle_interrupted_runs(project_path: str | os.PathLike[str]) -> list[str]:
    """Mark the project's killed runs that left no checkpoint as failed, in status.json and the project.

    Returns:
        The ids of the runs marked failed.
    """
    path = Path(project_path)
    settled: list[str] = []
    for run in list_runs(path):
        status = run.read_status()
        if (
            status.get("status") != "running"
            or _alive(status.get("pid"))
            or status.get("pid") == os.getpid()
        ):
            continue
        if run.resume_checkpoint() is None:
            run.write_status("failed", NO_CHECKPOINT, pid=status.get("pid"))
            settled.append(run.id)
    if settled:
        from workbench.core.project import ProjectError, load_project

        try:
            project = load_project(path)
        except ProjectError:
            return settled
        changed = False
        for entry in project.runs:
            if entry.get("id") in settled and entry.get("status") == "running":
                entry.update(status="failed", message=NO_CHECKPOINT)
                changed = True
        if changed:
            _save(project, path)
    return settled


# --- train_project --------------------------------------------------------------------------


@dataclass
class RunResult:
    """What ``workbench train`` reports."""

    run_id: str
    run_dir: Path
    status: str  # finished or stopped (failures raise TrainError)
    message: str
    epochs_done: int
    history: list[dict[str, Any]]
    monitor: str
    best_epoch: int | None
    best_value: float | None
    final: dict[str, Any]
    resumed: bool = False
    notes: list[str] = field(default_factory=list)
    #: The test split's figures, or why there are none (see ``FitResult.test``).
    test: dict[str, Any] | None = None


def train_project(
    project_path: str | os.PathLike[str],
    *,
    data: str | os.PathLike[str] | None = None,
    target: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    lr: float | None = None,
    optimizer: str | None = None,
    device: str | None = None,
    seed: int | None = None,
    cuda_graphs: str | None = None,
    metrics_path: str | os.PathLike[str] | None = None,
    resume: bool = False,
    from_run: str | None = None,
    callbacks: Sequence[Callback] = (),
    progress: bool = False,
) -> RunResult:
    """Train a project's model on its dataset and record the run; what ``workbench train`` does.

    Args:
        project_path: The ``.wbproj`` file.
        data: Use this dataset instead of the project's; it is stored in the project and
            the model's Input and Output are fitted to it.
        target: The target column of a table.
        epochs: Overrides the project's training settings (with ``resume``: the new
            total, so a run can be continued for more epochs).
        batch_size: Overrides the project's training settings.
        lr: Overrides the project's training settings.
        optimizer: Overrides the project's training settings.
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; None keeps the project's.
        seed: Overrides the project's seed.
        cuda_graphs: ``auto``, ``on`` or ``off``: capture the training step in a CUDA
            graph (a resumed run may change it, as it may change the device).
        metrics_path: Also write the metrics JSONL here.
        resume: Continue the project's last unfinished run from its last checkpoint.
            Refused (:class:`ResumeRefused`) when the checkpoint is damaged or the
            dataset changed since the run started.
        from_run: Start a new run from the weights of this run's newest intact
            checkpoint (a fresh optimizer and schedule, the project's settings).
        callbacks: Extra callbacks (after the built-in ones).
        progress: Draw a progress bar on stderr.

    Returns:
        The run's outcome (finished, or stopped by Ctrl-C handling in a callback).

    Raises:
        TrainError: one line for the user: a bad project or dataset, a bad setting, a model
            that does not fit the data, a NaN loss… The run is recorded as failed.
        KeyboardInterrupt: after recording the run as stopped.
    """
    from workbench.core.project import ProjectError, load_project
    from workbench.engine.trainer import MetricsLogger, ProgressBar

    path = Path(project_path)
    if not resume:  # a resume settles them itself, to say why there is nothing to resume
        settle_quietly(path)
    try:
        project = load_project(path)
    except ProjectError as e:
        raise TrainError(str(e)) from None
    cbs: list[Callback] = []
    if progress:
        cbs.append(ProgressBar())
    if metrics_path is not None:
        cbs.append(MetricsLogger(metrics_path))
    cbs.extend(callbacks)
    if resume and from_run is not None:
        raise TrainError("resume continues a run and from_run starts a new one: choose one")
    if resume:
        changed = [
            name
            for name, v in (
                ("data", data),
                ("target", target),
                ("batch size", batch_size),
                ("learning rate", lr),
                ("optimizer", optimizer),
                ("seed", seed),
            )
            if v is not None
        ]
        if changed:
            raise TrainError(
                f"a resumed run keeps its settings: {changed[0]} cannot be changed (only epochs, device and CUDA graphs)"
            )
        return _resume(path, project, epochs, device, cuda_graphs, cbs)
    return _train_new(
        path,
        project,
        data,
        target,
        cbs,
        dict(
            epochs=epochs,
            batch_size=batch_size,
            lr=lr,
            optimizer=optimizer,
            device=device,
            seed=seed,
            cuda_graphs=cuda_graphs,
        ),
        from_run,
    )


def run_info(
    project_path: str | os.PathLike[str] | None, graph: Any, settings: DataSettings | None
) -> dict[str, Any]:
    """What a run's config.json needs so that ``workbench train --resume`` can rebuild it.

    Set it as ``trainer.run_info`` before ``fit()`` (the GUI does the same as the CLI):
    the graph the model was compiled from, the dataset settings with an absolute path, and
    the dataset's fingerprint (written to dataset.json, so a resume can tell if it changed).
    """
    from workbench.data.fingerprint import dataset_fingerprint

    data = settings.to_dict() if settings is not None else None
    info: dict[str, Any] = {
        "project": str(Path(project_path).resolve()) if project_path is not None else None,
        "graph": graph.to_dict(),
        "data": data,
    }
    if data is not None:
        data["path"] = str(Path(data["path"]).resolve())
        try:
            info["data_fingerprint"] = dataset_fingerprint(data["path"])
        except OSError:
            pass  # the data was readable a moment ago; without a fingerprint, resume just trusts it
    return info


class ResumeRefused(TrainError):
    """A run that must not be continued: a damaged checkpoint, or data that changed since it started.

    Attributes:
        run_id: The run.
        weights: A checkpoint of the run that is intact, from which a new run can start
            (:func:`train_project` with ``from_run``), or None when there is none.
    """

    def __init__(self, message: str, run_id: str, weights: Path | None) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.weights = weights


def intact_weights(run: RunDir) -> Path | None:
    """The run's newest checkpoint that passes its checksum (``last.pt``, else ``best.pt``), or None."""
    from workbench.engine.checkpoint import verify_checkpoint

    for path in (run.last, run.best):
        if not path.is_file():
            continue
        try:
            verify_checkpoint(path)
        except TrainError:
            continue
        return path
    return None


def check_resume(run: RunDir, checkpoint: Path, data_path: str | os.PathLike[str]) -> None:
    """Refuse to continue ``run`` from ``checkpoint`` unless both are as the run left them.

    The checkpoint must match its recorded checksum and the dataset its fingerprint from
    the run's start. A run recorded before either was kept has nothing to compare and
    passes. The CLI's ``--resume`` and the window's "train more" both call this.

    Raises:
        ResumeRefused: what changed, in one line (and which weights could start a new run).
    """
    from workbench.data.fingerprint import dataset_fingerprint, describe_change
    from workbench.engine.checkpoint import CheckpointDamaged, verify_checkpoint

    try:
        verify_checkpoint(checkpoint)
    except CheckpointDamaged:
        weights = intact_weights(run)
        raise ResumeRefused(
            f"run {run.id} cannot be resumed: checkpoint {checkpoint.name} is damaged (checksum mismatch)",
            run.id,
            weights,
        ) from None
    recorded = run.read_fingerprint()
    if not recorded:
        return
    try:
        now = dataset_fingerprint(data_path)
    except OSError as e:
        raise TrainError(f"{data_path}: cannot be read ({os_error_text(e)})") from None
    change = describe_change(recorded, now, Path(data_path).name)
    if change is not None:
        raise ResumeRefused(
            f"run {run.id} cannot be resumed: the dataset changed since this run started: {change}",
            run.id,
            intact_weights(run),
        )


def find_run(project_path: str | os.PathLike[str], run_id: str) -> RunDir:
    """The project's run ``run_id``.

    Raises:
        TrainError: there is no such run.
    """
    runs = list_runs(project_path)
    for run in runs:
        if run.id == run_id:
            return run
    known = ", ".join(r.id for r in runs[-3:]) or "none yet"
    raise TrainError(f"{Path(project_path).name} has no run '{run_id}' (latest: {known})")


def load_initial_weights(model: Any, checkpoint: Path) -> int:
    """Put a checkpoint's model weights into ``model`` (a new run starting from an old one's weights).

    Returns:
        The epoch the weights come from.

    Raises:
        TrainError: the checkpoint is damaged or unreadable, or does not fit the model.
    """
    from workbench.engine.checkpoint import load_checkpoint

    state = load_checkpoint(checkpoint)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError, ValueError) as e:
        first = (str(e).strip().splitlines() or [""])[0]
        raise TrainError(
            f"the weights in {checkpoint.name} do not fit the model (was the model edited?): {first}"
        ) from None
    return int(state.get("epoch", 0))


def _resolve_data(
    project: Project, path: Path, data: str | os.PathLike[str] | None, target: str | None
) -> tuple[DataSettings, Source, list[str], bool]:
    """The dataset settings and source; a new dataset or target is stored in the project."""
    from workbench.core.graph import GraphError
    from workbench.data import DataError, open_dataset
    from workbench.data.link import (
        default_settings,
        fit_model_to_data,
        settings_from_project,
        store_settings,
    )

    try:
        current = settings_from_project(project, path)
        if data is not None:
            source = open_dataset(data, target)
            if current is not None and Path(current.path).resolve() == Path(data).resolve():
                settings = current
                if target is not None:
                    settings.target = target
            else:
                settings = default_settings(source, target)
        else:
            if current is None:
                raise TrainError(
                    f"{path.name} has no dataset: pass --data PATH, or attach one with 'workbench data attach {path.name} PATH'"
                )
            settings = current
            if target is not None:
                settings.target = target
            source = open_dataset(settings.path, settings.target)
        notes: list[str] = []
        changed = data is not None or target is not None
        if changed:
            notes = fit_model_to_data(project.graph, source, settings)
            store_settings(project, settings, path)
        return settings, source, notes, changed
    except DataError as e:
        raise TrainError(str(e)) from None
    except GraphError as e:
        raise TrainError(f"the model cannot be fitted to the data: {e}") from None


def _train_new(
    path: Path,
    project: Project,
    data: Any,
    target: str | None,
    cbs: list[Callback],
    overrides: dict[str, Any],
    from_run: str | None = None,
) -> RunResult:
    from workbench.engine.config import TrainConfig
    from workbench.engine.session import new_session

    weights: Path | None = None
    if from_run is not None:
        weights = intact_weights(find_run(path, from_run))
        if weights is None:
            raise TrainError(f"run {from_run} has no intact checkpoint to start a new run from")
    settings, source, notes, changed = _resolve_data(project, path, data, target)
    config = TrainConfig.from_dict(project.training, **overrides)
    session = new_session(
        path,
        project.graph,
        settings,
        config,
        cbs,
        source=source,
        init_from=weights,
        from_run=from_run,
        before_run=(lambda: _save(project, path)) if changed else None,
    )
    session.notes[:0] = notes
    return _fit(session)


def _resume(
    path: Path,
    project: Project,
    epochs: int | None,
    device: str | None,
    cuda_graphs: str | None,
    cbs: list[Callback],
) -> RunResult:
    from workbench.engine.session import resumed_session

    return _fit(resumed_session(path, cbs, epochs=epochs, device=device, cuda_graphs=cuda_graphs))


def _fit(session: Session) -> RunResult:
    from workbench.engine.session import record_run

    path, run, trainer = session.project_path, session.run, session.trainer
    record_run(path, run, session.start_entry())
    try:
        result = session.fit()
    except TrainError as e:
        record_run(path, run, session.entry("failed", str(e)))
        raise
    except KeyboardInterrupt:
        record_run(path, run, session.entry("stopped", "interrupted"))
        raise
    record_run(path, run, session.entry())
    return RunResult(
        run_id=run.id,
        run_dir=run.path,
        status=result.status,
        message=result.message,
        epochs_done=result.epochs_done,
        history=result.history,
        monitor=result.monitor,
        best_epoch=result.best_epoch,
        best_value=result.best_value,
        final=result.final,
        resumed=session.continued,
        notes=session.notes + list(trainer.notes),
        test=result.test,
    )


def _save(project: Project, path: Path) -> None:
    from workbench.core.project import ProjectError, save_project

    try:
        save_project(project, path)
    except ProjectError as e:
        raise TrainError(str(e)) from None
