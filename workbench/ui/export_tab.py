"""The Export tab: pick a run, a format and a file, see the builder's checks, export, serve.

:class:`ExportController` connects the tab to the window. It follows the window's
document, lists the project's trained runs off the GUI thread, runs one export at a time
through :func:`workbench.ui.workers.run_task_with_partial` (the exporter's stage
messages arrive as partial results) and starts and stops a local
:class:`~workbench.deploy.server.ModelServer` for an ONNX file. torch, onnx and
onnxruntime are imported only inside those workers; the builder's checks
(:func:`workbench.core.export_check.export_issues`) are pure Python and run on every edit.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSize, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QFontDatabase, QGuiApplication, QMouseEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.export_check import (
    DEFAULT_OPSET,
    MAX_OPSET,
    MIN_OPSET,
    ExportIssue,
    export_issues,
)
from workbench.core.export_formats import EXPORT_FORMATS, get_format, path_for_format
from workbench.export.service import default_file_name, trained_runs
from workbench.ui import theme
from workbench.ui.theme import label
from workbench.ui.workers import Task, run_task, run_task_with_partial

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.ui.main_window import MainWindow

logger = logging.getLogger(__name__)

#: The formats, as the format picker shows them (from :mod:`workbench.core.export_formats`).
FORMAT_TITLES = {f.name: f.title for f in EXPORT_FORMATS.values()}
#: What the Export button says for each format.
EXPORT_BUTTON_TEXT = {f.name: f.button for f in EXPORT_FORMATS.values()}
#: What happens when Export is pressed, beside the button.
EXPORT_HINTS = {f.name: f.hint for f in EXPORT_FORMATS.values()}
#: The metric shown beside a run in the picker: the first of these its epoch row has.
RUN_METRICS = ("val_accuracy", "val_r2", "val_mae", "val_rmse", "val_loss")
UNTRAINED_TEXT = "Untrained model (initial weights)"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: After a Stop, the old server may hold its port for up to its poll interval; a Start on
#: the same port retries binding for this long before it reports the port as in use.
REBIND_SECONDS = 2.0

AMBER_TINT = "#fef6e0"
AMBER_BORDER = "#f0d58c"
ERROR_BORDER = "#f2b8b8"
OK_TINT = "#e9f7ee"
#: The tab's addition to the app's stylesheet (theme.py): buttons inside forms and cards
#: are as tall as the fields beside them.
STYLESHEET = """
QPushButton[compact="true"] { padding: 4px 14px; }
"""


# --- pure helpers (no Qt) -------------------------------------------------------------------------


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


def _sentence(text: str) -> str:
    """``text`` as a sentence: a capital first letter (unless it starts with a file or
    layer name such as ``model.py`` or ``embedding_1``) and a full stop."""
    text = text.strip().rstrip(":;,").rstrip()
    if text and text[-1] not in ".!?)":
        text += "."
    first = text.split(" ", 1)[0]
    if any(c in first for c in "._/\\") or first[:1].isdigit():
        return text
    return text[:1].upper() + text[1:]


def _gui_wording(message: str) -> str:
    """A server message written for the command line, worded for the window."""
    return message.replace("choose another with --port", "choose another port")


# --- the controller ------------------------------------------------------------------------------


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
        self._then: list[Callable[[], None]] = []
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
        text = self.tab.output_text()
        if not text:
            return "Choose where to save the export."
        out = Path(text).expanduser()
        if not out.parent.is_dir() or (not get_format(self.tab.format()).folder and out.is_dir()):
            return "Fix the path to save to (above)."
        return None

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
        then, self._then = self._then, []
        for fn in then:
            QTimer.singleShot(0, fn)

    def when_idle(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` once no export runs (at once, on the next turn of the event loop, if none)."""
        if self.is_exporting():
            if fn not in self._then:
                self._then.append(fn)
        else:
            QTimer.singleShot(0, fn)

    # --- serve --------------------------------------------------------------------------------

    def serve_path(self) -> Path | None:
        """The ONNX file Start serves: the output path's, else the last one exported."""
        if self.server is not None:
            return Path(self.server_info.get("path", ""))
        if get_format(self.tab.format()).servable:
            text = self.tab.output_text()
            if text:
                out = Path(text).expanduser()
                if out.suffix.lower() == ".onnx" and out.is_file():
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
            self.server_error = _gui_wording(one_line(error))

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


# --- widgets -------------------------------------------------------------------------------------


