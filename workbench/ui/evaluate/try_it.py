"""The Evaluate tab's "Try it": drop or paste an image, type or paste a table row, or open a
small file, and see what a run's model predicts, with the top classes as bars and, for an
image, which pixels drove the prediction.

The model is loaded and run on worker threads (:func:`workbench.ui.workers.run_task`),
with the preprocessing of ``workbench predict``
(:mod:`workbench.engine.evaluation.try_it`); the GUI thread only shows what comes back.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QEvent,
    QIODevice,
    QMimeData,
    QRectF,
    QSize,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QFontMetrics,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workbench.engine.evaluation.try_it import (
    TryItError,
    TryResult,
    format_probability,
    format_value,
)
from workbench.ui import theme
from workbench.ui.theme import label
from workbench.ui.train.messages import Banner
from workbench.ui.workers import Task, run_task

if TYPE_CHECKING:
    from PIL import Image

    from workbench.engine.evaluation.try_it import TryModel

log = logging.getLogger(__name__)

#: Images shown smaller than this (their shorter side) are enlarged, pixels kept sharp.
MIN_SHOWN_SIDE = 256


# --- pieces ----------------------------------------------------------------------------------


def to_qimage(image: Image.Image) -> QImage:
    """A Pillow image as an RGB QImage (a copy; safe to make on a worker thread)."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, 3 * rgb.width, QImage.Format.Format_RGB888).copy()


def image_bytes(image: QImage) -> bytes:
    """A QImage as PNG file bytes: what a pasted or dragged-in image is predicted from."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")  # type: ignore[call-overload]  # PySide6 takes a str
    buffer.close()
    return bytes(data.data())


class Shown:
    """A result with the pictures the panel shows for it (made on the worker thread)."""

    def __init__(self, result: TryResult, plain: QImage | None, overlay: QImage | None) -> None:
        self.result = result
        self.plain = plain
        self.overlay = overlay


class Picture(QFrame):
    """An image (the input, or its saliency overlay) scaled to fit; when there is none, a
    dashed drop zone that says what to do."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tryItPicture")
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self._image: QImage | None = None
        self._title = ""
        self._hint = ""

    def set_image(self, image: QImage | None) -> None:
        """Show ``image`` (None: the empty drop zone)."""
        self._image = image
        self.update()

    def image(self) -> QImage | None:
        """The image shown, or None."""
        return self._image

    def set_empty_text(self, title: str, hint: str) -> None:
        """What the empty drop zone says."""
        self._title, self._hint = title, hint
        self.update()

    def empty_text(self) -> str:
        """The empty drop zone's title and hint (for tests and screen readers)."""
        return f"{self._title}\n{self._hint}".strip()

    def sizeHint(self) -> QSize:
        return QSize(360, 320)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        rect = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        image = self._image
        if image is not None and not image.isNull():
            scale = min(rect.width() / image.width(), rect.height() / image.height())
            w, h = image.width() * scale, image.height() * scale
            target = QRectF(rect.center().x() - w / 2, rect.top(), w, h)  # at the top
            # (tiny images come enlarged with their pixels kept sharp, see MIN_SHOWN_SIDE)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(target, image)
            painter.setPen(QPen(QColor(theme.BORDER), 1))
            painter.drawRect(target)
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(QColor(theme.NODE_BORDER), 1.5, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor(theme.PANEL))
        painter.drawRoundedRect(rect, 10, 10)
        inner = rect.adjusted(20, 20, -20, -20)
        title_font = theme.bold(self.font())
        title_font.setPointSizeF(self.font().pointSizeF() * 1.3)
        painter.setFont(title_font)
        painter.setPen(QColor(theme.TEXT))
        title_h = QFontMetrics(title_font).height() + 8
        middle = inner.center().y()
        painter.drawText(
            QRectF(inner.left(), middle - title_h, inner.width(), title_h),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
            self._title,
        )
        painter.setFont(self.font())
        painter.setPen(QColor(theme.MUTED))
        painter.drawText(
            QRectF(inner.left(), middle + 4, inner.width(), inner.bottom() - middle - 4),
            Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
            self._hint,
        )


