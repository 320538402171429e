"""The start page: pick a template or a sample dataset, reopen a recent project, or open one."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from workbench.core.templates import TEMPLATES
from workbench.data.samples import SAMPLES
from workbench.ui.theme import label

CARD_COLUMNS = 3


class TemplateCard(QPushButton):
    """A clickable card with a template's title and one-line summary."""

    def __init__(self, name: str, title: str, summary: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self.setObjectName("card")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(f"Start a new model from “{title}”")
        self.setAccessibleName(title)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        # Room for a wrapped title and three lines of summary: a QPushButton's size hint
        # ignores the height its wrapped labels need.
        self.setMinimumHeight(116)
        t = QLabel(title)
        t.setWordWrap(True)
        f = t.font()
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() + 1)
        t.setFont(f)
        s = label(summary, "muted", wrap=True)
        s.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        for w in (t, s):
            w.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            w.setStyleSheet("background: transparent;")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(14, 12, 14, 12)
        lay.setSpacing(4)
        lay.addWidget(t)
        lay.addWidget(s, 1)


class StartPage(QWidget):
    """Friendly first page for newcomers; see the module docstring."""

    template_chosen = Signal(str)
    open_requested = Signal()
    recent_chosen = Signal(str)
    #: A sample dataset was chosen (by name): a ready-to-train project is made from it.
    sample_chosen = Signal(str)

    def __init__(self, recent: list[str] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.cards: dict[str, TemplateCard] = {}

        content = QWidget()
        content.setMaximumWidth(980)
        col = QVBoxLayout(content)
        col.setContentsMargins(32, 32, 32, 32)
        col.setSpacing(10)

        title = QLabel("Welcome to Model Workbench")
        f = title.font()
        f.setPointSizeF(f.pointSizeF() * 2.0)
        f.setBold(True)
        title.setFont(f)
        col.addWidget(title)
        col.addWidget(
            label(
                "Build a neural network by pointing and clicking: start from one of the classic "
                "models below, change it in the builder, and see every layer's shape as you go.",
                "muted",
                wrap=True,
            )
        )

        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        self.empty_button = QPushButton("Empty model")
        self.empty_button.setObjectName("primary")
        self.empty_button.setToolTip("Start from an Input and an Output")
        self.empty_button.clicked.connect(lambda: self.template_chosen.emit("empty"))
        self.open_button = QPushButton("Open project…")
        self.open_button.setObjectName("secondary")
        self.open_button.clicked.connect(self.open_requested.emit)
        for b in (self.empty_button, self.open_button):
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            buttons.addWidget(b)
        buttons.addStretch(1)
        col.addSpacing(6)
        col.addLayout(buttons)

        col.addSpacing(18)
        col.addWidget(label("START FROM A TEMPLATE", "section"))
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(12)
        for i, t in enumerate(t for t in TEMPLATES.values() if t.name != "empty"):
            card = TemplateCard(t.name, t.title, t.summary)
            card.clicked.connect(lambda _=False, n=t.name: self.template_chosen.emit(n))
            self.cards[t.name] = card
            grid.addWidget(card, i // CARD_COLUMNS, i % CARD_COLUMNS)
        for c in range(CARD_COLUMNS):
            grid.setColumnStretch(c, 1)
        col.addLayout(grid)

        # --- sample datasets (issue 3) ---
        self.sample_cards: dict[str, TemplateCard] = {}
        samples = dict(SAMPLES)
        if samples:
            col.addSpacing(18)
            col.addWidget(label("TRY A SAMPLE DATASET", "section"))
            col.addWidget(
                label(
                    "A new project with a model and a small generated dataset, ready to train.",
                    "muted",
                    wrap=True,
                )
            )
            sgrid = QGridLayout()
            sgrid.setHorizontalSpacing(12)
            sgrid.setVerticalSpacing(12)
            for i, spec in enumerate(samples.values()):
                size = getattr(spec, "size", "")
                card = TemplateCard(spec.name, spec.title, f"{spec.description} {size}".strip())
                card.setToolTip(f"New project with the sample dataset “{spec.title}”")
                card.clicked.connect(lambda _=False, n=spec.name: self.sample_chosen.emit(n))
                self.sample_cards[spec.name] = card
                sgrid.addWidget(card, i // CARD_COLUMNS, i % CARD_COLUMNS)
            for c in range(CARD_COLUMNS):
                sgrid.setColumnStretch(c, 1)
            col.addLayout(sgrid)

        col.addSpacing(18)
        col.addWidget(label("RECENT PROJECTS", "section"))
        self._recent_box = QVBoxLayout()
        self._recent_box.setSpacing(2)
        col.addLayout(self._recent_box)
        col.addStretch(1)

        # Centre the content column and let it scroll on small windows.
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addStretch(1)
        row.addWidget(content, 100)
        row.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(holder)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)
        self.set_recent(recent or [])

    def set_recent(self, paths: list[str]) -> None:
        """Show ``paths`` (newest first) as the recent projects."""
        while self._recent_box.count():
            item = self._recent_box.takeAt(0)
            w = item.widget() if item is not None else None
            if w is not None:
                w.hide()  # deleteLater waits for the event loop; do not show it meanwhile
                w.deleteLater()
        self.recent_buttons: list[QPushButton] = []
        if not paths:
            self._recent_box.addWidget(
                label(
                    "No recent projects yet. Projects you open or save will appear here.",
                    "muted",
                    wrap=True,
                )
            )
            return
        for p in paths:
            path = Path(p)
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            line.setSpacing(10)
            b = QPushButton(path.stem)
            b.setObjectName("link")
            b.setToolTip(str(path))
            b.setCursor(Qt.CursorShape.PointingHandCursor)
            b.clicked.connect(lambda _=False, s=str(path): self.recent_chosen.emit(s))
            where = label(str(path.parent), "muted")
            where.setToolTip(str(path))
            line.addWidget(b)
            line.addWidget(where)
            line.addStretch(1)
            self._recent_box.addWidget(row)
            self.recent_buttons.append(b)
