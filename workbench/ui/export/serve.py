"""The serve panel: the ONNX file to serve, host and port, Start and Stop, and while it
runs, its address and an example request."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.export_formats import get_format
from workbench.export.wording import curl_command, sentence
from workbench.ui import theme
from workbench.ui.theme import label

if TYPE_CHECKING:
    from workbench.ui.export.controller import ExportController

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: After a Stop, the old server may hold its port for up to its poll interval; a Start on
#: the same port retries binding for this long before it reports the port as in use.
REBIND_SECONDS = 2.0


class ServePanel(QFrame):
    """Start and stop a local server for an ONNX file; the controller does the serving."""

    def __init__(self, controller: ExportController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("card")
        v = QVBoxLayout(self)
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

    def host(self) -> str:
        """The host field."""
        return self.host_edit.text().strip()

    def port(self) -> int:
        """The port (0: any free port)."""
        return int(self.port_spin.value())

    def update_state(self, fmt: str) -> None:
        """Show the server's state and enable the controls that apply (``fmt``: the chosen format)."""
        c = self.controller
        serving, starting = c.is_serving(), c.is_starting_server()
        path = c.serve_path()
        if serving:
            self.serve_model.setText(f"Model: {c.server_info.get('path', '')}")
        elif path is not None:
            self.serve_model.setText(f"Model: {path}")
        elif not get_format(fmt).servable and c.last_onnx is None:
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
            self.serve_describe.setText(sentence(c.server_info.get("describe", "")))
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
        self.serve_error.setText(sentence(c.server_error) if c.server_error else "")
        self.serve_error.setVisible(bool(c.server_error) and not serving)

    def curl_command(self) -> str:
        """An example request for the running server."""
        info = self.controller.server_info
        return curl_command(info.get("url", ""), info.get("example") or "")

    def copy_curl(self) -> None:
        """Copy the example request to the clipboard."""
        QGuiApplication.clipboard().setText(self.curl_command())
        self.controller.window.show_status("Copied the command to the clipboard", 4000)

    def server_url(self) -> str:
        """The address shown while serving, or ''."""
        c = self.controller
        return c.server_info.get("url", "") if c.is_serving() else ""


__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "REBIND_SECONDS", "ServePanel"]
