"""The inspector: the selected layer's settings as a form generated from its catalog entry.

Every field comes from a :class:`~workbench.core.catalog.Param`; a change becomes one
undoable :meth:`Document.edit`. Below the form sit the layer's output shape, parameter
and FLOP counts and its issues; with nothing selected, the model's totals.
"""

from __future__ import annotations

import math
import re
from typing import Any

from PySide6.QtCore import QLocale, QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core import catalog
from workbench.core.catalog import Param, ParamError
from workbench.core.document import Document
from workbench.core.graph import GraphError
from workbench.core.shapes import Issue
from workbench.core.text import human_count, human_flops
from workbench.ui import theme
from workbench.ui.theme import label

INT_LIMIT = 2**31 - 1
#: Spin boxes commit this long after the last arrow step, so holding an arrow is one edit.
SPIN_COMMIT_DELAY_MS = 400


def parse_ints(text: str) -> list[int]:
    """Parse ``'3, 32 32'`` into ``[3, 32, 32]``; raise ParamError for anything else."""
    parts = [p for p in re.split(r"[\s,;x×]+", text.strip()) if p]
    values = []
    for p in parts:
        try:
            values.append(int(p))
        except ValueError:
            raise ParamError(
                f"'{p}' is not a whole number: type numbers separated by spaces"
            ) from None
    return values


def format_ints(values: list[int]) -> str:
    """The text a list of ints shows in its field."""
    return " ".join(str(v) for v in values)


