"""One training session: from a project's model, dataset and settings to a running, recorded Trainer.

Both ``workbench train`` (:func:`workbench.engine.runs.train_project`) and the window's
Train tab (through :mod:`workbench.engine.job`) start runs here, so they open, prepare, seed,
compile, make the run folder and map errors the same way. A session is set up by
:func:`new_session` (a new run, optionally from an earlier run's weights) or
:func:`continued_session` (a run continued from its checkpoint); :meth:`Session.fit`
trains and, once the run ended, evaluates its best weights on the test split (the
trainer's ``TestEvaluation`` callback), and :meth:`Session.entry` gives the fields of the
project's runs entry, test figures included, which the caller writes (the command line straight into the project file with
:func:`record_run`, the window through its document).
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.engine.config import TrainConfig, TrainError
from workbench.engine.runs import (
    RunDir,
    check_resume,
    clean_json,
    load_initial_weights,
    new_run,
    run_info,
)

if TYPE_CHECKING:
    from workbench.core.graph import Graph
    from workbench.data.base import DataSettings, Source
    from workbench.data.prepared import Prepared
    from workbench.engine.trainer import Callback, FitResult, Trainer

Progress = Callable[[int, int], None]
Cancelled = Callable[[], bool]


class SessionCancelled(Exception):
    """The session was cancelled (``cancelled()`` turned true) before training began."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


def _no_log(text: str) -> None:
    """Drop a progress line (the command line prints none)."""


@dataclass
class Session:
    """A run ready to train: its folder, its trainer and what it started from."""

    project_path: Path
    run: RunDir
    trainer: Trainer
    #: Notes for the user (the data's, fitting the model to the data, the starting weights).
    notes: list[str] = field(default_factory=list)
    #: True when an earlier run is continued from its checkpoint.
    continued: bool = False
    #: The run whose weights a new run started from ({"run", "checkpoint", "epoch"}).
    from_run: dict[str, Any] | None = None
    started: str = field(default_factory=_now)
    #: How the run ended, once :meth:`fit` returned.
    result: FitResult | None = None

    def start_entry(self) -> dict[str, Any]:
        """The fields of the project's runs entry while the run trains."""
        if self.continued:  # its earlier test figures no longer describe its best weights
            return {"status": "running", "resumed": _now(), "test": None}
        start = {"from_run": dict(self.from_run)} if self.from_run is not None else {}
        return {
            "status": "running",
            "started": self.started,
            "training": self.trainer.config.to_dict(),
            **start,
        }

    def fit(self) -> FitResult:
        """Train, then evaluate the best weights on the test split (``result.test``).

        Raises TrainError (or KeyboardInterrupt) after the run folder recorded the failure.
        """
        self.result = self.trainer.fit()
        return self.result

    def entry(self, status: str | None = None, message: str | None = None) -> dict[str, Any]:
        """The fields of the project's runs entry once the run ended (``id`` and ``path`` are added by the writer).

        ``status`` and ``message`` default to the trainer's.
        """
        trainer = self.trainer
        return run_entry(
            status if status is not None else trainer.status,
            message if message is not None else trainer.message,
            epochs=trainer.epoch,
            training=trainer.config.to_dict(),
            monitor=trainer.monitor if trainer.history or self.result is not None else None,
            best_epoch=trainer.best_epoch,
            best_value=trainer.best_value,
            final=dict(trainer.history[-1]) if trainer.history else None,
            started=None if self.continued else self.started,
            from_run=self.from_run,
            test=trainer.test_record,
        )