class Bar(QWidget):
    """One horizontal bar: a track and a filled part of 0..1."""

    def __init__(self, value: float, top: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.value = max(0.0, min(1.0, value)) if value == value else 0.0
        self.top = top
        self.setMinimumWidth(120)
        self.setFixedHeight(16)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        r = QRectF(self.rect()).adjusted(0, 2, 0, -2)
        painter.setBrush(QColor(theme.GRID_MAJOR))
        painter.drawRoundedRect(r, 3, 3)
        if self.value > 0:
            fill = QRectF(r.left(), r.top(), max(3.0, r.width() * self.value), r.height())
            painter.setBrush(QColor(theme.ACCENT if self.top else theme.EDGE))
            painter.drawRoundedRect(fill, 3, 3)


class ResultView(QWidget):
    """One result: the top classes as bars with their probabilities, or the predicted values."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(8)
        self.title = QLabel("")
        self.title.setObjectName("tryItInput")
        self.title.setFont(theme.bold(self.title.font()))
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.title)
        self.cells = label("", "muted", wrap=True)
        self.cells.setObjectName("tryItCells")
        self.cells.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.cells)
        self._grid_host = QWidget()
        self.grid = QGridLayout(self._grid_host)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setHorizontalSpacing(10)
        self.grid.setVerticalSpacing(6)
        self.grid.setColumnStretch(1, 1)
        outer.addWidget(self._grid_host)
        self.note = label("", "muted", wrap=True)
        self.note.setObjectName("tryItNote")
        outer.addWidget(self.note)
        outer.addStretch(1)

    def clear(self) -> None:
        """Show nothing."""
        self.title.setText("")
        self.cells.setText("")
        self.cells.hide()
        self.note.setText("")
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.hide()  # at once: deleteLater waits for the event loop
                widget.deleteLater()

    def show_result(self, result: TryResult) -> None:
        """Show ``result``'s classes as bars, or its values."""
        self.clear()
        self.title.setText(result.input)
        if result.cells:
            self.cells.setText(
                "  ·  ".join(
                    f"{name}\u00a0=\u00a0{'(missing)' if v in (None, '') else v}"
                    for name, v in result.cells
                )
            )
            self.cells.show()
        if result.top:
            for i, (name, p) in enumerate(result.top):
                top = i == 0
                name_label = QLabel(name)
                name_label.setObjectName("barLabel")
                value_label = QLabel(format_probability(p))
                value_label.setObjectName("barValue")
                value_label.setAlignment(
                    Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                )
                value_label.setMinimumWidth(
                    QFontMetrics(value_label.font()).horizontalAdvance("100.00 %") + 4
                )
                if top:
                    name_label.setFont(theme.bold(name_label.font()))
                    value_label.setFont(theme.bold(value_label.font()))
                name_label.setToolTip(name)
                self.grid.addWidget(name_label, i, 0)
                self.grid.addWidget(Bar(p, top), i, 1)
                self.grid.addWidget(value_label, i, 2)
            if result.labels is not None:
                self.note.setText(
                    "Each class is scored on its own; at 50 % or more: "
                    + (", ".join(result.labels) or "none")
                )
        else:
            for i, (name, v) in enumerate(result.values):
                name_label = QLabel(name)
                name_label.setObjectName("valueName")
                value_label = QLabel(format_value(v))
                value_label.setObjectName("valueText")
                font = theme.bold(value_label.font())
                font.setPointSizeF(font.pointSizeF() * 1.6)
                value_label.setFont(font)
                value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
                self.grid.addWidget(name_label, i, 0)
                self.grid.addWidget(value_label, i, 1)

    def rows(self) -> list[tuple[str, str]]:
        """What the bars (or values) say: ``(name, value text)`` per row, top first."""
        out = []
        for r in range(self.grid.rowCount()):
            name = self.grid.itemAtPosition(r, 0)
            value = self.grid.itemAtPosition(r, 2) or self.grid.itemAtPosition(r, 1)
            if name is None or value is None:
                continue
            nw, vw = name.widget(), value.widget()
            if isinstance(nw, QLabel) and isinstance(vw, QLabel):
                out.append((nw.text(), vw.text()))
        return out


class RowEdit(QLineEdit):
    """The line a table row is typed into; pasting several lines hands them on whole.

    Signals:
        rows_pasted(str): Text of more than one line was pasted (rows, maybe with a header).
    """

    rows_pasted = Signal(str)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            text = QGuiApplication.clipboard().text()
            if len([ln for ln in text.splitlines() if ln.strip()]) > 1:
                self.rows_pasted.emit(text)
                event.accept()
                return
        super().keyPressEvent(event)


# --- the panel ---------------------------------------------------------------------------------


class TryItPanel(QWidget):
    """Try a run's model on your own inputs.

    ``set_run(project_path, run_id)`` loads the run's best weights in the background; then
    images dropped on the panel, pasted with Ctrl+V or opened, rows typed or pasted, and
    small files opened are predicted in the background, one go at a time, and shown.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tryItPanel")
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        # A fixed minimum: what the panel shows changes its layout's minimum, which would
        # otherwise resize the window around it.
        self.setMinimumSize(560, 380)
        self._project: Path | None = None
        self._run_id: str | None = None
        self._model: TryModel | None = None
        self._generation = 0
        self._load_task: Task | None = None
        self._predict_task: Task | None = None
        self._pending: Callable[[TryModel], tuple[list[Any], list[str]]] | None = None
        self._pending_what = ""
        self._shown: list[Shown] = []
        self._closed = False
        self._build()
        self._show_state("none")

    # -- building -----------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 10, 12, 10)
        outer.setSpacing(8)

        head = QHBoxLayout()
        self.heading = label("Try it", "heading")
        self.describe_label = label("", "muted", wrap=True)
        self.describe_label.setObjectName("tryItModel")
        self.open_button = QPushButton("Open…")
        self.open_button.setObjectName("secondary")
        self.open_button.setToolTip("Predict for image files or a small CSV file")
        self.open_button.clicked.connect(self.open_files)
        self.status = label("", "muted")
        self.status.setObjectName("tryItStatus")
        head.addWidget(self.heading)
        head.addWidget(self.describe_label, 1)
        head.addWidget(self.status)
        head.addWidget(self.open_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(head)

        self.row_box = QWidget()
        row = QHBoxLayout(self.row_box)
        row.setContentsMargins(0, 0, 0, 0)
        self.row_edit = RowEdit()
        self.row_edit.setObjectName("tryItRow")
        self.row_edit.setClearButtonEnabled(True)
        self.row_edit.returnPressed.connect(self.predict_typed_row)
        self.row_edit.rows_pasted.connect(self.predict_text)
        self.predict_button = QPushButton("Predict")
        self.predict_button.setObjectName("primary")
        self.predict_button.clicked.connect(self.predict_typed_row)
        row.addWidget(self.row_edit, 1)
        row.addWidget(self.predict_button)
        outer.addWidget(self.row_box)

        self.banner = Banner("tryItBanner")
        outer.addWidget(self.banner)

        body = QHBoxLayout()
        body.setSpacing(14)
        self.results_list = QListWidget()
        self.results_list.setObjectName("tryItResults")
        self.results_list.setMaximumWidth(220)
        self.results_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.results_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.results_list.currentRowChanged.connect(self._show_index)
        body.addWidget(self.results_list)

        picture_box = QVBoxLayout()
        pictures = QHBoxLayout()
        pictures.setSpacing(10)
        self.picture = Picture()
        self.picture.setObjectName("tryItInputPicture")
        self.overlay_picture = Picture()
        self.overlay_picture.setObjectName("tryItSaliencyPicture")
        self.overlay_picture.hide()
        pictures.addWidget(self.picture, 1)
        pictures.addWidget(self.overlay_picture, 1)
        toggles = QHBoxLayout()
        self.saliency_box = QCheckBox("Show saliency")
        self.saliency_box.setChecked(True)
        self.saliency_box.setToolTip(
            "Show, beside the image, the pixels that drove the prediction most (red)"
        )
        self.saliency_box.toggled.connect(lambda _=False: self._refresh_picture())
        self.method_label = label("", "muted", wrap=True)
        self.method_label.setObjectName("tryItMethod")
        toggles.addWidget(self.saliency_box)
        toggles.addWidget(self.method_label, 1)
        self.toggles_host = QWidget()
        self.toggles_host.setLayout(toggles)
        toggles.setContentsMargins(0, 0, 0, 0)
        self.toggles_host.hide()
        picture_box.addWidget(self.toggles_host)
        picture_box.addLayout(pictures, 1)
        self.picture_host = QWidget()
        self.picture_host.setLayout(picture_box)
        body.addWidget(self.picture_host, 3)

        right = QVBoxLayout()
        self.result_view = ResultView()
        self.empty_title = QLabel("")
        self.empty_title.setObjectName("tryItEmptyTitle")
        title_font = theme.bold(self.empty_title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.3)
        self.empty_title.setFont(title_font)
        self.empty_hint = label("", "muted", wrap=True)
        self.empty_hint.setObjectName("tryItEmptyHint")
        right.addWidget(self.empty_title)
        right.addWidget(self.empty_hint)
        right.addWidget(self.result_view, 1)
        self.result_view.setMaximumWidth(640)
        self.right_host = QWidget()
        self.right_host.setLayout(right)
        self.right_host.setMinimumWidth(260)
        body.addWidget(self.right_host, 2)
        outer.addLayout(body, 1)

    # -- the run ------------------------------------------------------------------------------

    def set_run(self, project_path: Path | None, run_id: str | None) -> None:
        """Try the run ``run_id`` of the project (None: its newest run with weights).

        The weights load in the background; inputs given meanwhile wait for them. With no
        project (an unsaved one) the panel says there is no run to try.
        """
        if project_path is None:
            self._generation += 1
            self._project, self._run_id = None, None
            self._model = None
            self._pending = None
            self._clear_results()
            self.banner.hide()
            self._show_state("none")
            return
        path = Path(project_path)
        if (
            run_id is not None
            and path == self._project
            and run_id == self._run_id
            and (self._model is not None or self._load_task is not None)
        ):
            return
        self._generation += 1
        self._project, self._run_id = path, run_id
        self._model = None
        self._pending = None
        self._clear_results()
        self.banner.hide()
        self._show_state("loading")
        generation = self._generation

        def load(progress: Any, cancelled: Any) -> TryModel:
            from workbench.engine.evaluation.try_it import load_try_it

            return load_try_it(path, run_id)

        task = run_task(load, name="try-it-load")
        self._load_task = task
        task.succeeded.connect(lambda model: self._loaded(generation, model))
        task.failed.connect(lambda error: self._load_failed(generation, error))
        task.finished.connect(lambda: self._task_done(task))

    def model(self) -> TryModel | None:
        """The loaded model, or None (none chosen, loading, or it failed to load)."""
        return self._model

    def is_busy(self) -> bool:
        """True while the model loads or a prediction runs."""
        return self._load_task is not None or self._predict_task is not None

    def shutdown(self) -> None:
        """Ask the background work to stop; nothing it reports later is shown."""
        self._closed = True
        self._generation += 1
        self._pending = None
        for task in (self._load_task, self._predict_task):
            if task is not None:
                task.cancel()

    def _task_done(self, task: Task) -> None:
        if self._load_task is task:
            self._load_task = None
        if self._predict_task is task:
            self._predict_task = None
            self._run_pending()
        self._update_busy()

    def _loaded(self, generation: int, model: TryModel) -> None:
        if generation != self._generation or self._closed:
            return
        self._model = model
        self._run_id = model.run_id if self._run_id is None else self._run_id
        self._show_state("ready")
        if model.notes:
            self.banner.show_message("; ".join(model.notes), "info")
        self._run_pending()

    def _load_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation or self._closed:
            return
        self._pending = None
        message = _message(error)
        if "no trained run" in message:
            self._show_state("none")
            return
        self._show_state("failed")
        self.banner.show_message(message)

    # -- inputs -------------------------------------------------------------------------------

    def try_files(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        """Predict for files (images or folders of them, or a small table file)."""
        files = [os.fspath(p) for p in paths]
        if not files:
            return
        what = Path(files[0]).name if len(files) == 1 else f"{len(files)} files"

        def work(model: TryModel) -> tuple[list[Any], list[str]]:
            skipped: list[str] = []
            results = model.predict_files(files, skipped=skipped)
            return results, skipped

        self._request(work, what)

    def try_image(self, data: bytes, name: str = "pasted image") -> None:
        """Predict for an image file's bytes (a pasted or dragged-in image)."""

        def work(model: TryModel) -> tuple[list[Any], list[str]]:
            return model.predict_images([data], [name]), []

        self._request(work, name)

    def predict_typed_row(self) -> None:
        """Predict for the row typed in the line."""
        text = self.row_edit.text()
        if not text.strip():
            self.banner.show_message("Type a row first: " + self._columns_hint())
            return
        self._request(lambda model: (model.predict_text(text), []), "the row")

    def predict_text(self, text: str) -> None:
        """Predict for pasted text: one row per line, maybe under a header line."""
        self._request(lambda model: (model.predict_text(text), []), "the pasted rows")

    def paste(self) -> None:
        """Ctrl+V: an image on the clipboard (or copied image files), or rows of text."""
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not self._take(mime):
            self.banner.show_message(
                "The clipboard holds no image"
                + (" or text" if self._kind() == "table" else "")
                + " to try"
            )

    def open_files(self) -> None:
        """Ask for files to predict for (images, or a small table file)."""
        paths = self._ask_open_paths()
        if paths:
            self.try_files(paths)

    def _ask_open_paths(self) -> list[str]:
        model = self._model
        kind = model.kind if model is not None else ""
        what = {"image": "Images", "table": "Tables"}.get(kind, "NumPy arrays")
        suffixes = model.file_suffixes() if model is not None else ()
        filters = f"{what} (" + " ".join(f"*{s}" for s in suffixes) + ")"
        start = os.fspath(self._project.parent) if self._project is not None else ""
        paths, _ = QFileDialog.getOpenFileNames(
            self, "Try it on files", start, f"{filters};;All files (*)"
        )
        return list(paths)

    def _take(self, mime: QMimeData) -> bool:
        """Predict for what ``mime`` holds; False when it holds nothing to try."""
        try:
            return self._take_unguarded(mime)
        except Exception as e:  # an exception must not leave a Qt event handler
            self.banner.show_message(_message(e))
            return True

    def _take_unguarded(self, mime: QMimeData) -> bool:
        files = [u.toLocalFile() for u in mime.urls() if u.isLocalFile()]
        if files:
            self.try_files(files)
            return True
        if mime.hasImage():
            image = QImage(mime.imageData())
            if not image.isNull():
                self.try_image(image_bytes(image))
                return True
        if mime.hasText() and self._kind() == "table" and mime.text().strip():
            self.predict_text(mime.text())
            return True
        return False

    def _kind(self) -> str:
        return self._model.kind if self._model is not None else ""

    # -- Qt events ------------------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        mime = event.mimeData()
        if any(u.isLocalFile() for u in mime.urls()) or mime.hasImage():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self._take(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def event(self, event: QEvent) -> bool:
        # Take Ctrl+V before the window's Paste (the builder's layers) while focus is here
        # and not in the row's line, which pastes text itself.
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Paste)
        ):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.matches(QKeySequence.StandardKey.Paste):
            self.paste()
            event.accept()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event: Any) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)  # so Ctrl+V reaches the panel
        super().mousePressEvent(event)

    # -- predicting -----------------------------------------------------------------------------

    def _request(self, work: Callable[[TryModel], tuple[list[Any], list[str]]], what: str) -> None:
        """Run ``work`` on the model once it is loaded and no other go runs (the latest
        request waits; an older waiting one is dropped)."""
        if self._project is None:
            self.banner.show_message("Choose a trained run first")
            return
        if self._load_task is None and self._model is None:
            self.banner.show_message(
                "This run cannot be tried (see the message above)"
                if self.banner.message()
                else "There is no trained run to try yet: train the model first"
            )
            return
        self._pending, self._pending_what = work, what
        self._run_pending()

    def _run_pending(self) -> None:
        model, work = self._model, self._pending
        if model is None or work is None or self._predict_task is not None or self._closed:
            self._update_busy()
            return
        self._pending = None
        what = self._pending_what
        generation = self._generation

        def run(progress: Any, cancelled: Any) -> tuple[list[Shown], list[str]]:
            from PIL import Image

            from workbench.engine.evaluation.try_it import overlay_saliency

            results, skipped = work(model)
            shown = []
            for r in results:
                plain = overlay = None
                if r.image is not None:
                    big = r.image
                    if min(big.size) < MIN_SHOWN_SIDE:
                        factor = -(-MIN_SHOWN_SIDE // max(1, min(big.size)))
                        big = big.resize(
                            (big.width * factor, big.height * factor), Image.Resampling.NEAREST
                        )
                    plain = to_qimage(big)
                    if r.saliency is not None:
                        overlay = to_qimage(overlay_saliency(big, r.saliency))
                shown.append(Shown(r, plain, overlay))
            return shown, skipped

        self.status.setText(f"Predicting {what}…")
        task = run_task(run, name="try-it-predict")
        self._predict_task = task
        task.succeeded.connect(lambda value: self._predicted(generation, value))
        task.failed.connect(lambda error: self._predict_failed(generation, error))
        task.finished.connect(lambda: self._task_done(task))
        self._update_busy()

    def _predicted(self, generation: int, value: tuple[list[Shown], list[str]]) -> None:
        if generation != self._generation or self._closed:
            return
        shown, skipped = value
        self.banner.hide()
        if skipped:
            first = skipped[0]
            more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
            self.banner.show_message(f"Left out {first}{more}")
        self._set_results(shown)

    def _predict_failed(self, generation: int, error: BaseException) -> None:
        if generation != self._generation or self._closed:
            return
        self.banner.show_message(_message(error))

    def _update_busy(self) -> None:
        if self._load_task is not None:
            run = f"run {self._run_id}" if self._run_id else "the latest run"
            self.status.setText(f"Loading {run}…")
        elif self._predict_task is None:
            self.status.setText("")

    # -- showing --------------------------------------------------------------------------------

    def _clear_results(self) -> None:
        self._shown = []
        self.results_list.blockSignals(True)
        self.results_list.clear()
        self.results_list.blockSignals(False)
        self.results_list.hide()
        self.result_view.clear()
        self.picture.set_image(None)
        self.overlay_picture.set_image(None)
        self.overlay_picture.hide()
        self.toggles_host.hide()
        self.method_label.setText("")

    def _set_results(self, shown: list[Shown]) -> None:
        self._clear_results()
        self._shown = shown
        if not shown:
            self._show_state("ready")
            return
        self.results_list.blockSignals(True)
        for s in shown:
            item = QListWidgetItem(f"{s.result.input}: {s.result.headline()}")
            item.setToolTip(s.result.input)
            self.results_list.addItem(item)
        self.results_list.blockSignals(False)
        self.results_list.setVisible(len(shown) > 1)
        self.results_list.setCurrentRow(0)
        self._show_index(0)

    def _show_index(self, index: int) -> None:
        if not 0 <= index < len(self._shown):
            return
        self.empty_title.hide()
        self.empty_hint.hide()
        self.right_host.show()
        result = self._shown[index].result
        self.result_view.show_result(result)
        self._refresh_picture()

    def current_result(self) -> TryResult | None:
        """The result shown, or None."""
        index = self.results_list.currentRow() if self.results_list.count() else -1
        return self._shown[index].result if 0 <= index < len(self._shown) else None

    def results(self) -> list[TryResult]:
        """Every result of the last go."""
        return [s.result for s in self._shown]

    def bar_rows(self) -> list[tuple[str, str]]:
        """What the bars say: ``(class, probability text)`` per bar, top first (or the values)."""
        return self.result_view.rows()

    def _refresh_picture(self) -> None:
        index = self.results_list.currentRow() if self.results_list.count() else -1
        if not 0 <= index < len(self._shown):
            return
        s = self._shown[index]
        has_overlay = s.overlay is not None
        self.saliency_box.setEnabled(has_overlay)
        self.picture.set_image(s.plain)
        self.overlay_picture.set_image(s.overlay)
        self.overlay_picture.setVisible(has_overlay and self.saliency_box.isChecked())
        self.toggles_host.setVisible(has_overlay)
        r = s.result
        if has_overlay:
            target = f"“{r.label}”" if r.label is not None else "the value"
            self.method_label.setText(
                f"Red: the pixels that drove {target} most ({r.saliency_method})"
            )
        else:
            self.method_label.setText("")

    def _show_state(self, state: str) -> None:
        """The empty and waiting states: ``none``, ``loading``, ``failed``, ``ready``."""
        model = self._model
        kind = model.kind if model is not None else ""
        image = kind == "image"
        self.describe_label.setText(
            f"Run {model.run_id}: {model.describe()}" if model is not None else ""
        )
        self.row_box.setVisible(kind == "table")
        self.open_button.setEnabled(model is not None)
        self.saliency_box.setEnabled(False)
        if kind == "table" and model is not None:
            example = model.example_row()
            self.row_edit.setPlaceholderText(
                f"e.g. {example}" if example else ", ".join(model.columns)
            )
        titles = {
            "none": (
                "No trained run to try",
                "Train the model, then try it here on your own inputs.",
            ),
            "loading": ("Loading the model…", "Its best weights load in the background."),
            "failed": ("This run cannot be tried", "The message above says why."),
        }
        title, hint = titles.get(state, ("", ""))
        if state == "ready" and model is not None:
            if image:
                size = model.input_size()
                title = "Drop an image here"
                hint = (
                    "or paste one (Ctrl+V), or Open… image files. "
                    f"Each is resized to {size[1]}×{size[0]} as in training."
                )
            elif kind == "table":
                title, hint = "Type a row", self._columns_hint()
            else:
                title, hint = "Open a file", model.hint()
        side = state == "ready" and model is not None and not image
        self.picture.set_empty_text(title, hint)
        self.picture_host.setVisible(not side)
        self.empty_title.setText(title if side else "")
        self.empty_hint.setText(hint if side else "")
        self.empty_title.setVisible(side)
        self.empty_hint.setVisible(side)
        # an image model's drop zone takes the width until there is a result to show
        self.right_host.setVisible(side or bool(self._shown))
        self._update_busy()

    def _columns_hint(self) -> str:
        model = self._model
        if model is None:
            return ""
        return (
            "Columns: "
            + ", ".join(model.columns)
            + ". Separate the values with commas or tabs (a row copied from a spreadsheet "
            "works; so do several rows with their header), or Open… a small CSV file."
        )

    def empty_text(self) -> str:
        """What the empty state says (the drop zone's, or the row's)."""
        if self._kind() == "table":
            return f"{self.empty_title.text()}\n{self.empty_hint.text()}"
        return self.picture.empty_text()


def _message(error: BaseException) -> str:
    """One line for the user: a TryItError's own, else the first line of an unexpected one."""
    if isinstance(error, TryItError):
        return str(error)
    log.error("Try it failed", exc_info=error)
    text = str(error).strip().splitlines()
    return f"Try it failed: {text[0] if text else type(error).__name__}"


__all__ = ["TryItPanel", "image_bytes", "to_qimage"]
