"""The Evaluate tab's controller: it connects the tab to the window and runs evaluations.

:class:`EvaluateController` follows the window's document, lists the project's runs with
weights off the GUI thread (:func:`~workbench.engine.evaluation.explore.list_run_options`),
and evaluates the chosen run on the chosen split through
:func:`workbench.ui.workers.run_task_with_partial` (torch is imported only there; the
evaluation's steps arrive as partial results, its progress as progress). Results are kept
per run and split for the session, so going back to one shows it at once.

When a run ends on the Train tab, its test evaluation (made by the trainer) is shown
without evaluating again. The first time the tab is shown, the latest run is evaluated on
its test split (else its validation split) in the background.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from workbench.engine.evaluation.explore import (
    NO_RUNS_TITLE,
    SPLIT_TITLES,
    RunOption,
    TableRows,
    default_split,
    list_run_options,
    missing_split_text,
    no_runs_text,
)
from workbench.engine.evaluation.result import Evaluation
from workbench.export.wording import one_line
from workbench.ui import theme
from workbench.ui.evaluate.tab import EvaluateTab
from workbench.ui.plot_warmup import pyqtgraph_ready, warm_up_pyqtgraph
from workbench.ui.workers import Task, WhenIdle, run_task, run_task_with_partial

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.engine.job import RunOutcome
    from workbench.ui.window import MainWindow

logger = logging.getLogger(__name__)

#: Evaluations kept for the session (the oldest is forgotten first) ...
CACHE_SIZE = 8
#: ... and the most memory their per-sample arrays may take together (the newest stays).
CACHE_BYTES = 256 * 1024 * 1024

Key = tuple[str, str, str]  # project path, run id, split


def _nbytes(evaluation: Evaluation) -> int:
    """Roughly the memory an evaluation's per-sample results take."""
    arrays = (evaluation.y_true, evaluation.y_pred, evaluation.proba)
    return sum(int(a.nbytes) for a in arrays if a is not None) + 64 * evaluation.num_samples


def _split_words(split: str) -> str:
    return f"{SPLIT_TITLES.get(split, split).lower()} split"


