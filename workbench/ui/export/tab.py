"""The Export page: what to export (a run), the format and file, the builder's checks and
the Export button on the left; the last export's result and the local server on the right.

:class:`~workbench.ui.export.controller.ExportController` drives it. The parts live in
their own modules (:mod:`.run_picker`, :mod:`.checks`, :mod:`.result`, :mod:`.serve`);
this module places them and keeps the format, the output path and the Export button.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.export_check import DEFAULT_OPSET, MAX_OPSET, MIN_OPSET, ExportIssue
from workbench.core.export_formats import (
    EXPORT_FORMATS,
    default_file_name,
    get_format,
    path_for_format,
)
from workbench.export.wording import RunChoice, output_note
from workbench.ui import theme
from workbench.ui.export.checks import ChecksList, IssueRow
from workbench.ui.export.result import ResultCard
from workbench.ui.export.run_picker import RunPicker
from workbench.ui.export.serve import ServePanel
from workbench.ui.export.style import STYLESHEET, field, form, set_role
from workbench.ui.theme import label

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.ui.export.controller import ExportController

#: The formats, as the format picker shows them (from :mod:`workbench.core.export_formats`).
FORMAT_TITLES = {f.name: f.title for f in EXPORT_FORMATS.values()}
#: What the Export button says for each format.
EXPORT_BUTTON_TEXT = {f.name: f.button for f in EXPORT_FORMATS.values()}
#: What happens when Export is pressed, beside the button.
EXPORT_HINTS = {f.name: f.hint for f in EXPORT_FORMATS.values()}


class ExportTab(QWidget):
    """The Export page; :class:`~workbench.ui.export.controller.ExportController` drives it.

    Left: what to export (a run), the format and file, the builder's checks and the
    Export button. Right: the result of the last export, and the local server.
    """

    def __init__(self, controller: ExportController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("exportTab")
        self.controller = controller
        self.document: Document | None = None
        self._auto_output = True
        self._setting_output = False
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
        self.run_picker = picker = RunPicker(self.controller, self)
        self.run_combo: QComboBox = picker.combo
        self.run_detail: QLabel = picker.detail
        self.no_runs: QFrame = picker.no_runs
        self.no_runs_title: QLabel = picker.no_runs_title
        self.no_runs_text: QLabel = picker.no_runs_text
        self.train_button: QPushButton = picker.train_button
        run_label = picker.label
        what = form()
        what.addRow(run_label, field(self.run_combo, self.run_detail))
        col.addLayout(what)
        col.addWidget(self.no_runs)

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
        fmt_form = form()
        self._fmt_form = fmt_form
        format_label, opset_label, out_label = QLabel("Format"), QLabel("Opset"), QLabel("Save to")
        format_label.setBuddy(self.format_combo)
        opset_label.setBuddy(self.opset_spin)
        out_label.setBuddy(self.output_edit)
        fmt_form.addRow(format_label, field(self.format_combo, self.format_note))
        fmt_form.addRow(opset_label, opset_box)
        self._opset_row = fmt_form.rowCount() - 1
        fmt_form.addRow(out_label, field(out_box, self.output_note))
        col.addLayout(fmt_form)
        # one label column across both forms, so the fields line up
        width = max(w.sizeHint().width() for w in (run_label, format_label, opset_label, out_label))
        for w in (run_label, format_label, opset_label, out_label):
            w.setMinimumWidth(width)
            w.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            w.setContentsMargins(0, 4, 0, 0)

        # 3. checks
        col.addWidget(label("BEFORE EXPORTING", "section"))
        self.checks = ChecksList()
        self.checks.node_activated.connect(self.controller.show_node)
        self.checks_ok: QLabel = self.checks.checks_ok
        self.issues_box: QWidget = self.checks.issues_box
        col.addWidget(self.checks)
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
        self.result = ResultCard()
        self.result.open_button.clicked.connect(self.open_folder)
        self.result.copy_button.clicked.connect(self.copy_path)
        self.result_title: QLabel = self.result.title
        self.result_text: QLabel = self.result.text
        self.busy_bar = self.result.busy_bar
        self.figures: QWidget = self.result.figures
        self.notes_label: QLabel = self.result.notes_label
        self.open_button: QPushButton = self.result.open_button
        self.copy_button: QPushButton = self.result.copy_button
        rcol.addWidget(self.result)
        rcol.addSpacing(8)
        rcol.addWidget(label("SERVE OVER HTTP (ONNX)", "section"))
        self.serve = ServePanel(self.controller)
        self.serve.host_edit.textChanged.connect(lambda _t: self.update_serve())
        self.serve_model: QLabel = self.serve.serve_model
        self.host_edit: QLineEdit = self.serve.host_edit
        self.port_spin: QSpinBox = self.serve.port_spin
        self.start_server_button: QPushButton = self.serve.start_server_button
        self.stop_server_button: QPushButton = self.serve.stop_server_button
        self.serve_status: QLabel = self.serve.serve_status
        self.serve_describe: QLabel = self.serve.serve_describe
        self.curl_label: QLabel = self.serve.curl_label
        self.copy_curl_button: QPushButton = self.serve.copy_curl_button
        self.serve_error: QLabel = self.serve.serve_error
        self.serve_hint: QLabel = self.serve.serve_hint
        rcol.addWidget(self.serve)
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

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(1200, 700)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        # A run may have been trained or removed by another program since.
        self.controller.refresh_runs()
        self._on_output_changed()
        self.update_serve()

    # --- values ---------------------------------------------------------------------------------

    @property
    def result_state(self) -> str:
        """ "empty", "busy", "ok" or "error": what the result card shows."""
        return self.result.state

    @property
    def issue_rows(self) -> list[IssueRow]:
        """The rows of the builder's findings shown."""
        return self.checks.rows

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
        return self.run_picker.run_id()

    def select_run(self, run_id: str | None) -> None:
        """Choose a run by id (None: the untrained model)."""
        self.run_picker.select_run(run_id)

    def host(self) -> str:
        """The server's host field."""
        return self.serve.host()

    def port(self) -> int:
        """The server's port (0: any free port)."""
        return self.serve.port()

    # --- the document ---------------------------------------------------------------------------

    def set_document(self, document: Document) -> None:
        """Show a (new) project: default output, no result, runs to be listed."""
        self.document = document
        self._auto_output = True
        self.run_picker.forget()
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
        self.run_picker.show_no_runs(doc)
        self.refresh_checks()

    def _set_default_output(self) -> None:
        path = self.controller.default_folder() / default_file_name(
            self.controller.project_name(), self.format()
        )
        self._setting_output = True
        self.output_edit.setText(str(path))
        self._setting_output = False
        self._auto_output = True

    def set_runs(self, runs: list[RunChoice], loading: bool = False) -> None:
        """Fill the run picker (newest first, then the untrained model)."""
        self.run_picker.set_runs(runs, loading)
        self.run_picker.show_no_runs(self.document)

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
        note, warn = output_note(self.output_text(), self.format())
        self.output_note.setText(note)
        set_role(self.output_note, "error" if warn else "muted")
        self.output_note.setVisible(bool(note))
        theme.set_invalid(self.output_edit, warn)
        self.update_controls()
        self.update_serve()

    def refresh_checks(self) -> None:
        """Run the builder's checks for the chosen format and opset and list what they find."""
        issues = self.controller.issues()
        if self.checks.show_issues(issues, self.format(), self.opset()):
            self._fix_tab_order()
        self.update_controls(issues)

    def issue_texts(self) -> list[tuple[str, str]]:
        """(severity, text) of each finding shown (for tests and scripts)."""
        return self.checks.texts()

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
        set_role(self.export_hint, "error" if problem is not None and not busy else "muted")
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
        chain += self.checks.show_buttons()
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
        self.result.show_busy(out)
        self.update_controls()
        self.update_serve()

    def set_stage(self, message: str) -> None:
        """The exporter's current stage (``exporting to ONNX and verifying…``)."""
        self.result.set_stage(message)

    def end_export(self) -> None:
        """The export's thread ended."""
        if self.result.state == "busy":  # ended without a result for this project
            self.show_empty_result()
        self.busy_bar.hide()
        self.update_controls()
        self.update_serve()

    def show_empty_result(self) -> None:
        """No export yet: say what will appear here."""
        self.result.show_empty()

    def show_failure(self, message: str) -> None:
        """The export failed: its one-line message, in red."""
        self.result.show_failure(message)

    def show_result(self, result: Any, source: str) -> None:
        """A successful export: where it went, what was checked and the figures."""
        self.result.show_result(result, source)

    def figure(self, key: str) -> str:
        """The value shown for figure ``key`` ("Largest difference", "File size"…), or ''."""
        return self.result.figure(key)

    def open_folder(self) -> None:
        """Show the exported file's folder in the file manager."""
        target = self.result.open_target
        if target is not None and self.result.state == "ok":
            self._open_url(QUrl.fromLocalFile(str(target)))

    def _open_url(self, url: QUrl) -> bool:
        """Open ``url`` with the desktop (tests replace this)."""
        return QDesktopServices.openUrl(url)

    def copy_path(self) -> None:
        """Copy the exported path to the clipboard."""
        if self.result.path is not None:
            QGuiApplication.clipboard().setText(str(self.result.path))
            self.controller.window.show_status("Copied the path to the clipboard", 4000)

    # --- serve --------------------------------------------------------------------------------------

    def update_serve(self) -> None:
        """Show the server's state and enable the controls that apply."""
        self.serve.update_state(self.format())

    def curl_command(self) -> str:
        """An example request for the running server."""
        return self.serve.curl_command()

    def copy_curl(self) -> None:
        """Copy the example request to the clipboard."""
        self.serve.copy_curl()

    def server_url(self) -> str:
        """The address shown while serving, or ''."""
        return self.serve.server_url()


__all__ = ["EXPORT_BUTTON_TEXT", "EXPORT_HINTS", "FORMAT_TITLES", "ExportTab"]