class IssueRow(QFrame):
    """One of the builder's findings: its severity, the message, and a way to the layer.

    Signals:
        activated(str): The user asked to see the layer (a click, or "Show layer").
    """

    activated = Signal(str)

    def __init__(self, issue: ExportIssue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.issue = issue
        self.setObjectName("issueRow")
        error = issue.severity == "error"
        bg, border, fg = (
            (theme.ERROR_TINT, ERROR_BORDER, theme.ERROR)
            if error
            else (AMBER_TINT, AMBER_BORDER, theme.WARNING)
        )
        self.setStyleSheet(
            f"QFrame#issueRow {{ background: {bg}; border: 1px solid {border}; border-radius: 6px; }}"
            f"QFrame#issueRow QLabel {{ color: {fg}; background: transparent; border: none; }}"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 6, 8, 6)
        row.setSpacing(8)
        self.kind = QLabel("Error" if error else "Warning")
        self.kind.setObjectName("issueKind")
        self.kind.setFont(theme.bold(self.kind.font()))
        self.kind.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text = QLabel(self._message())
        self.text.setObjectName("issueText")
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        row.addWidget(self.kind, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.text, 1)
        self.show_button: QPushButton | None = None
        if issue.node:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
            self.setToolTip(f"Show {issue.node} in the Model tab")
            b = QPushButton("Show layer")
            b.setObjectName("link")
            b.setStyleSheet(f"QPushButton#link {{ color: {theme.ACCENT}; padding: 0px 2px; }}")
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.setToolTip(f"Select {issue.node} on the canvas (Model tab)")
            b.clicked.connect(lambda: self.activated.emit(issue.node))
            row.addWidget(b, 0, Qt.AlignmentFlag.AlignTop)
            self.show_button = b

    def _message(self) -> str:
        if not self.issue.node:
            return _sentence(self.issue.message)
        msg = self.issue.message.strip()
        msg += "" if msg.endswith(".") else "."
        return _sentence(msg) if f"{self.issue.node}:" in msg else f"{self.issue.node}: {msg}"

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt override
        if self.issue.node and event.button() == Qt.MouseButton.LeftButton:
            self.activated.emit(self.issue.node)
            event.accept()
            return
        super().mousePressEvent(event)


class ExportTab(QWidget):
    """The Export page; :class:`ExportController` drives it.

    Left: what to export (a run), the format and file, the builder's checks and the
    Export button. Right: the result of the last export, and the local server.
    """

    def __init__(self, controller: ExportController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportTab")
        self.controller = controller
        self.document: Document | None = None
        #: "empty", "busy", "ok" or "error": what the result card shows.
        self.result_state = "empty"
        self.issue_rows: list[IssueRow] = []
        self._issues_key: tuple[Any, ...] | None = None
        self._auto_output = True
        self._setting_output = False
        self._user_chose_run = False
        self._known_runs: set[str] = set()
        self._result_path: Path | None = None
        self._open_target: Path | None = None
        self._build()

    # --- construction -----------------------------------------------------------------------

    def _build(self) -> None:
        self.setStyleSheet(STYLESHEET)
        left = QWidget()
        left.setObjectName("exportSettings")
        col = QVBoxLayout(left)
        col.setContentsMargins(16, 12, 16, 16)
        col.setSpacing(4)
        self.title = label("Export", "heading")
        self.title.setObjectName("exportTitle")
        self.subtitle = label(
            "Write the trained model to a file other programs can use, checked before it is kept.",
            "muted",
            wrap=True,
        )
        col.addWidget(self.title)
        col.addWidget(self.subtitle)
        col.addSpacing(6)

        # 1. what
        col.addWidget(label("WHAT TO EXPORT", "section"))
        self.run_combo = QComboBox()
        self.run_combo.setObjectName("runCombo")
        self.run_combo.setToolTip("The trained run whose weights are exported")
        self.run_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.run_combo.setMinimumContentsLength(20)
        self.run_combo.activated.connect(self._on_run_activated)
        self.run_combo.currentIndexChanged.connect(lambda _i: self._show_run_detail())
        run_label = QLabel("Run")
        run_label.setBuddy(self.run_combo)
        self.run_detail = label("", "muted", wrap=True)
        self.run_detail.setObjectName("runDetail")
        what = self._form()
        what.addRow(run_label, self._field(self.run_combo, self.run_detail))
        col.addLayout(what)
        self.no_runs = QFrame()
        self.no_runs.setObjectName("noRuns")
        self.no_runs.setStyleSheet(
            f"QFrame#noRuns {{ background: {theme.PANEL}; border: 1px dashed {theme.BORDER}; border-radius: 8px; }}"
        )
        nr = QVBoxLayout(self.no_runs)
        nr.setContentsMargins(12, 10, 12, 10)
        nr.setSpacing(4)
        self.no_runs_title = QLabel(
            "Train the model first (Train tab) — or export the untrained model"
        )
        self.no_runs_title.setObjectName("noRunsTitle")
        self.no_runs_title.setFont(theme.bold(self.no_runs_title.font()))
        self.no_runs_title.setWordWrap(True)
        self.no_runs_text = label("", "muted", wrap=True)
        self.no_runs_text.setObjectName("noRunsText")
        self.train_button = QPushButton("Go to the Train tab")
        self.train_button.setObjectName("link")
        self.train_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.train_button.clicked.connect(lambda: self.controller.window.show_page("train"))
        nr.addWidget(self.no_runs_title)
        nr.addWidget(self.no_runs_text)
        nr.addWidget(self.train_button, 0, Qt.AlignmentFlag.AlignLeft)
        col.addWidget(self.no_runs)
        self.no_runs.hide()

        # 2. format and file
        col.addWidget(label("FORMAT AND FILE", "section"))
        self.format_combo = QComboBox()
        self.format_combo.setObjectName("formatCombo")
        for fmt, title in FORMAT_TITLES.items():
            self.format_combo.addItem(title, fmt)
        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        self.format_note = label("", "muted", wrap=True)
        self.format_note.setObjectName("formatNote")
        self.opset_spin = QSpinBox()
        self.opset_spin.setObjectName("opsetSpin")
        self.opset_spin.setRange(MIN_OPSET, MAX_OPSET)
        self.opset_spin.setValue(DEFAULT_OPSET)
        self.opset_spin.setToolTip(
            f"The ONNX operator set the file uses ({MIN_OPSET}–{MAX_OPSET}). Older runtimes may not read newer opsets."
        )
        self.opset_spin.valueChanged.connect(lambda _v: self.refresh_checks())
        opset_box = QWidget()
        ob = QHBoxLayout(opset_box)
        ob.setContentsMargins(0, 0, 0, 0)
        ob.addWidget(self.opset_spin)
        self.opset_hint = label(f"{MIN_OPSET} is read by the most runtimes", "muted")
        ob.addWidget(self.opset_hint, 1)
        self.output_edit = QLineEdit()
        self.output_edit.setObjectName("outputEdit")
        self.output_edit.setToolTip("Where the export is written")
        self.output_edit.textEdited.connect(self._on_output_edited)
        self.output_edit.textChanged.connect(lambda _t: self._on_output_changed())
        self.browse_button = QPushButton("Browse…")
        self.browse_button.setObjectName("secondary")
        self.browse_button.setProperty("compact", True)
        self.browse_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.browse_button.clicked.connect(self.browse)
        out_box = QWidget()
        obx = QHBoxLayout(out_box)
        obx.setContentsMargins(0, 0, 0, 0)
        obx.setSpacing(6)
        obx.addWidget(self.output_edit, 1)
        obx.addWidget(self.browse_button)
        self.output_note = label("", "muted", wrap=True)
        self.output_note.setObjectName("outputNote")
        fmt_form = self._form()
        self._fmt_form = fmt_form
        format_label, opset_label, out_label = QLabel("Format"), QLabel("Opset"), QLabel("Save to")
        format_label.setBuddy(self.format_combo)
        opset_label.setBuddy(self.opset_spin)
        out_label.setBuddy(self.output_edit)
        fmt_form.addRow(format_label, self._field(self.format_combo, self.format_note))
        fmt_form.addRow(opset_label, opset_box)
        self._opset_row = fmt_form.rowCount() - 1
        fmt_form.addRow(out_label, self._field(out_box, self.output_note))
        col.addLayout(fmt_form)
        # one label column across both forms, so the fields line up
        width = max(w.sizeHint().width() for w in (run_label, format_label, opset_label, out_label))
        for w in (run_label, format_label, opset_label, out_label):
            w.setMinimumWidth(width)
            w.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            w.setContentsMargins(0, 4, 0, 0)

        # 3. checks
        col.addWidget(label("BEFORE EXPORTING", "section"))
        self.checks_ok = QLabel("")
        self.checks_ok.setObjectName("checksOk")
        self.checks_ok.setWordWrap(True)
        self.checks_ok.setStyleSheet(
            f"QLabel#checksOk {{ color: {theme.OK}; background: {OK_TINT}; border: 1px solid #b7e2c4;"
            " border-radius: 6px; padding: 6px 10px; }"
        )
        col.addWidget(self.checks_ok)
        self.issues_box = QWidget()
        self.issues_layout = QVBoxLayout(self.issues_box)
        self.issues_layout.setContentsMargins(0, 0, 0, 0)
        self.issues_layout.setSpacing(4)
        col.addWidget(self.issues_box)
        col.addSpacing(8)

        # 4. export
        self.export_button = QPushButton(EXPORT_BUTTON_TEXT["onnx"])
        self.export_button.setObjectName("primary")
        self.export_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(lambda: self.controller.export())
        self.export_hint = label("", "muted", wrap=True)
        self.export_hint.setObjectName("exportHint")
        ex = QHBoxLayout()
        ex.setSpacing(10)
        self.export_button.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        ex.addWidget(self.export_button, 0, Qt.AlignmentFlag.AlignTop)
        ex.addWidget(self.export_hint, 1)
        ex.addStretch(0)  # keeps the button at the left while the hint is hidden
        col.addLayout(ex)
        col.addStretch(1)

        right = QWidget()
        right.setObjectName("exportResults")
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(8, 12, 16, 16)
        rcol.setSpacing(4)
        rcol.addWidget(label("RESULT", "section"))
        rcol.addWidget(self._build_result_card())
        rcol.addSpacing(8)
        rcol.addWidget(label("SERVE OVER HTTP (ONNX)", "section"))
        rcol.addWidget(self._build_serve_card())
        rcol.addStretch(1)

        left.setMinimumWidth(380)
        left.setMaximumWidth(560)
        body = QWidget()
        row = QHBoxLayout(body)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(0)
        row.addWidget(left, 5)
        row.addWidget(right, 6)
        scroll = QScrollArea()
        scroll.setObjectName("exportScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        scroll.setWidget(body)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(scroll)
        self.show_empty_result()

    def refresh(self) -> None:
        """Bring every part up to date (once the controller holds the tab)."""
        self._on_format_changed()
        self._on_output_changed()
        self.update_serve()

    @staticmethod
    def _field(*widgets: QWidget) -> QWidget:
        """A form field: an input with its caption(s) below it."""
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(3)
        for w in widgets:
            v.addWidget(w)
        return box

    @staticmethod
    def _form() -> QFormLayout:
        form = QFormLayout()
        form.setContentsMargins(0, 4, 0, 8)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(4)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return form

    def _build_result_card(self) -> QFrame:
        card = QFrame()
        card.setObjectName("card")
        card.setProperty("panel", "result")
        v = QVBoxLayout(card)
        v.setContentsMargins(16, 12, 16, 14)
        v.setSpacing(6)
        self.result_title = QLabel("")
        self.result_title.setObjectName("resultTitle")
        f = self.result_title.font()
        f.setPointSizeF(f.pointSizeF() * 1.15)
        f.setBold(True)
        self.result_title.setFont(f)
        self.result_title.setWordWrap(True)
        self.result_text = label("", "muted", wrap=True)
        self.result_text.setObjectName("resultText")
        self.result_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.busy_bar = QProgressBar()
        self.busy_bar.setObjectName("exportBusy")
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setMaximumHeight(8)
        self.figures = QWidget()
        self.figures.setObjectName("figures")
        self.figures_grid = QGridLayout(self.figures)
        self.figures_grid.setContentsMargins(0, 4, 0, 4)
        self.figures_grid.setHorizontalSpacing(14)
        self.figures_grid.setVerticalSpacing(3)
        self.figures_grid.setColumnStretch(1, 1)
        self.figure_values: dict[str, QLabel] = {}
        self.notes_label = label("", "muted", wrap=True)
        self.notes_label.setObjectName("resultNotes")
        self.open_button = QPushButton("Open containing folder")
        self.open_button.setObjectName("secondary")
        self.open_button.setToolTip("Show the exported files in the file manager")
        self.open_button.clicked.connect(self.open_folder)
        self.copy_button = QPushButton("Copy path")
        self.copy_button.setObjectName("secondary")
        self.copy_button.setToolTip("Copy the exported path to the clipboard")
        self.copy_button.clicked.connect(self.copy_path)
        for b in (self.open_button, self.copy_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.setProperty("compact", True)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.copy_button)
        buttons.addStretch(1)
        v.addWidget(self.result_title)
        v.addWidget(self.result_text)
        v.addWidget(self.busy_bar)
        v.addWidget(self.figures)
        v.addWidget(self.notes_label)
        v.addLayout(buttons)
        return card

    def _build_serve_card(self) -> QFrame:
        card = QFrame()
        card.setObjectName("card")
        v = QVBoxLayout(card)
        v.setContentsMargins(16, 12, 16, 14)
        v.setSpacing(6)
        self.serve_model = label("", "muted", wrap=True)
        self.serve_model.setObjectName("serveModel")
        self.serve_model.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.host_edit = QLineEdit(DEFAULT_HOST)
        self.host_edit.setObjectName("hostEdit")
        self.host_edit.setToolTip(
            "The address to listen on: 127.0.0.1 is this computer only; 0.0.0.0 accepts other machines on the network"
        )
        self.host_edit.setMaximumWidth(160)
        self.host_edit.textChanged.connect(lambda _t: self.update_serve())
        self.port_spin = QSpinBox()
        self.port_spin.setObjectName("portSpin")
        self.port_spin.setRange(0, 65535)
        self.port_spin.setValue(DEFAULT_PORT)
        self.port_spin.setSpecialValueText("any free")
        self.port_spin.setToolTip("The port to listen on (0: any free port)")
        self.port_spin.setMinimumWidth(90)
        self.start_server_button = QPushButton("Start server")
        self.start_server_button.setObjectName("primary")
        self.start_server_button.setProperty("compact", True)
        self.start_server_button.clicked.connect(lambda: self.controller.start_server())
        self.stop_server_button = QPushButton("Stop")
        self.stop_server_button.setObjectName("secondary")
        self.stop_server_button.setProperty("compact", True)
        self.stop_server_button.clicked.connect(lambda: self.controller.stop_server())
        for b in (self.start_server_button, self.stop_server_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
        host_label, port_label = QLabel("Host"), QLabel("Port")
        host_label.setBuddy(self.host_edit)
        port_label.setBuddy(self.port_spin)
        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(host_label)
        row.addWidget(self.host_edit)
        row.addSpacing(6)
        row.addWidget(port_label)
        row.addWidget(self.port_spin)
        row.addSpacing(10)
        row.addWidget(self.start_server_button)
        row.addWidget(self.stop_server_button)
        row.addStretch(1)
        self.serve_status = QLabel("")
        self.serve_status.setObjectName("serveStatus")
        self.serve_status.setWordWrap(True)
        self.serve_status.setTextFormat(Qt.TextFormat.RichText)
        self.serve_status.setOpenExternalLinks(True)
        self.serve_status.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.serve_describe = label("", "muted", wrap=True)
        self.serve_describe.setObjectName("serveDescribe")
        self.curl_label = QLabel("")
        self.curl_label.setObjectName("curlLine")
        self.curl_label.setWordWrap(True)
        self.curl_label.setTextFormat(Qt.TextFormat.PlainText)
        self.curl_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(max(8.0, self.font().pointSizeF() - 1))
        self.curl_label.setFont(mono)
        self.curl_label.setStyleSheet(
            f"QLabel#curlLine {{ background: {theme.WINDOW}; border: 1px solid {theme.BORDER}; border-radius: 4px;"
            " padding: 6px 8px; }"
        )
        self.copy_curl_button = QPushButton("Copy command")
        self.copy_curl_button.setObjectName("link")
        self.copy_curl_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.copy_curl_button.clicked.connect(self.copy_curl)
        self.serve_error = label("", "error", wrap=True)
        self.serve_error.setObjectName("serveError")
        self.serve_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.serve_hint = label(
            "127.0.0.1 is reachable from this computer only; 0.0.0.0 opens the server to your network.",
            "muted",
            wrap=True,
        )
        self.serve_hint.setObjectName("serveHint")
        v.addWidget(self.serve_model)
        v.addLayout(row)
        v.addWidget(self.serve_error)
        v.addWidget(self.serve_status)
        v.addWidget(self.serve_describe)
        v.addWidget(self.curl_label)
        v.addWidget(self.copy_curl_button, 0, Qt.AlignmentFlag.AlignLeft)
        v.addWidget(self.serve_hint)
        return card

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(1200, 700)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # A run may have been trained or removed by another program since.
        self.controller.refresh_runs()
        self._on_output_changed()
        self.update_serve()

    # --- values ---------------------------------------------------------------------------------

    def format(self) -> str:
        """The chosen format: ``onnx``, ``weights`` or ``python``."""
        return str(self.format_combo.currentData() or "onnx")

    def set_format(self, fmt: str) -> None:
        """Choose a format (as the user would)."""
        self.format_combo.setCurrentIndex(max(0, self.format_combo.findData(fmt)))

    def opset(self) -> int:
        """The chosen ONNX opset."""
        return int(self.opset_spin.value())

    def output_text(self) -> str:
        """The output path as typed."""
        return self.output_edit.text().strip()

    def set_output(self, path: str | os.PathLike[str]) -> None:
        """Set the output path (as the user would; it is no longer the default)."""
        self._auto_output = False
        self.output_edit.setText(str(path))

    def run_id(self) -> str | None:
        """The chosen run's id, or None for the untrained model."""
        data = self.run_combo.currentData()
        return str(data) if data else None

    def select_run(self, run_id: str | None) -> None:
        """Choose a run by id (None: the untrained model)."""
        index = self.run_combo.findData(run_id or "")
        if index >= 0:
            self.run_combo.setCurrentIndex(index)
            self._user_chose_run = True

    def host(self) -> str:
        """The server's host field."""
        return self.host_edit.text().strip()

    def port(self) -> int:
        """The server's port (0: any free port)."""
        return int(self.port_spin.value())

    # --- the document ---------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Show a (new) project: default output, no result, runs to be listed."""
        self.document = document
        self._auto_output = True
        self._user_chose_run = False
        self._known_runs = set()
        self.set_runs([], loading=document.path is not None)
        if not self.controller.is_exporting():
            self.show_empty_result()
        self.document_changed()

    def document_changed(self) -> None:
        """The document changed (an edit, a save): checks, titles, default output."""
        doc = self.document
        if doc is None:
            return
        self.title.setText(f"Export {doc.name}")
        if self._auto_output:
            self._set_default_output()
        self._show_no_runs()
        self.refresh_checks()

    def _set_default_output(self) -> None:
        path = self.controller.default_folder() / default_file_name(
            self.controller.project_name(), self.format()
        )
        self._setting_output = True
        self.output_edit.setText(str(path))
        self._setting_output = False
        self._auto_output = True

    # --- runs -------------------------------------------------------------------------------------

    def set_runs(self, runs: list[RunChoice], loading: bool = False) -> None:
        """Fill the run picker (newest first, then the untrained model)."""
        previous = self.run_id() if self.run_combo.count() else None
        fresh = {r.run_id for r in runs} - self._known_runs
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        for r in runs:
            self.run_combo.addItem(r.label, r.run_id)
            self.run_combo.setItemData(
                self.run_combo.count() - 1, r.detail, Qt.ItemDataRole.ToolTipRole
            )
        if loading:
            self.run_combo.addItem("Looking for trained runs…", "")
        else:
            self.run_combo.addItem(UNTRAINED_TEXT, "")
            self.run_combo.setItemData(
                self.run_combo.count() - 1,
                "The model's freshly initialised weights: the file works but predicts nothing useful",
                Qt.ItemDataRole.ToolTipRole,
            )
        index = 0
        if self._user_chose_run and not fresh:
            found = self.run_combo.findData(previous or "")
            index = found if found >= 0 else 0
        else:
            self._user_chose_run = False
        self.run_combo.setCurrentIndex(index)
        self.run_combo.blockSignals(False)
        if not loading:
            self._known_runs |= {r.run_id for r in runs}
        self._show_run_detail()
        self._show_no_runs()

    def _on_run_activated(self, _index: int) -> None:
        self._user_chose_run = True

    def _show_run_detail(self) -> None:
        index = self.run_combo.currentIndex()
        run_id = self.run_id()
        if run_id:
            self.run_detail.setText(
                str(self.run_combo.itemData(index, Qt.ItemDataRole.ToolTipRole) or "")
            )
        elif self.controller.runs_loaded and self.controller.runs:
            self.run_detail.setText(
                "Freshly initialised weights: the file works, but its predictions mean nothing yet."
            )
        else:
            self.run_detail.setText("")
        self.run_detail.setVisible(bool(self.run_detail.text()))

    def _show_no_runs(self) -> None:
        doc = self.document
        c = self.controller
        if doc is None or not c.runs_loaded or c.runs:
            self.no_runs.hide()
            return
        if doc.path is None:
            self.no_runs_text.setText(
                "This project is not saved yet, so it has no training runs. Save it and train it on the Train "
                "tab to export its learned weights. The untrained model exports now, to try the formats."
            )
        else:
            self.no_runs_text.setText(
                f"No run of “{doc.name}” has a checkpoint yet. The untrained model exports now, "
                "to try the formats; its predictions mean nothing until it is trained."
            )
        self.no_runs.show()

    # --- format, output and checks -----------------------------------------------------------------

    def _on_format_changed(self, _index: int = 0) -> None:
        fmt = self.format()
        spec = get_format(fmt)
        self._fmt_form.setRowVisible(self._opset_row, spec.onnx)
        name = default_file_name(self.controller.project_name(), fmt)
        stem = name.removesuffix(spec.ending)
        self.format_note.setText(spec.note.format(stem=stem))
        self.export_button.setText(EXPORT_BUTTON_TEXT[fmt])
        if self._auto_output and self.document is not None:
            self._set_default_output()
        elif self.output_text():
            self._setting_output = True
            self.output_edit.setText(str(path_for_format(Path(self.output_text()), fmt)))
            self._setting_output = False
        self.refresh_checks()
        self.update_serve()

    def _on_output_edited(self, _text: str) -> None:
        if not self._setting_output:
            self._auto_output = False

    def _on_output_changed(self) -> None:
        text = self.output_text()
        note, warn = "", False
        if text:
            out = Path(text).expanduser()
            if not out.parent.is_dir():
                note, warn = f"The folder {out.parent} does not exist.", True
            elif get_format(self.format()).folder:
                note = (
                    f"{out.name} exists: it is replaced only if it holds {get_format(self.format()).replaces}."
                    if out.exists()
                    else f"Creates the folder {out.name} in {out.parent}."
                )
            elif out.is_dir():
                note, warn = f"{out} is a folder: add a file name.", True
            elif out.exists():
                note = f"{out.name} exists and will be replaced."
        self.output_note.setText(note)
        _set_role(self.output_note, "error" if warn else "muted")
        self.output_note.setVisible(bool(note))
        theme.set_invalid(self.output_edit, warn)
        self.update_controls()
        self.update_serve()

    def refresh_checks(self) -> None:
        """Run the builder's checks for the chosen format and opset and list what they find."""
        issues = self.controller.issues()
        key = (self.format(), self.opset(), tuple(issues))
        if key != self._issues_key:
            self._issues_key = key
            for row in self.issue_rows:
                self.issues_layout.removeWidget(row)
                row.hide()
                row.deleteLater()
            self.issue_rows = []
            for issue in issues:
                row = IssueRow(issue)
                row.activated.connect(self.controller.show_node)
                self.issues_layout.addWidget(row)
                self.issue_rows.append(row)
            self.issues_box.setVisible(bool(issues))
            fmt = self.format()
            if not issues:
                what = get_format(fmt).checks_title.format(opset=self.opset())
                self.checks_ok.setText(f"✓  No problems found: the model exports as {what}.")
                self.checks_ok.show()
            else:
                self.checks_ok.hide()
            self._fix_tab_order()
        self.update_controls(issues)

    def issue_texts(self) -> list[tuple[str, str]]:
        """(severity, text) of each finding shown (for tests and scripts)."""
        return [(r.issue.severity, r.text.text()) for r in self.issue_rows]

    def browse(self) -> None:
        """Ask where to write the export (a file, or for code the folder to create it in)."""
        chosen = self._ask_output_path(self.format(), self.output_text())
        if chosen:
            self.set_output(chosen)

    def _ask_output_path(self, fmt: str, current: str) -> str | None:
        """The file dialog (tests replace this)."""
        current_path = Path(current) if current else self.controller.default_folder()
        spec = get_format(fmt)
        if spec.folder:
            folder = QFileDialog.getExistingDirectory(
                self,
                "Create the export folder in",
                str(current_path.parent if current else current_path),
            )
            if not folder:
                return None
            name = (
                current_path.name
                if current
                else default_file_name(self.controller.project_name(), fmt)
            )
            return str(Path(folder) / name)
        path, _ = QFileDialog.getSaveFileName(
            self, "Export to", str(current_path), spec.dialog_filter
        )
        if not path:
            return None
        return path if Path(path).suffix else path + spec.suffix

    # --- controls ---------------------------------------------------------------------------------

    def update_controls(self, issues: list[ExportIssue] | None = None) -> None:
        """Enable Export when it can run, and say why not otherwise."""
        c = self.controller
        busy = c.is_exporting()
        problem = c.export_problem(issues)
        self.export_button.setEnabled(problem is None)
        self.export_button.setText("Exporting…" if busy else EXPORT_BUTTON_TEXT[self.format()])
        for w in (
            self.run_combo,
            self.format_combo,
            self.opset_spin,
            self.output_edit,
            self.browse_button,
        ):
            w.setEnabled(not busy)
        if busy:
            self.export_hint.setText("")
        elif problem is not None:
            self.export_hint.setText(problem)
        else:
            self.export_hint.setText(EXPORT_HINTS[self.format()])
        _set_role(self.export_hint, "error" if problem is not None and not busy else "muted")
        self.export_hint.setVisible(bool(self.export_hint.text()))
        self.export_button.setToolTip(problem or "Export with these settings")

    def _fix_tab_order(self) -> None:
        chain: list[QWidget] = [
            self.run_combo,
            self.train_button,
            self.format_combo,
            self.opset_spin,
            self.output_edit,
            self.browse_button,
        ]
        chain += [r.show_button for r in self.issue_rows if r.show_button is not None]
        chain += [
            self.export_button,
            self.open_button,
            self.copy_button,
            self.host_edit,
            self.port_spin,
            self.start_server_button,
            self.stop_server_button,
            self.serve_status,
            self.copy_curl_button,
        ]
        for a, b in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(a, b)

    # --- an export ----------------------------------------------------------------------------------

    def begin_export(self, fmt: str, out: Path) -> None:
        """An export started: show it as busy."""
        self.result_state = "busy"
        self._result_path = None
        self._set_result_title("Exporting…", theme.TEXT)
        self.result_text.setText(f"Writing {out}")
        _set_role(self.result_text, "muted")
        self.result_text.show()
        self.busy_bar.show()
        self.figures.hide()
        self.notes_label.hide()
        self._show_result_buttons(False)
        self.update_controls()
        self.update_serve()

    def set_stage(self, message: str) -> None:
        """The exporter's current stage (``exporting to ONNX and verifying…``)."""
        if self.result_state == "busy":
            self._set_result_title(f"{_sentence(message).rstrip('.')}…", theme.TEXT)

    def end_export(self) -> None:
        """The export's thread ended."""
        if self.result_state == "busy":  # ended without a result for this project
            self.show_empty_result()
        self.busy_bar.hide()
        self.update_controls()
        self.update_serve()

    def show_empty_result(self) -> None:
        """No export yet: say what will appear here."""
        self.result_state = "empty"
        self._result_path = None
        self._set_result_title("Nothing exported yet", theme.MUTED)
        _set_role(self.result_text, "muted")
        self.result_text.setText(
            "Press Export: the model is written, then checked against PyTorch. "
            "What was written and how closely it matches appear here."
        )
        self.result_text.show()
        self.busy_bar.hide()
        self.figures.hide()
        self.notes_label.hide()
        self._show_result_buttons(False)

    def show_failure(self, message: str) -> None:
        """The export failed: its one-line message, in red."""
        self.result_state = "error"
        self._result_path = None
        self._set_result_title("Export failed", theme.ERROR)
        self.result_text.setText(_sentence(message))
        _set_role(self.result_text, "error")
        self.result_text.show()
        self.busy_bar.hide()
        self.figures.hide()
        self.notes_label.setText("Change what the message points to, then export again.")
        self.notes_label.show()
        self._show_result_buttons(False)

    def show_result(self, result: Any, source: str) -> None:
        """A successful export: where it went, what was checked and the figures."""
        self.result_state = "ok"
        path = Path(result.path)
        self._result_path = path
        report = result.onnx
        self._set_result_title(
            "✓  Exported and verified"
            if report is not None or getattr(result, "verified", False)
            else "✓  Exported",
            theme.OK,
        )
        self.result_text.setText(str(path))
        _set_role(self.result_text, "muted")
        self.result_text.show()
        self.busy_bar.hide()
        rows: list[tuple[str, str]] = [("From", _sentence(source).rstrip("."))]
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
                rows.append(
                    ("Sequence lengths", ", ".join(map(str, report.sequence_lengths_checked)))
                )
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
                rows.append(("Dataset samples", _sentence(why or "not checked").rstrip(".")))
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
            rows.append(("File size", theme.human_bytes(report.size_bytes or _size(path))))
            rows.append(("Time", f"{report.seconds:.1f} s"))
        else:
            files = [Path(p) for p in result.files]
            shown = ", ".join(p.name for p in files[:6]) + (", …" if len(files) > 6 else "")
            rows.append(("Files", shown))
            rows.append(("Size", theme.human_bytes(sum(_size(p) for p in files))))
            for line in result.lines[1:]:
                head, _sep, tail = line.partition(": max abs difference ")
                if tail:
                    rows.append(
                        ("Verified", f"{_sentence(head).rstrip('.')}: largest difference {tail}")
                    )
                else:
                    notes.append(line)
        self._set_figures(rows)
        if notes:
            self.notes_label.setText("\n".join(f"• {_sentence(n)}" for n in notes))
            self.notes_label.show()
        else:
            self.notes_label.hide()
        folder = get_format(result.format).folder
        self._open_target = path if folder else path.parent
        self.open_button.setText("Open folder" if folder else "Open containing folder")
        self._show_result_buttons(True)

    def _show_result_buttons(self, shown: bool) -> None:
        # Hidden, not just disabled, until there is a file: the empty card then reads clearly.
        for b in (self.open_button, self.copy_button):
            b.setEnabled(shown)
            b.setVisible(shown)

    def _set_result_title(self, text: str, color: str) -> None:
        self.result_title.setText(text)
        self.result_title.setStyleSheet(f"QLabel#resultTitle {{ color: {color}; }}")

    def _set_figures(self, rows: list[tuple[str, str]]) -> None:
        grid = self.figures_grid
        while grid.count():
            item = grid.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.hide()
                w.deleteLater()
        self.figure_values = {}
        for i, (key, value) in enumerate(rows):
            k = label(key, "muted")
            v = QLabel(value)
            v.setWordWrap(True)
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            v.setObjectName(f"figure_{key.lower().replace(' ', '_')}")
            grid.addWidget(k, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(v, i, 1)
            self.figure_values[key] = v
        self.figures.setVisible(bool(rows))

    def figure(self, key: str) -> str:
        """The value shown for figure ``key`` ("Largest difference", "File size"…), or ''."""
        w = self.figure_values.get(key)
        return w.text() if w is not None else ""

    def open_folder(self) -> None:
        """Show the exported file's folder in the file manager."""
        if self._open_target is not None and self.result_state == "ok":
            self._open_url(QUrl.fromLocalFile(str(self._open_target)))

    def _open_url(self, url: QUrl) -> bool:
        """Open ``url`` with the desktop (tests replace this)."""
        return QDesktopServices.openUrl(url)

    def copy_path(self) -> None:
        """Copy the exported path to the clipboard."""
        if self._result_path is not None:
            QGuiApplication.clipboard().setText(str(self._result_path))
            self.controller.window.show_status("Copied the path to the clipboard", 4000)

    # --- serve --------------------------------------------------------------------------------------

    def update_serve(self) -> None:
        """Show the server's state and enable the controls that apply."""
        c = self.controller
        serving, starting = c.is_serving(), c.is_starting_server()
        path = c.serve_path()
        if serving:
            self.serve_model.setText(f"Model: {c.server_info.get('path', '')}")
        elif path is not None:
            self.serve_model.setText(f"Model: {path}")
        elif not get_format(self.format()).servable and c.last_onnx is None:
            self.serve_model.setText("Serving needs an ONNX file: choose ONNX above and export.")
        else:
            self.serve_model.setText(
                "Export to ONNX first: the server answers with the exported file."
            )
        # Not during an export: it may be about to replace the file.
        self.start_server_button.setEnabled(
            not serving
            and not starting
            and not c.is_exporting()
            and path is not None
            and bool(self.host())
        )
        self.start_server_button.setText("Starting…" if starting else "Start server")
        self.stop_server_button.setEnabled(serving or starting)
        self.host_edit.setEnabled(not serving and not starting)
        self.port_spin.setEnabled(not serving and not starting)
        if serving:
            url = c.server_info.get("url", "")
            self.serve_status.setText(
                f'<span style="color:{theme.OK}; font-weight:600;">●&nbsp; Serving</span> at '
                f'<a href="{url}/metadata" style="color:{theme.ACCENT};">{url}</a>'
                f' &nbsp;<span style="color:{theme.MUTED};">(GET /health, /metadata · POST /predict)</span>'
            )
            self.serve_describe.setText(_sentence(c.server_info.get("describe", "")))
            self.curl_label.setText(self.curl_command())
        elif starting:
            self.serve_status.setText(
                f'<span style="color:{theme.MUTED};">Loading the model and opening the port…</span>'
            )
        else:
            self.serve_status.setText(f'<span style="color:{theme.MUTED};">Not running.</span>')
        self.serve_describe.setVisible(serving and bool(self.serve_describe.text()))
        self.curl_label.setVisible(serving)
        self.copy_curl_button.setVisible(serving)
        self.serve_error.setText(_sentence(c.server_error) if c.server_error else "")
        self.serve_error.setVisible(bool(c.server_error) and not serving)

    def curl_command(self) -> str:
        """An example request for the running server."""
        info = self.controller.server_info
        example = info.get("example") or "..."
        body = '{"instances": [' + example + "]}"
        return f"curl -X POST {info.get('url', '')}/predict -d '{body}'"

    def copy_curl(self) -> None:
        """Copy the example request to the clipboard."""
        QGuiApplication.clipboard().setText(self.curl_command())
        self.controller.window.show_status("Copied the command to the clipboard", 4000)

    def server_url(self) -> str:
        """The address shown while serving, or ''."""
        return self.controller.server_info.get("url", "") if self.controller.is_serving() else ""


def _set_role(widget: QWidget, role: str) -> None:
    """Give a label another stylesheet role (muted, error…) and restyle it."""
    if widget.property("role") != role:
        widget.setProperty("role", role)
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0


__all__ = [
    "ExportController",
    "ExportTab",
    "IssueRow",
    "RunChoice",
    "default_file_name",
    "describe_run",
]