def run_entry(
    status: str,
    message: str,
    *,
    epochs: int,
    ended: str | None = None,
    training: dict[str, Any] | None = None,
    monitor: str | None = None,
    best_epoch: int | None = None,
    best_value: float | None = None,
    final: dict[str, Any] | None = None,
    started: str | None = None,
    from_run: dict[str, Any] | None = None,
    test: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The fields of a project's runs entry for a run that ended (``ended`` is now unless given).

    ``test`` is the trainer's ``test_record``: the test split's figures, or why there are none.
    """
    fields: dict[str, Any] = {
        "status": status,
        "message": message,
        "epochs": epochs,
        "ended": _now() if ended is None else ended,
    }
    if started is not None:
        fields["started"] = started
    if training:
        fields["training"] = dict(training)
    if monitor is not None:
        fields.update(monitor=monitor, best_epoch=best_epoch, best_value=best_value)
    if final:
        fields["final"] = clean_json(final)
    if from_run is not None:
        fields["from_run"] = dict(from_run)
    if test is not None:
        fields["test"] = clean_json(test)
    return fields


def record_run(project_path: str | os.PathLike[str], run: RunDir, fields: dict[str, Any]) -> None:
    """Add or update the run's entry in the project file's runs list (re-reading the file first)."""
    from workbench.core.project import ProjectError, load_project, save_project

    path = Path(project_path)
    try:
        project = load_project(path)
    except ProjectError as e:
        raise TrainError(str(e)) from None
    update_runs(project.runs, run.id, run.path, path, fields)
    try:
        save_project(project, path)
    except ProjectError as e:
        raise TrainError(str(e)) from None


def update_runs(
    runs: list[dict[str, Any]],
    run_id: str,
    run_dir: Path,
    project_path: Path | None,
    fields: dict[str, Any],
) -> None:
    """Add or update run ``run_id``'s entry in a runs list (the path relative to the project where it can be)."""
    for entry in runs:
        if entry.get("id") == run_id:
            entry.update(fields)
            return
    rel = str(run_dir)
    if project_path is not None:
        try:
            rel = os.path.relpath(run_dir.resolve(), project_path.resolve().parent)
        except ValueError:  # another drive on Windows
            pass
    runs.append({"id": run_id, "path": Path(rel).as_posix(), **fields})


# --- setting a session up ----------------------------------------------------------------------


def resolve(device: str) -> None:
    """Check that ``device`` can be used (before anything slow is done); TrainError if not."""
    from workbench.engine.devices import DeviceError, resolve_device

    try:
        resolve_device(device)
    except DeviceError as e:
        raise TrainError(str(e)) from None


def compile_model(graph: Graph) -> Any:
    """The graph as a torch module; TrainError when it cannot be built."""
    from workbench.engine.compiler import CompileError, compile_graph

    try:
        return compile_graph(graph)
    except CompileError as e:
        raise TrainError(str(e)) from None


def prepare(
    settings: DataSettings,
    source: Source | None = None,
    *,
    log: Callable[[str], None] = _no_log,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Prepared:
    """Open (unless ``source`` is given) and prepare the dataset for training.

    Raises:
        TrainError: the data cannot be read or prepared.
        SessionCancelled: ``cancelled()`` turned true meanwhile.
    """
    from workbench.data import DataCancelled, DataError, open_dataset

    name = Path(settings.path).name
    log(f"Reading {name}…")
    try:
        if source is None:
            source = open_dataset(settings.path, settings.target, cancelled=cancelled)
            _check(cancelled)
        log(f"Preparing {name} for training…")
        if progress is None and cancelled is None:
            prepared = source.prepare(settings)
        else:
            prepared = source.prepare(settings, progress, cancelled)
    except DataCancelled:
        raise SessionCancelled from None
    except DataError as e:
        raise TrainError(str(e)) from None
    except (OSError, ValueError) as e:
        raise TrainError(f"{settings.path}: the data cannot be prepared ({e})") from None
    _check(cancelled)
    return prepared


def _check(cancelled: Cancelled | None) -> None:
    if cancelled is not None and cancelled():
        raise SessionCancelled


def new_session(
    project_path: str | os.PathLike[str],
    graph: Graph,
    settings: DataSettings,
    config: TrainConfig,
    callbacks: Sequence[Callback] = (),
    *,
    source: Source | None = None,
    init_from: Path | None = None,
    from_run: str | None = None,
    before_run: Callable[[], None] | None = None,
    log: Callable[[str], None] = _no_log,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Session:
    """A new run of ``graph`` on the dataset ``settings`` describes, trained as ``config`` says.

    Args:
        project_path: The ``.wbproj`` file; the run's folder is made beside it.
        graph: The model (a copy: the session keeps it in the run's config.json).
        settings: The dataset settings.
        config: The training settings (a missing seed is drawn and set here).
        callbacks: The caller's callbacks (after the trainer's own).
        source: The dataset, when the caller has opened it already.
        init_from: Start from this checkpoint's weights (of an earlier run).
        from_run: The earlier run's id, for the record (the folder of ``init_from`` by default).
        before_run: Called just before the run folder is made (e.g. to save the project).
        log: Receives a line for each step (the window's log panel).
        progress: Receives the preparation's progress.
        cancelled: Polled between steps; once true, :class:`SessionCancelled` is raised.
    """
    from workbench.engine.trainer import Trainer, seed_everything

    resolve(config.device)
    prepared = prepare(settings, source, log=log, progress=progress, cancelled=cancelled)
    if config.seed is None:
        config.seed = random.SystemRandom().randrange(2**31)
    seed_everything(config.seed)  # the model's initial weights
    model = compile_model(graph)
    notes: list[str] = []
    start: dict[str, Any] | None = None
    if init_from is not None:
        epoch = load_initial_weights(model, init_from)
        run_id = from_run if from_run is not None else init_from.parent.parent.name
        start = {"run": run_id, "checkpoint": init_from.name, "epoch": epoch}
        notes.append(f"starting from the weights of run {run_id} ({init_from.name}, epoch {epoch})")
        log(f"Starting from the weights of run {run_id} (epoch {epoch})")
    _check(cancelled)
    if before_run is not None:
        before_run()
    run = new_run(project_path)
    trainer = Trainer(model, prepared, config, callbacks, run.path, evaluate_test=True)
    trainer.run_info = run_info(project_path, graph, settings)
    if start is not None:
        trainer.run_info["from_run"] = start
    return Session(Path(project_path), run, trainer, notes + list(prepared.notes), from_run=start)


def continued_session(
    project_path: str | os.PathLike[str],
    run: RunDir,
    checkpoint: Path,
    callbacks: Sequence[Callback] = (),
    *,
    epochs: int | None = None,
    more_epochs: int | None = None,
    device: str | None = None,
    cuda_graphs: str | None = None,
    verb: str = "resumed",
    log: Callable[[str], None] = _no_log,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Session:
    """Run ``run`` continued from ``checkpoint`` on the data it was trained on.

    Args:
        project_path: The ``.wbproj`` file.
        run: The run's folder.
        checkpoint: Its ``last.pt`` (or ``best.pt`` when a kill came between the two).
        callbacks: The caller's callbacks (after the trainer's own).
        epochs: The new total number of epochs; None keeps the run's.
        more_epochs: Or: train this many epochs more than the checkpoint holds.
        device: Train on this device instead of the run's.
        cuda_graphs: Capture the step in a CUDA graph or not instead of as the run did.
        verb: How messages name the action ("resumed" or "continued").
        log: Receives a line for each step.
        progress: Receives the preparation's progress.
        cancelled: Polled between steps; once true, :class:`SessionCancelled` is raised.

    Raises:
        ResumeRefused: the checkpoint is damaged or the dataset changed since the run started.
        TrainError: the run's record is incomplete, or the data or model cannot be used.
    """
    from workbench.core.graph import Graph, GraphError
    from workbench.data import DataError, DataSettings
    from workbench.engine.trainer import Trainer

    info = run.read_config()
    try:
        graph = Graph.from_dict(info["graph"])
        settings = DataSettings.from_dict(info["data"])
    except (KeyError, TypeError, GraphError, DataError) as e:
        raise TrainError(
            f"run {run.id} cannot be {verb}: its config.json is incomplete ({e})"
        ) from None
    if device is not None:
        resolve(device)
    if Path(settings.path).exists():  # a missing dataset is reported when it is opened
        check_resume(
            run, checkpoint, settings.path
        )  # a damaged checkpoint or changed data: refused
    prepared = prepare(settings, log=log, progress=progress, cancelled=cancelled)
    model = compile_model(graph)
    if more_epochs is not None:
        from workbench.engine.checkpoint import load_checkpoint

        epochs = int(load_checkpoint(checkpoint)["epoch"]) + more_epochs
    trainer = Trainer.from_checkpoint(
        model,
        prepared,
        checkpoint,
        callbacks,
        run.path,
        epochs=epochs,
        device=device,
        evaluate_test=True,
        cuda_graphs=cuda_graphs,
    )
    if more_epochs is not None:
        log(f"Continuing run {run.id} for {more_epochs} more epoch(s)")
    return Session(Path(project_path), run, trainer, list(prepared.notes), continued=True)


def resumed_session(
    project_path: str | os.PathLike[str],
    callbacks: Sequence[Callback] = (),
    *,
    run: RunDir | None = None,
    epochs: int | None = None,
    device: str | None = None,
    cuda_graphs: str | None = None,
    log: Callable[[str], None] = _no_log,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Session:
    """The project's unfinished run continued from its checkpoint: ``workbench train --resume``.

    Args:
        project_path: The ``.wbproj`` file.
        callbacks: The caller's callbacks (after the trainer's own).
        run: Resume this run (the window names the interrupted run it showed); None: the
            newest unfinished run (:func:`~workbench.engine.runs.find_unfinished_run`),
            after killed runs without a checkpoint were marked failed.
        epochs: The new total number of epochs; None keeps the run's.
        device: Train on this device instead of the run's.
        cuda_graphs: Capture the step in a CUDA graph or not instead of as the run did.
        log: Receives a line for each step.
        progress: Receives the preparation's progress.
        cancelled: Polled between steps; once true, :class:`SessionCancelled` is raised.

    Raises:
        ResumeRefused: the checkpoint is damaged or the dataset changed since the run started.
        TrainError: there is no run to resume, it is still training in another process, or
            its data or model cannot be used.
    """
    from workbench.engine.runs import (
        NO_CHECKPOINT,
        find_unfinished_run,
        process_alive,
        runs_root,
        settle_interrupted_runs,
    )

    path = Path(project_path)
    if run is None:
        settled = settle_interrupted_runs(path)
        run = find_unfinished_run(path)
        if run is None:
            if settled:
                raise TrainError(
                    f"{path.name} has no run to resume: run {settled[-1]} was {NO_CHECKPOINT} (it is now marked failed)"
                )
            raise TrainError(
                f"{path.name} has no unfinished run to resume (runs are kept in {runs_root(path).name}/)"
            )
    else:
        status = run.read_status()
        pid = status.get("pid")
        if status.get("status") == "running" and pid != os.getpid() and process_alive(pid):
            raise TrainError(f"run {run.id} is still training in process {pid}; stop it first")
    checkpoint = run.resume_checkpoint()
    if checkpoint is None:
        raise TrainError(f"run {run.id} has no checkpoint to resume from")
    return continued_session(
        path,
        run,
        checkpoint,
        callbacks,
        epochs=epochs,
        device=device,
        cuda_graphs=cuda_graphs,
        log=log,
        progress=progress,
        cancelled=cancelled,
    )


__all__ = [
    "Session",
    "SessionCancelled",
    "compile_model",
    "continued_session",
    "new_session",
    "prepare",
    "record_run",
    "resumed_session",
    "run_entry",
    "update_runs",
]