class _FloatSpin(QDoubleSpinBox):
    """A double spin box that shows ``0.1`` rather than ``0.100000``."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt override
        text = f"{value:.{self.decimals()}f}"
        return text.rstrip("0").rstrip(".") if "." in text else text


def _issue_html(issue: Issue) -> str:
    color = theme.ERROR if issue.severity == "error" else theme.WARNING
    icon = "●" if issue.severity == "error" else "▲"
    word = "Error" if issue.severity == "error" else "Warning"
    msg = issue.message.replace("&", "&amp;").replace("<", "&lt;")
    return f'<p style="margin:0 0 6px 0"><span style="color:{color}"><b>{icon} {word}:</b> {msg}</span></p>'


class _ParamField:
    """One generated editor and how to read, show and commit its value."""

    def __init__(self, inspector: Inspector, node_id: str, param: Param) -> None:
        self.inspector = inspector
        self.node_id = node_id
        self.param = param
        self.error = label("", "error", wrap=True)
        self.error.hide()
        self.timer: QTimer | None = None
        self.widget = self._make()
        self.widget.setToolTip(param.doc)
        self.widget.setObjectName(f"param_{param.name}")

    # The editor for each Param kind.
    def _make(self) -> QWidget:
        p = self.param
        if p.kind == "int":
            w = QSpinBox()
            lo = int(p.minimum) if p.minimum is not None else -INT_LIMIT
            hi = int(p.maximum) if p.maximum is not None else INT_LIMIT
            specials = [int(s) for s in p.special if isinstance(s, int)]
            w.setRange(min([lo, *specials]), max([hi, *specials]))
            if p.special_text and specials and specials[0] == w.minimum():
                # A spin box shows this text in place of its minimum: "same as kernel", not 0.
                w.setSpecialValueText(p.special_text)
            w.setKeyboardTracking(False)  # no commit per keystroke
            w.setAccelerated(True)
            w.valueChanged.connect(self._schedule)
            w.editingFinished.connect(self.commit)
            self._no_wheel(w)
            return w
        if p.kind == "float":
            fspin = _FloatSpin()
            fspin.setLocale(QLocale.c())
            ref = abs(float(p.default)) or (float(p.maximum) if p.maximum else 1.0)
            magnitude = math.floor(math.log10(ref)) if ref > 0 else 0
            fspin.setDecimals(max(4, 3 - magnitude))
            low = float(p.minimum) if p.minimum is not None else -1e12
            high = float(p.maximum) if p.maximum is not None else 1e12
            fspin.setRange(low, high)
            fspin.setSingleStep(10.0**magnitude if magnitude < 0 else 0.05 if high <= 1 else 0.1)
            fspin.setKeyboardTracking(False)
            fspin.valueChanged.connect(self._schedule)
            fspin.editingFinished.connect(self.commit)
            self._no_wheel(fspin)
            return fspin
        if p.kind == "bool":
            box = QCheckBox()
            box.toggled.connect(self.commit)
            return box
        if p.kind == "choice":
            combo = QComboBox()
            combo.addItems(list(p.choices))
            combo.activated.connect(self.commit)
            self._no_wheel(combo)
            return combo
        edit = QLineEdit()
        edit.setPlaceholderText("numbers separated by spaces")
        edit.textEdited.connect(self._validate_text)
        edit.editingFinished.connect(self.commit)
        return edit

    @staticmethod
    def _no_wheel(w: QWidget) -> None:
        # Scrolling the inspector must not change values under the pointer.
        w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        if isinstance(w, QAbstractSpinBox):
            w.setButtonSymbols(QAbstractSpinBox.ButtonSymbols.UpDownArrows)

    def _schedule(self) -> None:
        if self.timer is None:
            self.timer = QTimer(self.widget)
            self.timer.setSingleShot(True)
            self.timer.setInterval(SPIN_COMMIT_DELAY_MS)
            self.timer.timeout.connect(self.commit)
        self.timer.start()

    # --- values ------------------------------------------------------------------------

    def read(self) -> Any:
        """The editor's value as the param's type; raises ParamError if it is not valid."""
        w = self.widget
        if isinstance(w, QSpinBox | QDoubleSpinBox):
            value: Any = w.value()
        elif isinstance(w, QCheckBox):
            value = w.isChecked()
        elif isinstance(w, QComboBox):
            value = w.currentText()
        else:
            assert isinstance(w, QLineEdit)
            value = parse_ints(w.text())
        return self.param.coerce(value)

    def show_value(self, value: Any) -> None:
        """Display ``value`` without triggering a commit."""
        w = self.widget
        w.blockSignals(True)
        try:
            if isinstance(w, QSpinBox):
                w.setValue(int(value))
            elif isinstance(w, QDoubleSpinBox):
                w.setValue(float(value))
            elif isinstance(w, QCheckBox):
                w.setChecked(bool(value))
            elif isinstance(w, QComboBox):
                w.setCurrentIndex(max(0, w.findText(str(value))))
            else:
                assert isinstance(w, QLineEdit)
                if not w.hasFocus() or not w.property("invalid"):
                    w.setText(format_ints(value))
                    self.set_error("")
        finally:
            w.blockSignals(False)

    def set_error(self, message: str) -> None:
        """Show ``message`` under the field (empty clears it)."""
        self.error.setText(message)
        self.error.setVisible(bool(message))
        if isinstance(self.widget, QLineEdit):
            theme.set_invalid(self.widget, bool(message))

    def _validate_text(self, text: str) -> None:
        try:
            self.param.coerce(parse_ints(text))
        except ParamError as e:
            self.set_error(_sentence(str(e)))
        else:
            self.set_error("")

    def commit(self) -> None:
        """Apply the editor's value to the graph as one undoable edit (if it changed)."""
        if self.inspector.fields.get(self.param.name) is not self:
            return  # the form this field belonged to is gone (its widgets may be deleted)
        if self.timer is not None:
            self.timer.stop()
        self.inspector._commit(self)

    @property
    def pending(self) -> bool:
        """Whether a spin-box change waits for its delayed commit."""
        return self.timer is not None and self.timer.isActive()


def _sentence(message: str) -> str:
    message = message.strip()
    return message[:1].upper() + message[1:]


