"""The project's runs for the window: read off the GUI thread, renamed, deleted, restored.

:class:`RunsController` follows the window's document. It reads the runs
(:func:`~workbench.engine.history.load_history`, every run folder) on a worker thread when
a project opens, when a run starts or ends, and after a delete or rename, into one shared
table that every :class:`~workbench.ui.runs.panel.RunsPanel` shows. Its panel is the Train
tab's "All runs" view; :meth:`RunsController.make_panel` gives another one to embed
elsewhere (the Evaluate tab), sharing the same runs.

Deleting asks first (the window's ``_ask_delete_runs``, which tests replace) and removes
the folders on a worker thread. "Restore into builder" reads the run's recorded model and
finds its intact weights on a worker thread, then puts the model into the document as one
undoable edit and has the Train tab's next Start train from those weights.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QMetaMethod, QObject, Signal
from PySide6.QtWidgets import QWidget

from workbench.engine.history import HistoryError, RunSummary, drop_entry
from workbench.engine.history_wording import deleted_status, restored_status, running_refusal
from workbench.ui.runs.model import RunsTableModel
from workbench.ui.runs.panel import RunsPanel
from workbench.ui.workers import Task, run_task

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.ui.window import MainWindow

log = logging.getLogger(__name__)


def _read_history(path: Path, entries: list[dict[str, Any]]) -> tuple[Path, list[RunSummary]]:
    from workbench.engine.history import load_history

    return path, load_history(path, entries)


def _delete(
    path: Path, run_ids: list[str], entries: list[dict[str, Any]]
) -> tuple[list[str], str | None]:
    """Delete the runs one by one; (those deleted, the error that stopped it or None)."""
    from workbench.engine.history import delete_run

    done: list[str] = []
    for run_id in run_ids:
        try:
            delete_run(path, run_id, entries)
        except HistoryError as e:
            return done, str(e)
        done.append(run_id)
    return done, None


def _read_model(run: RunSummary) -> tuple[RunSummary, dict[str, Any], Path | None, int | None]:
    """The run's recorded model (validated) and its intact weights with their epoch.

    Raises:
        HistoryError: the run's config.json has no usable model.
    """
    from workbench.core.graph import Graph, GraphError
    from workbench.engine.runs import RunDir, intact_weights

    folder = RunDir(run.path)
    graph = folder.read_config().get("graph")  # {} when missing or unreadable
    if not isinstance(graph, dict):
        raise HistoryError(f"{run.name} ({run.id}) has no record of its model (config.json)")
    try:
        data = Graph.from_dict(graph).to_dict()
    except (GraphError, KeyError, TypeError, IndexError, ValueError) as e:
        raise HistoryError(f"{run.name} ({run.id}): its recorded model is damaged ({e})") from None
    weights = intact_weights(folder)
    epoch = None
    if weights is not None:
        epoch = run.epochs if weights.name == "last.pt" else run.best_epoch
    return run, data, weights, epoch


class RunsController(QObject):
    """The project's runs for every Runs panel of the window; see the module docstring.

    Signals:
        runs_changed(): The runs were read again (or the project changed).
        evaluate_requested(str): "Open in Evaluate" on this run id.
    """

    runs_changed = Signal()
    evaluate_requested = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.document: Document | None = None
        #: The runs of the document's project, oldest first, as last read.
        self.runs: list[RunSummary] = []
        #: True once the runs of the current project were read (even if there are none).
        self.loaded = False
        self.loading = False
        self.model = RunsTableModel(self)
        self.model.renamer = self.rename
        self._path: Path | None = None
        self._load_task: Task | None = None
        self._load_again = False
        self._busy_task: Task | None = None
        self._train_state = "idle"
        train = window.train_controller
        train.state_changed.connect(self._on_train_state)
        train.run_finished.connect(lambda _outcome: self.refresh())
        #: The Train tab's Runs panel.
        self.panel = RunsPanel(self)
        train.tab.add_runs_view(self.panel)
        self.runs_changed.connect(lambda: train.tab.show_history(self.runs, self.loaded))

    @property
    def tab(self) -> QWidget:
        """The panel on the Train tab (the window's pages list their widget as ``tab``)."""
        return self.panel

    def make_panel(self, parent: QWidget | None = None) -> RunsPanel:
        """Another Runs panel over the same runs, with its own selection (to embed in a page)."""
        return RunsPanel(self, parent)

    # --- the document ------------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Follow a (new) document: its runs are read afresh."""
        if self.document is not None:
            self.document.unsubscribe(self._on_document_changed)
        self.document = document
        document.subscribe(self._on_document_changed)
        self._path = document.path
        self.runs = []
        self.loaded = False
        self.model.set_runs([])
        self.refresh()

    def _on_document_changed(self, document: Document) -> None:
        if document.path != self._path:  # saved for the first time, or under a new name
            self._path = document.path
            self.refresh()

    def _on_train_state(self, state: str) -> None:
        if state == "running" and self._train_state == "starting":
            self.refresh()  # the new run's folder is there now
        self._train_state = state

    def shutdown(self) -> None:
        """The window is closing: a read or delete in progress is asked to stop."""
        for task in (self._load_task, self._busy_task):
            if task is not None:
                task.cancel()

    # --- reading -----------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the project's runs again, off the GUI thread (once more if a read is on)."""
        doc = self.document
        if doc is None:
            return
        if self._load_task is not None:
            self._load_again = True
            return
        if doc.path is None:
            self.runs = []
            self.loaded = True
            self.model.set_runs([])
            self.runs_changed.emit()
            return
        path = doc.path
        entries = copy.deepcopy([e for e in doc.project.runs if isinstance(e, dict)])
        self.loading = True
        self._load_task = run_task(lambda _p, _c: _read_history(path, entries), name="runs")
        self._load_task.succeeded.connect(self._on_read)
        self._load_task.failed.connect(self._on_read_failed)
        self._load_task.finished.connect(self._on_read_finished)
        if not self.loaded:
            self.runs_changed.emit()  # "Reading runs…"

    def _on_read(self, value: tuple[Path, list[RunSummary]]) -> None:
        path, runs = value
        doc = self.document
        if doc is None or doc.path != path:
            return  # another project meanwhile; its own read follows
        self.runs = runs
        self.loaded = True
        self.loading = False
        self.model.set_runs(runs)
        self.runs_changed.emit()

    def _on_read_failed(self, error: object) -> None:
        log.warning("the runs could not be read: %s", error)
        self.window.show_status(f"The runs could not be read: {error}", 10000)

    def _on_read_finished(self) -> None:
        self._load_task = None
        self.loading = False
        if self._load_again:
            self._load_again = False
            self.refresh()

    def is_idle(self) -> bool:
        """True when no read, delete or restore is under way and the runs are read."""
        return self.loaded and self._load_task is None and self._busy_task is None

    def is_busy(self) -> bool:
        """True while a delete or restore is under way."""
        return self._busy_task is not None

    def find(self, run_id: str) -> RunSummary | None:
        """The run ``run_id`` as last read, or None."""
        return next((r for r in self.runs if r.id == run_id), None)

    # --- renaming ----------------------------------------------------------------------------------

    def rename(self, run_id: str, name: str) -> str | None:
        """Give run ``run_id`` a name (a blank one gives back "Run N"); the name it now has, or None.

        One small file (the run's run.json) is written, so this is done at once.
        """
        from workbench.engine.history import rename_run

        doc = self.document
        if doc is None or doc.path is None:
            return None
        try:
            new_name = rename_run(doc.path, run_id, name)
        except HistoryError as e:
            self.window.show_error("Cannot rename the run", str(e))
            return None
        run = self.find(run_id)
        if run is not None:
            run.name = new_name
            if run.curves is not None:
                run.curves.name = new_name
        self.model.set_name(run_id, new_name)
        self.window.show_status(f"Renamed run {run_id} to “{new_name}”")
        self.runs_changed.emit()
        self.refresh()
        return new_name

    # --- deleting ----------------------------------------------------------------------------------

    def delete(self, run_ids: list[str]) -> bool:
        """Delete these runs and their folders, after asking; False when nothing is deleted.

        A run that is training is refused. The folders are removed off the GUI thread; the
        project's runs list loses their entries (written into the project file).
        """
        doc = self.document
        runs = [r for r in self.runs if r.id in run_ids]
        if doc is None or doc.path is None or not runs or self._busy_task is not None:
            return False
        training = [r for r in runs if r.status == "running"]
        if training:
            self.window.show_error("Cannot delete the run", running_refusal(training[0].name))
            return False
        names = {r.id: r.name for r in runs}
        if not self.window._ask_delete_runs(list(names.values())):
            return False
        path = doc.path
        ids = [r.id for r in runs]
        entries = copy.deepcopy([e for e in doc.project.runs if isinstance(e, dict)])
        task = run_task(lambda _p, _c: _delete(path, ids, entries), name="delete-runs")
        task.succeeded.connect(lambda value: self._on_deleted(doc, names, value))
        task.failed.connect(
            lambda error: self.window.show_error("Cannot delete the run", str(error))
        )
        task.finished.connect(self._on_busy_finished)
        self._busy_task = task
        self.runs_changed.emit()  # the buttons wait for it
        return True

    def _on_deleted(
        self, doc: Document, names: dict[str, str], value: tuple[list[str], str | None]
    ) -> None:
        done, error = value
        dropped = False
        for run_id in done:
            dropped = drop_entry(doc.project.runs, run_id) or dropped
        if dropped:
            doc.save_runs()
        if doc is self.document:
            self.window.train_tab.forget_runs(done)
            self.window.train_controller.runs_changed()
        if done:
            self.window.show_status(deleted_status([names[i] for i in done]))
        if error is not None:
            self.window.show_error("Cannot delete the run", error)

    def _on_busy_finished(self) -> None:
        self._busy_task = None
        self.refresh()
        self.runs_changed.emit()

    # --- restoring and evaluating --------------------------------------------------------------------

    def restore(self, run_id: str) -> bool:
        """Put run ``run_id``'s model into the builder as one undoable edit, and have the next
        Start on the Train tab train from its trained weights; False if it cannot start."""
        run = self.find(run_id)
        doc = self.document
        if run is None or doc is None or self._busy_task is not None:
            return False
        if run.status == "running":
            self.window.show_error(
                "Cannot restore the run", f"“{run.name}” is training: restore it once it ended."
            )
            return False
        task = run_task(lambda _p, _c: _read_model(run), name="restore-run")
        task.succeeded.connect(lambda value: self._on_model_read(doc, value))
        task.failed.connect(
            lambda error: self.window.show_error("Cannot restore the run", str(error))
        )
        task.finished.connect(self._on_busy_finished)
        self._busy_task = task
        self.runs_changed.emit()
        return True

    def _on_model_read(
        self, doc: Document, value: tuple[RunSummary, dict[str, Any], Path | None, int | None]
    ) -> None:
        from workbench.core.edits import replace_graph
        from workbench.core.graph import GraphError
        from workbench.ui.train.controller import StartWeights

        run, graph, weights, epoch = value
        if doc is not self.document:
            return  # another project was opened meanwhile
        before = doc.graph.to_dict()
        try:
            doc.edit(f"Restore model of {run.name}", lambda g: replace_graph(g, graph))
        except GraphError as e:
            self.window.show_error("Cannot restore the run", str(e))
            return
        changed = doc.graph.to_dict() != before
        train = self.window.train_controller
        if weights is not None:
            train.use_weights(
                StartWeights(run.id, run.name, weights, epoch, before if changed else None)
            )
        else:
            train.use_weights(None)
        self.window.show_page("model")
        self.window.fit_soon()
        self.window.show_status(
            restored_status(run.name, changed, epoch if weights is not None else None), 15000
        )

    def evaluate_connected(self) -> bool:
        """True when something (the Evaluate tab) listens to :attr:`evaluate_requested`."""
        signal = QMetaMethod.fromSignal(self.evaluate_requested)
        return self.isSignalConnected(signal)

    def open_in_evaluate(self, run_id: str) -> None:
        """Ask the Evaluate tab to show run ``run_id``."""
        self.evaluate_requested.emit(run_id)


__all__ = ["RunsController"]
