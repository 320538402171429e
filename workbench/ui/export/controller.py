"""The Export tab's controller: it connects the tab to the window.

:class:`ExportController` follows the window's document, lists the project's trained runs
off the GUI thread, runs one export at a time through
:func:`workbench.ui.workers.run_task_with_partial` (the exporter's stage messages arrive as
partial results) and starts and stops a local :class:`~workbench.deploy.server.ModelServer`
for an ONNX file. torch, onnx and onnxruntime are imported only inside those workers; the
builder's checks (:func:`workbench.core.export_check.export_issues`) are pure Python and run
on every edit.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal, Slot

from workbench.core.export_check import ExportIssue, export_issues
from workbench.core.export_formats import get_format
from workbench.export.wording import (
    RunChoice,
    gui_wording,
    list_run_choices,
    one_line,
    output_problem,
    serve_candidate,
)
from workbench.ui.export.serve import DEFAULT_HOST, REBIND_SECONDS
from workbench.ui.export.tab import ExportTab
from workbench.ui.workers import Task, WhenIdle, run_task, run_task_with_partial

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.ui.window import MainWindow

logger = logging.getLogger(__name__)


class ExportController(QObject):
    """Exports the window's document and serves ONNX files; owns the Export tab.

    Signals:
        runs_changed(): The list of trained runs was read again.
        export_done(object): An export ended: its ``ExportResult``, or the exception.
        server_changed(): The server started, stopped or failed to start.
    """

    runs_changed = Signal()
    export_done = Signal(object)
    server_changed = Signal()

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.document: Document | None = None
        #: The project's trained runs, newest first (read off the GUI thread).
        self.runs: list[RunChoice] = []
        #: True once the runs of the current project path have been read.
        self.runs_loaded = False
        self._runs_path: Path | None = None
        self._runs_task: Task | None = None
        self._runs_again = False
        self.export_task: Task | None = None
        self._export_document: Document | None = None
        #: The last export's result (``ExportResult``) or None.
        self.last_result: Any = None
        #: The one-line message of the last failed export, or None.
        self.last_error: str | None = None
        #: The last ONNX file written in this session (what Serve offers after an export).
        self.last_onnx: Path | None = None
        #: The running server (a ``ModelServer``), or None.
        self.server: Any = None
        self.server_info: dict[str, str] = {}
        self.server_error: str | None = None
        self._server_task: Task | None = None
        self._stop_when_started = False
        self._stopped_at: dict[int, float] = {}
        #: Call a function once no export runs (on the next turn of the event loop if none).
        self.when_idle = WhenIdle(self.is_exporting)
        self.tab = ExportTab(self)
        self.tab.refresh()
        window.train_controller.run_finished.connect(self._on_run_finished)

    # --- the document -----------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Follow the window's document: a server of the previous project is stopped."""
        if self.document is not None:
            self.document.unsubscribe(self._on_document_changed)
        changed = self.document is not None and self.document is not document
        self.document = document
        document.subscribe(self._on_document_changed)
        if changed:
            self.stop_server()
            self.server_error = None
            self.last_result = None
            self.last_error = None
            self.last_onnx = None
        self.runs = []
        self.runs_loaded = False
        self._runs_path = document.path
        self.tab.set_document(document)
        self.refresh_runs()

    def _on_document_changed(self, document: Document) -> None:
        if document is not self.document:
            return
        if document.path != self._runs_path:  # saved under a new name: its runs are elsewhere
            self._runs_path = document.path
            self.runs = []
            self.runs_loaded = False
            self.refresh_runs()
        self.tab.document_changed()

    def project_name(self) -> str:
        """The name used for default file names (the project file's stem once saved)."""
        return self.document.name if self.document is not None else "model"

    def default_folder(self) -> Path:
        """Where exports go by default: beside the project, else the last folder used."""
        doc = self.document
        if doc is not None and doc.path is not None:
            return doc.path.resolve().parent
        last = self.window.settings.get("last_dir")
        return Path(last) if isinstance(last, str) and Path(last).is_dir() else Path.home()

    # --- runs ---------------------------------------------------------------------------------

    def refresh_runs(self) -> None:
        """Read the project's trained runs again, off the GUI thread."""
        doc = self.document
        if doc is None or doc.path is None:
            self.runs = []
            self.runs_loaded = True
            self.tab.set_runs([])
            self.runs_changed.emit()
            return
        if self._runs_task is not None:
            self._runs_again = True
            return
        path = doc.path

        def work(progress: Any, cancelled: Any) -> tuple[Path, list[RunChoice]]:
            return path, list_run_choices(path)

        self._runs_task = run_task(work, name="list-runs")
        self._runs_task.succeeded.connect(self._on_runs_listed)
        self._runs_task.failed.connect(self._on_runs_failed)
        self._runs_task.finished.connect(self._on_runs_task_finished)

    @Slot(object)
    def _on_runs_listed(self, value: tuple[Path, list[RunChoice]]) -> None:
        path, runs = value
        doc = self.document
        if doc is None or doc.path != path:
            return  # listed for a project that is no longer open
        self.runs = runs
        self.runs_loaded = True
        self.tab.set_runs(runs)
        self.runs_changed.emit()

    @Slot(object)
    def _on_runs_failed(self, error: object) -> None:
        logger.warning("cannot list the project's runs: %s", error)
        self.runs_loaded = True
        self.tab.set_runs(self.runs)
        self.runs_changed.emit()

    @Slot()
    def _on_runs_task_finished(self) -> None:
        self._runs_task = None
        if self._runs_again:
            self._runs_again = False
            self.refresh_runs()

    @Slot(object)
    def _on_run_finished(self, _outcome: object) -> None:
        self.refresh_runs()

    # --- export -------------------------------------------------------------------------------

    def is_exporting(self) -> bool:
        """True from Export until the export's thread has ended."""
        return self.export_task is not None

    def issues(self) -> list[ExportIssue]:
        """The builder's checks for the chosen format and opset (errors first)."""
        doc = self.document
        if doc is None:
            return []
        return export_issues(doc.graph, self.tab.format(), self.tab.opset(), doc.analysis)

    def export_problem(self, issues: list[ExportIssue] | None = None) -> str | None:
        """Why Export cannot be pressed now, or None when it can."""
        doc = self.document
        if doc is None:
            return "Open a project first."
        if self.is_exporting():
            return "An export is in progress."
        issues = self.issues() if issues is None else issues
        errors = [i for i in issues if i.severity == "error"]
        if errors:
            n = len(errors)
            return f"Fix the error{'s' if n != 1 else ''} listed above first."
        return output_problem(self.tab.output_text(), self.tab.format())

    def export(self) -> bool:
        """Export with the tab's choices, in the background; False (and why) when it cannot start."""
        problem = self.export_problem()
        if problem is not None:
            self.tab.update_controls()
            return False
        doc = self.document
        assert doc is not None
        fmt, opset = self.tab.format(), self.tab.opset()
        out = Path(self.tab.output_text()).expanduser()
        run_id = self.tab.run_id()
        untrained = run_id is None
        if not untrained and doc.path is None:
            untrained = True
        # A copy the worker can read while the user goes on editing (unsaved edits included).
        project = doc.project.copy()
        project.name = doc.name
        project_path = doc.path

        def work(progress: Any, cancelled: Any, publish: Callable[[str], None]) -> tuple[Any, str]:
            publish("loading the model" if untrained else f"loading run {run_id}")
            from workbench.export.service import export_trained, load_trained

            trained = load_trained(project, run_id, untrained=untrained, project_path=project_path)
            result = export_trained(
                trained, fmt, out, opset=opset, progress=publish, cancelled=cancelled
            )
            return result, trained.describe()

        self.last_error = None
        self._export_document = doc
        self.export_task = run_task_with_partial(work, name="export")
        self.export_task.partial.connect(self._on_export_stage)
        self.export_task.succeeded.connect(self._on_export_succeeded)
        self.export_task.failed.connect(self._on_export_failed)
        self.export_task.finished.connect(self._on_export_finished)
        self.tab.begin_export(fmt, out)
        return True

    @Slot(object)
    def _on_export_stage(self, messages: list[str]) -> None:
        if messages:
            self.tab.set_stage(str(messages[-1]))

    @Slot(object)
    def _on_export_succeeded(self, value: tuple[Any, str]) -> None:
        result, source = value
        if get_format(result.format).servable:
            self.last_onnx = Path(result.path)
        if self._export_document is not self.document:
            self.window.show_status(f"Exported {result.path}", 10000)
            return
        self.last_result = result
        self.tab.show_result(result, source)
        self.window.show_status(f"Exported {result.path}", 10000)
        self.export_done.emit(result)

    @Slot(object)
    def _on_export_failed(self, error: object) -> None:
        assert isinstance(error, BaseException)
        message = one_line(error)
        if not isinstance(error, ValueError | OSError):
            logger.error("export failed", exc_info=error)
        if self._export_document is not self.document:
            return
        self.last_result = None
        self.last_error = message
        self.tab.show_failure(message)
        self.window.show_status("Export failed: the Export tab says why", 15000)
        self.export_done.emit(error)

    @Slot()
    def _on_export_finished(self) -> None:
        self.export_task = None
        self._export_document = None
        self.tab.end_export()
        self.when_idle.job_ended()

    # --- serve --------------------------------------------------------------------------------

    def serve_path(self) -> Path | None:
        """The ONNX file Start serves: the output path's, else the last one exported."""
        if self.server is not None:
            return Path(self.server_info.get("path", ""))
        out = serve_candidate(self.tab.output_text(), self.tab.format())
        if out is not None:
            return out
        if self.last_onnx is not None and self.last_onnx.is_file():
            return self.last_onnx
        return None

    def is_serving(self) -> bool:
        """True while a server listens."""
        return self.server is not None

    def is_starting_server(self) -> bool:
        """True while a server is being loaded and bound."""
        return self._server_task is not None

    def start_server(self) -> bool:
        """Load the ONNX file and listen on the tab's host and port, off the GUI thread."""
        if self.server is not None or self._server_task is not None:
            return False
        path = self.serve_path()
        if path is None:
            return False
        host, port = self.tab.host() or DEFAULT_HOST, self.tab.port()
        stopped_at = self._stopped_at.get(port, 0.0) if port else 0.0

        def work(progress: Any, cancelled: Any) -> tuple[Any, dict[str, str]]:
            from workbench.deploy.server import ModelServer, ServeError

            server = ModelServer(path, host=host, port=port, quiet=True)
            while True:
                try:
                    server.start()
                    break
                except ServeError as e:
                    # the server stopped a moment ago may not have let go of the port yet
                    if "in use" not in str(e) or time.monotonic() - stopped_at > REBIND_SECONDS:
                        raise
                    time.sleep(0.05)
            predictor = server.predictor
            info = {
                "path": str(path),
                "url": server.url,
                "describe": predictor.describe(),
                "example": predictor.example_instance(),
            }
            return server, info

        self.server_error = None
        self._stop_when_started = False
        self._server_task = run_task(work, name="serve")
        self._server_task.succeeded.connect(self._on_server_started)
        self._server_task.failed.connect(self._on_server_failed)
        self._server_task.finished.connect(self._on_server_task_finished)
        self.tab.update_serve()
        return True

    @Slot(object)
    def _on_server_started(self, value: tuple[Any, dict[str, str]]) -> None:
        server, info = value
        if self._stop_when_started:
            server.stop(wait=False)
            return
        self.server = server
        self.server_info = info
        self.window.show_status(f"Serving {Path(info['path']).name} at {info['url']}", 10000)

    @Slot(object)
    def _on_server_failed(self, error: object) -> None:
        assert isinstance(error, BaseException)
        if not self._stop_when_started:
            self.server_error = gui_wording(one_line(error))

    @Slot()
    def _on_server_task_finished(self) -> None:
        self._server_task = None
        self._stop_when_started = False
        self.tab.update_serve()
        self.server_changed.emit()

    def stop_server(self) -> None:
        """Stop listening (never waits: the server shuts down on a helper thread)."""
        if self._server_task is not None:
            self._stop_when_started = True
        server, self.server = self.server, None
        if server is not None:
            url = self.server_info.get("url", "")
            port = url.rsplit(":", 1)[-1]
            if port.isdigit():
                self._stopped_at[int(port)] = time.monotonic()
            self._stopped_at[self.tab.port()] = time.monotonic()
            server.stop(wait=False)
            self.server_info = {}
            self.window.show_status("Server stopped", 5000)
            self.server_changed.emit()
        self.tab.update_serve()

    # --- the page -----------------------------------------------------------------------------

    def show_node(self, node_id: str) -> None:
        """Select ``node_id`` on the Model tab's canvas and bring it into view."""
        window = self.window
        if self.document is None or node_id not in self.document.graph.nodes:
            return
        window.show_page("model")
        window.canvas.select_nodes([node_id])
        window.canvas.center_on_node(node_id)
        window.canvas.setFocus()

    def shutdown(self) -> None:
        """The window is closing: stop the server (without waiting)."""
        self.stop_server()
        if self.document is not None:
            self.document.unsubscribe(self._on_document_changed)


__all__ = ["ExportController"]