class Inspector(QWidget):
    """Shows and edits the selected node; see the module docstring."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document: Document | None = None
        self._selection: list[str] = []
        self._form_key: tuple[str, str] | None = None
        self.fields: dict[str, _ParamField] = {}

        self._title = label("", "heading")
        self._subtitle = label("", "muted")
        self._subtitle.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._doc = label("", wrap=True)
        self._form_box = QWidget()
        self._form = QFormLayout(self._form_box)
        self._form.setContentsMargins(0, 4, 0, 4)
        self._form.setHorizontalSpacing(10)
        self._form.setVerticalSpacing(6)
        self._form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        #: Inline message for edits the graph refused.
        self.edit_error = label("", "error", wrap=True)
        self.edit_error.hide()
        self._stats_header = label("COMPUTED", "section")
        self._stats = QLabel()
        self._stats.setTextFormat(Qt.TextFormat.RichText)
        self._stats.setWordWrap(True)
        self._issues_header = label("ISSUES", "section")
        #: Rich text listing the node's issues (or the model's, with nothing selected).
        self.issues = QLabel()
        self.issues.setTextFormat(Qt.TextFormat.RichText)
        self.issues.setWordWrap(True)
        self.issues.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._hint = label("", "muted", wrap=True)

        body = QWidget()
        col = QVBoxLayout(body)
        col.setContentsMargins(12, 10, 12, 12)
        col.setSpacing(6)
        col.addWidget(self._title)
        col.addWidget(self._subtitle)
        col.addWidget(self._doc)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet(f"color: {theme.BORDER};")
        self._line = line
        col.addWidget(line)
        col.addWidget(self._form_box)
        col.addWidget(self.edit_error)
        col.addWidget(self._stats_header)
        col.addWidget(self._stats)
        col.addWidget(self._issues_header)
        col.addWidget(self.issues)
        col.addWidget(self._hint)
        col.addStretch(1)

        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.refresh()

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(330, 500)

    # --- wiring ------------------------------------------------------------------------

    def set_document(self, document: Document | None) -> None:
        """Show ``document`` (and follow its changes); clears the selection."""
        self.commit_pending()
        if self.document is not None:
            self.document.unsubscribe(self._on_changed)
        self.document = document
        if document is not None:
            document.subscribe(self._on_changed)
        self._selection = []
        self.refresh()

    def set_selection(self, node_ids: list[str]) -> None:
        """Show the nodes with these ids (the canvas selection)."""
        ids = list(node_ids)
        if ids == self._selection:
            return
        self.commit_pending()
        self._selection = ids
        self.refresh()

    def selection(self) -> list[str]:
        """The node ids shown."""
        return list(self._selection)

    def commit_pending(self) -> None:
        """Commit spin-box changes still waiting for their delay."""
        for f in list(self.fields.values()):
            if f.pending:
                f.commit()

    def _on_changed(self, document: Document) -> None:
        self.refresh()

    # --- display -----------------------------------------------------------------------

    def refresh(self) -> None:
        """Redraw for the current document, selection and analysis."""
        doc = self.document
        ids = [i for i in self._selection if doc is not None and i in doc.graph.nodes]
        if doc is not None and len(ids) == 1:
            self._show_node(doc, ids[0])
        elif doc is not None and len(ids) > 1:
            self._show_many(doc, ids)
        else:
            self._show_model(doc)

    def _clear_form(self) -> None:
        # Forget the fields first: a focused editor being deleted reports editingFinished.
        old, self.fields, self._form_key = self.fields, {}, None
        for f in old.values():
            if f.timer is not None:
                f.timer.stop()
        while self._form.rowCount():
            self._form.removeRow(0)

    def _show_node(self, doc: Document, node_id: str) -> None:
        node = doc.graph.nodes[node_id]
        layer = node.layer
        self._title.setText(node.type)
        self._subtitle.setText(f"id: {node.id}")
        self._subtitle.show()
        doc_text = layer.doc
        if not layer.onnx:
            doc_text += f"\n\nNot exportable to ONNX: {layer.onnx_note or 'not supported yet.'}"
        elif layer.onnx_note:
            doc_text += f"\n\nONNX: {layer.onnx_note}"
        self._doc.setText(doc_text)
        self._doc.show()
        self._line.show()
        key = (node.id, node.type)
        if self._form_key != key:
            self._clear_form()
            self.edit_error.hide()
            self._build_form(node.id, layer)
            self._form_key = key
        for name, f in self.fields.items():
            if name in node.params:
                f.show_value(node.params[name])
        self._form_box.setVisible(bool(layer.params))
        if not layer.params:
            self._hint.setText("This layer has no settings.")
            self._hint.show()
        else:
            self._hint.hide()

        info = doc.analysis.nodes.get(node_id)
        self._stats_header.setText("COMPUTED")
        self._stats_header.show()
        rows = []
        if info is not None and info.output is not None:
            dtype = "" if info.output.dtype == "float32" else f" {info.output.dtype}"
            rows.append(("Output shape", f"<b>{info.output}</b>{dtype}"))
        else:
            rows.append(
                (
                    "Output shape",
                    f'<span style="color:{theme.MUTED}">unknown until the inputs are fixed</span>',
                )
            )
        if info is not None and info.output is not None:
            rows.append(
                (
                    "Parameters",
                    f"{info.params:,} ({human_count(info.params)})"
                    if info.params >= 1000
                    else f"{info.params}",
                )
            )
            rows.append(("FLOPs", human_flops(info.flops)))
        self._stats.setText(_table(rows))
        self._stats.show()
        issues = doc.analysis.issues_for(node_id)
        self._issues_header.setVisible(bool(issues))
        self.issues.setText("".join(_issue_html(i) for i in issues))
        self.issues.setVisible(bool(issues))

    def _build_form(self, node_id: str, layer: catalog.LayerType) -> None:
        for p in layer.params:
            f = _ParamField(self, node_id, p)
            self.fields[p.name] = f
            lab = QLabel(p.title)
            lab.setToolTip(p.doc)
            lab.setBuddy(f.widget)
            box = QWidget()
            v = QVBoxLayout(box)
            v.setContentsMargins(0, 0, 0, 0)
            v.setSpacing(2)
            v.addWidget(f.widget)
            v.addWidget(f.error)
            self._form.addRow(lab, box)

    def _show_many(self, doc: Document, ids: list[str]) -> None:
        self._clear_form()
        self._form_box.hide()
        self.edit_error.hide()
        self._title.setText(f"{len(ids)} layers selected")
        self._subtitle.setText(", ".join(ids[:6]) + (" …" if len(ids) > 6 else ""))
        self._subtitle.show()
        self._doc.hide()
        self._line.show()
        a = doc.analysis
        params = sum(a.nodes[i].params for i in ids if i in a.nodes)
        flops = sum(a.nodes[i].flops for i in ids if i in a.nodes)
        self._stats_header.setText("SELECTION")
        self._stats_header.show()
        self._stats.setText(
            _table([("Parameters", human_count(params)), ("FLOPs", human_flops(flops))])
        )
        self._stats.show()
        self._issues_header.hide()
        self.issues.hide()
        self._hint.setText(
            "Select a single layer to edit its settings. Press Delete to remove the selection."
        )
        self._hint.show()

    def _show_model(self, doc: Document | None) -> None:
        self._clear_form()
        self._form_box.hide()
        self.edit_error.hide()
        self._title.setText("Model")
        self._doc.hide()
        if doc is None:
            self._subtitle.hide()
            self._line.hide()
            self._stats_header.hide()
            self._stats.hide()
            self._issues_header.hide()
            self.issues.hide()
            self._hint.setText("Open a project or start from a template.")
            self._hint.show()
            return
        self._subtitle.setText(doc.name)
        self._subtitle.show()
        self._line.show()
        a = doc.analysis
        self._stats_header.setText("TOTALS")
        self._stats_header.show()
        errors = len(a.errors)
        err_color = theme.ERROR if errors else theme.OK
        self._stats.setText(
            _table(
                [
                    ("Layers", str(len(doc.graph))),
                    (
                        "Parameters",
                        f"{a.total_params:,} ({human_count(a.total_params)})"
                        if a.total_params >= 1000
                        else str(a.total_params),
                    ),
                    ("FLOPs", human_flops(a.total_flops)),
                    ("Errors", f'<span style="color:{err_color}">{errors}</span>'),
                ]
            )
        )
        self._stats.show()
        model_issues = [i for i in a.issues if i.node is None]
        self._issues_header.setVisible(bool(model_issues))
        self.issues.setText("".join(_issue_html(i) for i in model_issues))
        self.issues.setVisible(bool(model_issues))
        if len(doc.graph):
            hint = "Select a layer on the canvas to see and edit its settings."
        else:
            hint = "The model is empty. Drag layers from the palette onto the canvas, starting with an Input."
        self._hint.setText(hint)
        self._hint.show()

    # --- editing -----------------------------------------------------------------------

    def _commit(self, field: _ParamField) -> None:
        doc = self.document
        if doc is None:
            return
        node_id = field.node_id
        node = doc.graph.nodes.get(node_id)
        if node is None or field.param.name not in node.params:
            return
        try:
            value = field.read()
        except ParamError as e:
            field.set_error(_sentence(str(e)))
            return
        field.set_error("")
        if value == node.params[field.param.name]:
            return
        name = field.param.name
        try:
            doc.edit(f"Set {field.param.title}", lambda g: g.set_params(node_id, {name: value}))
        except (GraphError, ParamError) as e:
            self.edit_error.setText(_sentence(str(e)))
            self.edit_error.show()
            current = doc.graph.nodes.get(node_id)
            if current is not None:
                field.show_value(current.params[name])
            return
        self.edit_error.hide()


def _table(rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f'<tr><td style="color:{theme.MUTED}; padding-right:12px">{k}</td><td>{v}</td></tr>'
        for k, v in rows
    )
    return f'<table cellspacing="0" cellpadding="2">{cells}</table>'