class EvaluateController(QObject):
    """Evaluates the window's project's runs and keeps the Evaluate tab current.

    Signals:
        runs_changed(): The list of runs was read again.
        evaluation_shown(object): The tab shows this :class:`Evaluation` now.
        evaluation_done(str): An evaluation ended: ``ok``, ``error`` or ``cancelled``.
    """

    runs_changed = Signal()
    evaluation_shown = Signal(object)
    evaluation_done = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.document: Document | None = None
        #: The project's runs with weights, newest first (read off the GUI thread).
        self.runs: list[RunOption] = []
        self.runs_loaded = False
        self._runs_task: Task | None = None
        self._runs_again = False
        self._runs_path: Path | None = None
        #: The evaluation running now, and what it evaluates.
        self.task: Task | None = None
        self._task_key: Key | None = None
        #: Evaluations of this session by (project, run, split), the newest last.
        self.cache: OrderedDict[Key, Evaluation] = OrderedDict()
        #: The key of the evaluation shown, or None.
        self.shown: Key | None = None
        #: The one-line message of the last failed evaluation, or None.
        self.last_error: str | None = None
        #: Tables' feature values by (project, run), to list samples with them.
        self.tables: dict[tuple[str, str], TableRows] = {}
        self._table_task: Task | None = None
        #: Writing a report now, and the folder it was last written to.
        self._report_task: Task | None = None
        #: The report's figures being drawn, one per turn of the event loop (None: not drawing).
        self._report_drawing: Iterator[tuple[str, bytes]] | None = None
        self.last_report: Path | None = None
        self._auto_pending = True
        self._show_pending: tuple[Key, Evaluation] | None = None
        #: A run asked for by "Open in Evaluate" before the tab listed it: (run, split).
        self._open_pending: tuple[str, str] | None = None
        #: Call a function once no evaluation runs (on the next turn of the event loop if none).
        self.when_idle = WhenIdle(self.is_evaluating)
        self.tab = EvaluateTab(self)
        self.results = self.tab.results
        window.train_controller.run_finished.connect(self._on_run_finished)
        self._show_state()

    # --- the document ---------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Follow the window's document: an evaluation of the previous one is cancelled."""
        if self.document is not None:
            self.document.unsubscribe(self._on_document_changed)
        changed = self.document is not document
        self.document = document
        document.subscribe(self._on_document_changed)
        if changed:
            self.cancel()
            self._cancel_table()
            self.cache.clear()
            self.tables.clear()
            self.shown = None
            self.last_error = None
            self._show_pending = None
            self._open_pending = None
            self._report_drawing = None
            self.results.clear()
            self.tab.hide_banner()
            self.tab.forget_runs()
            self._auto_pending = True
        self._runs_path = document.path
        self.runs = []
        self.runs_loaded = False
        self.tab.set_runs([], loading=document.path is not None)
        self.refresh_runs()

    def _on_document_changed(self, document: Document) -> None:
        if document is not self.document:
            return
        if document.path != self._runs_path:  # saved under a new name: its runs are elsewhere
            self._runs_path = document.path
            self.runs = []
            self.runs_loaded = False
            self.refresh_runs()

    def project_path(self) -> Path | None:
        """The project file of the window's document (None while it is unsaved)."""
        doc = self.document
        return doc.path if doc is not None else None

    def _project_key(self) -> str:
        path = self.project_path()
        return str(path.resolve()) if path is not None else ""

    def _key(self, run_id: str, split: str) -> Key:
        return (self._project_key(), run_id, split)

    # --- runs ------------------------------------------------------------------------------------------

    def refresh_runs(self) -> None:
        """Read the project's runs again, off the GUI thread."""
        doc = self.document
        if doc is None or doc.path is None:
            self.runs = []
            self.runs_loaded = True
            self.tab.set_runs([])
            self._show_state()
            self.runs_changed.emit()
            return
        if self._runs_task is not None:
            self._runs_again = True
            return
        path = doc.path
        entries = [dict(e) for e in doc.project.runs if isinstance(e, dict)]

        def work(progress: Any, cancelled: Any) -> tuple[Path, list[RunOption]]:
            return path, list_run_options(path, entries)

        self._runs_task = run_task(work, name="evaluate-runs")
        self._runs_task.succeeded.connect(self._on_runs_listed)
        self._runs_task.failed.connect(self._on_runs_failed)
        self._runs_task.finished.connect(self._on_runs_task_finished)

    @Slot(object)
    def _on_runs_listed(self, value: tuple[Path, list[RunOption]]) -> None:
        path, runs = value
        if self.document is None or self.document.path != path:
            return  # listed for a project that is no longer open
        self.runs = runs
        self.runs_loaded = True
        self.tab.set_runs(runs)
        self.runs_changed.emit()
        pending, self._open_pending = self._open_pending, None
        if pending is not None:
            if self._runs_again:  # a listing that may have begun before the run follows
                self._open_pending = pending
            elif self.tab.select_run(*pending):
                self.show_run(*pending)
            else:
                self.window.show_status(f"Run {pending[0]} has no weights to evaluate", 8000)
                self.choice_changed()
            return
        if not self._maybe_auto_evaluate():
            self.choice_changed()

    @Slot(object)
    def _on_runs_failed(self, error: object) -> None:
        logger.warning("cannot list the project's runs: %s", error)
        self.runs_loaded = True
        self.tab.set_runs(self.runs)
        if isinstance(error, BaseException):
            self.tab.show_banner(f"The project's runs cannot be read: {one_line(error)}")
        self.choice_changed()

    @Slot()
    def _on_runs_task_finished(self) -> None:
        self._runs_task = None
        if self._runs_again:
            self._runs_again = False
            self.refresh_runs()

    @Slot(object)
    def _on_run_finished(self, outcome: RunOutcome) -> None:
        """A run ended on the Train tab: its test evaluation is shown without evaluating again."""
        ev = getattr(outcome, "evaluation", None)
        if isinstance(ev, Evaluation) and outcome.run_id is not None:
            self._remember(self._key(outcome.run_id, "test"), ev)
        self._auto_pending = True
        self.refresh_runs()

    # --- the tab's choices ---------------------------------------------------------------------------

    def tab_shown(self) -> None:
        """The tab came to the front: pyqtgraph is warmed up, the runs read again (a run may
        have been trained or deleted elsewhere) and the latest run evaluated once."""
        warm_up_pyqtgraph()
        if self._runs_task is None:
            self.refresh_runs()
        self._maybe_auto_evaluate()

    def _maybe_auto_evaluate(self) -> bool:
        """Show or evaluate the chosen run on its default split, once per project or run.

        Only while the tab is visible (an evaluation nobody looks at costs for nothing).
        Returns True when it showed or started something.
        """
        if not (self._auto_pending and self.runs_loaded and self.tab.isVisible()):
            return False
        if self.task is not None:
            return False
        option = self.tab.run_option()
        self._auto_pending = False
        if option is None:
            self.choice_changed()
            return False
        split = default_split(option)
        self.tab.select_split(split)
        key = self._key(option.run_id, split)
        if key in self.cache:
            self.choice_changed()
            return True
        return self.evaluate(option.run_id, split)

    def choice_changed(self) -> None:
        """The run or split picker changed: show what is known about that choice."""
        self.tab.update_controls()
        self._show_state()

    def _show_state(self) -> None:
        """Show the chosen run and split's results, or the card that says why there are none."""
        doc = self.document
        results = self.results
        if doc is None or doc.path is None:
            results.show_card(NO_RUNS_TITLE, no_runs_text(None, saved=False), "Go to the Train tab")
            return
        if not self.runs_loaded and not self.runs:
            results.show_card("Looking for trained runs…", "")
            return
        option = self.tab.run_option()
        if option is None:
            results.show_card(
                NO_RUNS_TITLE, no_runs_text(doc.name, saved=True), "Go to the Train tab"
            )
            return
        split = self.tab.split()
        key = self._key(option.run_id, split)
        if key == self.shown and results.showing_results():
            return
        if key in self.cache:
            self._show(key, self.cache[key])
            return
        if self.task is not None and self._task_key == key:
            results.show_card(
                f"Evaluating {option.label.split(' · ')[0]} on the {_split_words(split)}…",
                "The results appear here when it is done; Cancel stops it.",
            )
            return
        split_option = self.tab.split_option()
        if split_option is not None and split_option.empty:
            results.show_card(
                f"No {_split_words(split)}",
                missing_split_text(split, Path(option.data_path).name),
            )
            return
        run_name = option.label.split(" · ")[0]
        results.show_card(
            f"Evaluate {run_name} on the {_split_words(split)}",
            "Its best weights predict every sample of the split; the confusion matrix, the "
            "curves and the mistakes (or, for regression, the errors) appear here.",
            "Evaluate",
        )

    def card_action(self) -> None:
        """The card's button: to the Train tab when there is no run, else Evaluate."""
        if not self.runs:
            self.window.show_page("train")
        else:
            self.evaluate()

    def show_run(self, run_id: str, split: str = "test") -> bool:
        """Bring the tab to the front on run ``run_id`` and ``split``: its results if known,
        else evaluate it (for "open in Evaluate" elsewhere).

        A run the tab has not listed yet (its list is being read, or was read before the
        run existed) is shown once the runs are listed again; False when there is no saved
        project to list them from.
        """
        if not self.tab.select_run(run_id, split):
            if self.project_path() is None:
                return False
            self._open_pending = (run_id, split)
            self._auto_pending = False  # the run asked for, not the latest one
            self.window.show_page("evaluate")
            if self._runs_task is None:
                self.refresh_runs()
            else:
                self._runs_again = True  # a listing begun before the run was recorded
            return True
        self._open_pending = None
        self.window.show_page("evaluate")
        key = self._key(run_id, split)
        if key in self.cache:
            self.choice_changed()
        else:
            self.evaluate(run_id, split)
        return True

    # --- evaluation -----------------------------------------------------------------------------------

    def is_evaluating(self) -> bool:
        """True from Evaluate until the evaluation's thread has ended."""
        return self.task is not None

    def evaluate_problem(self) -> str | None:
        """Why Evaluate cannot be pressed now, or None when it can."""
        doc = self.document
        if doc is None or doc.path is None:
            return "Save the project and train it first (Train tab)."
        if not self.runs_loaded:
            return "Looking for trained runs…"
        if not self.runs:
            return "Train the model first (Train tab)."
        if self.is_evaluating():
            return "An evaluation is running."
        option = self.tab.split_option()
        if option is not None and option.empty:
            run = self.tab.run_option()
            return missing_split_text(option.key, Path(run.data_path).name if run else "")
        return None

    def evaluate(self, run_id: str | None = None, split: str | None = None) -> bool:
        """Evaluate ``run_id`` on ``split`` (default: the tab's choice) in the background.

        Returns False (the tab says why) when it cannot start.
        """
        if run_id is not None:
            self.tab.select_run(run_id)
        if split is not None:
            self.tab.select_split(split)
        problem = self.evaluate_problem()
        if problem is not None:
            self.tab.update_controls()
            return False
        path = self.project_path()
        run = self.tab.run_id()
        assert path is not None and run is not None
        split = self.tab.split()
        key = self._key(run, split)

        def work(progress: Any, cancelled: Any, publish: Callable[[str], None]) -> Evaluation:
            from workbench.engine.evaluation.run import evaluate_run

            return evaluate_run(
                path,
                run,
                split=split,
                device="auto",
                progress=progress,
                cancelled=cancelled,
                log=publish,
            )

        warm_up_pyqtgraph()
        self.last_error = None
        self.tab.hide_banner()
        self._task_key = key
        self.task = run_task_with_partial(work, name="evaluate")
        self.task.progressed.connect(self.tab.show_progress)
        self.task.partial.connect(self._on_step)
        self.task.succeeded.connect(self._on_succeeded)
        self.task.failed.connect(self._on_failed)
        self.task.cancelled.connect(self._on_cancelled)
        self.task.finished.connect(self._on_finished)
        self.tab.set_busy(True, f"Evaluating on the {_split_words(split)}…")
        # Seen from every tab: the status bar says so until the evaluation ends.
        self.window.show_status(f"Evaluating run {run} on the {_split_words(split)}…", 0)
        self._show_state()
        return True

    def cancel(self) -> None:
        """Stop the evaluation (it ends at its next batch; the thread ends by itself)."""
        if self.task is not None and not self.task.is_cancelling():
            self.task.cancel()
            self.tab.show_step("Cancelling…")
            self.tab.cancel_button.setEnabled(False)

    @Slot(object)
    def _on_step(self, lines: list[str]) -> None:
        if lines:
            self.tab.show_step(str(lines[-1]))

    @Slot(object)
    def _on_succeeded(self, evaluation: Evaluation) -> None:
        key = self._task_key
        if key is None or key[0] != self._project_key():
            return  # evaluated for a project that is no longer open
        self._remember(key, evaluation)
        self.window.show_status(f"Evaluated run {evaluation.run}: {evaluation.headline()}", 10000)

    @Slot(object)
    def _on_failed(self, error: object) -> None:
        assert isinstance(error, BaseException)
        if not isinstance(error, ValueError | OSError):
            logger.error("evaluation failed", exc_info=error)
        key = self._task_key
        if key is None or key[0] != self._project_key():
            return
        message = one_line(error)
        self.last_error = message
        self.tab.show_banner(f"The evaluation failed: {message}")
        self.window.show_status("Evaluation failed: the Evaluate tab says why", 15000)

    @Slot()
    def _on_cancelled(self) -> None:
        self.window.show_status("Evaluation cancelled", 6000)

    @Slot()
    def _on_finished(self) -> None:
        task = self.task
        outcome = task.outcome if task is not None else None
        self.task = None
        self._task_key = None
        ended = {"ok": "", "error": "Failed", "cancelled": "Cancelled"}.get(outcome or "", "")
        self.tab.set_busy(False, ended)
        self._show_state()
        self.evaluation_done.emit(outcome or "cancelled")
        self.when_idle.job_ended()

    # --- showing results ---------------------------------------------------------------------------

    def _remember(self, key: Key, evaluation: Evaluation) -> None:
        self.cache[key] = evaluation
        self.cache.move_to_end(key)
        while len(self.cache) > 1 and (
            len(self.cache) > CACHE_SIZE
            or sum(_nbytes(ev) for ev in self.cache.values()) > CACHE_BYTES
        ):
            old, _ev = self.cache.popitem(last=False)
            if old == self.shown:
                self.shown = None

    def _show(self, key: Key, evaluation: Evaluation) -> None:
        """Show ``evaluation`` once pyqtgraph is imported (its import runs off the GUI thread)."""
        if not pyqtgraph_ready():
            warm_up_pyqtgraph()
            self._show_pending = (key, evaluation)
            QTimer.singleShot(20, self._show_when_ready)
            return
        self._show_pending = None
        self.shown = key
        table = self.tables.get((key[0], key[1]))
        self.results.show_evaluation(evaluation, table)
        self.evaluation_shown.emit(evaluation)
        self.tab.update_controls()
        self._load_table(key)

    def _show_when_ready(self) -> None:
        pending = self._show_pending
        if pending is None:
            return
        if not pyqtgraph_ready():
            QTimer.singleShot(20, self._show_when_ready)
            return
        key, evaluation = pending
        if key == self._key(self.tab.run_id() or "", self.tab.split()):
            self._show(key, evaluation)
        else:
            self._show_pending = None

    def current_evaluation(self) -> Evaluation | None:
        """The evaluation shown, or None."""
        return self.results.evaluation if self.results.showing_results() else None

    def _load_table(self, key: Key) -> None:
        """Read a table run's feature values off the GUI thread, to list samples with them."""
        option = next((r for r in self.runs if r.run_id == key[1]), None)
        table_key = (key[0], key[1])
        if option is None or option.data_kind != "table" or not option.data_path:
            return
        if table_key in self.tables or self._table_task is not None:
            return
        data_path, features, target = option.data_path, option.features, option.target

        def work(progress: Any, cancelled: Any) -> TableRows:
            from workbench.engine.evaluation.explore import read_table_rows

            return read_table_rows(data_path, features, target, cancelled)

        task = run_task(work, name="evaluate-table")
        task.succeeded.connect(lambda rows: self._on_table(table_key, rows))
        task.failed.connect(lambda e: logger.warning("cannot read the table's rows: %s", e))
        task.finished.connect(lambda: self._on_table_finished(task))
        self._table_task = task

    def _on_table(self, table_key: tuple[str, str], rows: TableRows) -> None:
        self.tables[table_key] = rows
        if self.shown is not None and (self.shown[0], self.shown[1]) == table_key:
            self.results.set_table(rows)

    def _on_table_finished(self, task: Task) -> None:
        if self._table_task is task:
            self._table_task = None

    def _cancel_table(self) -> None:
        if self._table_task is not None:
            self._table_task.cancel()
            self._table_task = None

    def theme_changed(self) -> None:
        """Draw the figures again when the theme changed since they were drawn."""
        if self.results.evaluation is not None and self.results.drawn_dark != theme.is_dark():
            self.results.draw()

    # --- state for scripts ---------------------------------------------------------------------------

    # --- the report ----------------------------------------------------------------------------------

    def _ask_report_folder(self, suggested: Path) -> Path | None:
        """Ask where to write the report (tests replace this)."""
        from PySide6.QtWidgets import QFileDialog

        folder = QFileDialog.getExistingDirectory(
            self.tab, "Save the evaluation report in a folder", str(suggested)
        )
        return Path(folder) if folder else None

    def report_problem(self) -> str | None:
        """Why no report can be written now, or None."""
        if not hasattr(self, "results") or self.current_evaluation() is None:  # (tab being built)
            return "Evaluate a run first: the report shows the evaluation on screen"
        if self._report_task is not None or self._report_drawing is not None:
            return "A report is being written"
        if self.project_path() is None:
            return "Save the project first"
        return None

    def save_report(self, folder: Path | None = None) -> bool:
        """Write the report of the evaluation shown (report.html, metrics.json,
        predictions.csv) into ``folder``, asked for when None; False when nothing started.

        The figures are Qt widgets, so they are drawn on the GUI thread, one per turn of
        the event loop (each takes tens of milliseconds; all at once would stall the
        window); reading the run's history and writing the files run in the background.
        """
        evaluation = self.current_evaluation()
        project = self.project_path()
        if self.report_problem() is not None or evaluation is None or project is None:
            return False
        if folder is None:
            suggested = (
                project.parent / f"{project.stem}-{evaluation.run}-{evaluation.split}-report"
            )
            folder = self._ask_report_folder(suggested)
            if folder is None:
                return False
        from workbench.engine.evaluation.report import FIGURE_SIZE
        from workbench.ui.evaluate.figures import iter_figure_pngs

        drawing = iter_figure_pngs(evaluation, width=FIGURE_SIZE[0], height=FIGURE_SIZE[1])
        self._report_drawing = drawing
        figures: list[tuple[str, bytes]] = []
        document = self.document

        def draw_next() -> None:
            if self._report_drawing is not drawing:
                return  # the window closed or the project changed
            try:
                figure = next(drawing, None)
            except Exception as e:  # noqa: BLE001 - a figure that cannot be drawn: said once
                self._report_drawing = None
                self._on_report_failed(e)
                self.tab.update_controls()
                return
            if figure is not None:
                figures.append(figure)
                QTimer.singleShot(0, draw_next)
                return
            self._report_drawing = None
            if self.document is document:
                self._write_report(evaluation, folder, project, figures)
            else:
                self.tab.update_controls()

        self.tab.update_controls()
        self.window.show_status("Drawing the evaluation report's figures…", 0)
        QTimer.singleShot(0, draw_next)
        return True

    def _write_report(
        self,
        evaluation: Evaluation,
        folder: Path,
        project: Path,
        figures: list[tuple[str, bytes]],
    ) -> None:
        """Write the report's files in the background, its figures drawn."""
        entries = list(self.document.project.runs) if self.document is not None else None

        def work(progress: Any, cancelled: Any) -> Path:
            from workbench.engine.evaluation.report import write_run_report

            return write_run_report(evaluation, folder, project, figures, entries)

        task = run_task(work, name="evaluation report")
        task.succeeded.connect(self._on_report_written)
        task.failed.connect(self._on_report_failed)
        task.finished.connect(self._on_report_finished)
        self._report_task = task
        self.tab.update_controls()
        self.window.show_status("Writing the evaluation report…", 0)

    @Slot(object)
    def _on_report_written(self, page: Path) -> None:
        self.last_report = page
        self.window.show_status(f"Wrote the evaluation report: {page}", 15000)

    @Slot(object)
    def _on_report_failed(self, error: object) -> None:
        assert isinstance(error, BaseException)
        if not isinstance(error, ValueError | OSError):
            logger.error("writing the report failed", exc_info=error)
        self.tab.show_banner(f"The report could not be written: {one_line(error)}")
        self.window.show_status("The report could not be written", 15000)

    @Slot()
    def _on_report_finished(self) -> None:
        self._report_task = None
        self.tab.update_controls()

    def is_settled(self) -> bool:
        """True when nothing is left to do in the background: the runs are listed, no
        evaluation runs or waits to start, and the samples list has its thumbnails."""
        return (
            self.runs_loaded
            and self._runs_task is None
            and self.task is None
            and self._table_task is None
            and self._report_task is None
            and self._report_drawing is None
            and self._show_pending is None
            and self._open_pending is None
            and not (self._auto_pending and self.runs and self.tab.isVisible())
            and not self.results.busy()
        )

    def shutdown(self) -> None:
        """The window is closing: stop background work (threads end by themselves)."""
        self.cancel()
        self._cancel_table()
        if self._report_task is not None:
            self._report_task.cancel()
        self._report_drawing = None
        if self._runs_task is not None:
            self._runs_task.cancel()
        self.results.shutdown()
        self.tab.try_it.shutdown()
        if self.document is not None:
            self.document.unsubscribe(self._on_document_changed)


__all__ = ["CACHE_BYTES", "CACHE_SIZE", "EvaluateController"]
