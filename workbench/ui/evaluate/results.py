"""The Evaluate tab's Results page: the headline figures, the plots and the samples list.

:class:`ResultsView` shows one :class:`~workbench.engine.evaluation.result.Evaluation`:
its figures in tabs on the left (the clickable one first: the confusion matrix, or
predicted against true values) and on the right the samples a click picks (at first the
most confident mistakes, or the largest errors). Until there is an evaluation it shows a
card that says why (no run yet, evaluating, a missing split).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.engine.evaluation.explore import (
    TableRows,
    all_mistakes,
    by_error,
    cell_caption,
    describe_evaluation,
    headline,
    largest_errors_caption,
    mistakes_caption,
    point_caption,
)
from workbench.engine.evaluation.result import Evaluation
from workbench.ui import theme
from workbench.ui.evaluate.figures import (
    Colors,
    ConfusionMatrixFigure,
    CurvesFigure,
    FigureFrame,
    HistogramFigure,
    PerClassTable,
    PointsFigure,
    ReliabilityFigure,
    residuals_figure,
    scatter_figure,
)
from workbench.ui.evaluate.samples import SamplesPanel
from workbench.ui.theme import label
from workbench.ui.train.messages import MessageCard


class StateCard(MessageCard):
    """The card the Results page shows instead of results: a title, a line and a button.

    Signals:
        action(): The card's button was pressed.
    """

    action = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("evaluateCard", "card", "", "primary", 620, parent)
        self.button.clicked.connect(lambda: self.action.emit())

    def say(self, title: str, text: str, button: str = "") -> None:
        """Show ``title`` and ``text``, and a button labelled ``button`` ("" hides it)."""
        self.button.setText(button)
        self.button.setVisible(bool(button))
        self.set_message(title, text)


class FigureChip(QFrame):
    """One headline figure: its value large, its name small under it."""

    def __init__(self, name: str, value: str, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("figureChip")
        self.setStyleSheet(
            f"QFrame#figureChip {{ background: {theme.PANEL}; border: 1px solid {theme.BORDER}; border-radius: 6px; }}"
        )
        self.setToolTip(tip)
        col = QVBoxLayout(self)
        col.setContentsMargins(10, 4, 10, 4)
        col.setSpacing(0)
        self.value = QLabel(value)
        self.value.setObjectName("chipValue")
        font = self.value.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.value.setFont(font)
        self.name = label(name, "muted")
        self.name.setObjectName("chipName")
        col.addWidget(self.value, 0, Qt.AlignmentFlag.AlignHCenter)
        col.addWidget(self.name, 0, Qt.AlignmentFlag.AlignHCenter)


class ResultsView(QStackedWidget):
    """The Results page; see the module docstring.

    Signals:
        card_action(): The card's button was pressed (what it does depends on the card).
    """

    card_action = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluateResults")
        self.evaluation: Evaluation | None = None
        self.table: TableRows | None = None
        self.target = 0
        self.main_figure: FigureFrame | None = None
        self.figures: dict[str, QWidget] = {}
        self.drawn_dark = False
        # The card, centred.
        self.card_page = QWidget()
        self.card = StateCard()
        self.card.action.connect(lambda: self.card_action.emit())
        holder = QVBoxLayout(self.card_page)
        holder.addStretch(1)
        holder.addWidget(self.card, 0, Qt.AlignmentFlag.AlignHCenter)
        holder.addStretch(2)
        self.addWidget(self.card_page)
        # The results.
        self.content = QWidget()
        self.content.setObjectName("evaluateContent")
        col = QVBoxLayout(self.content)
        col.setContentsMargins(0, 4, 0, 0)
        col.setSpacing(6)
        self.chips = QWidget()
        self.chips_row = QHBoxLayout(self.chips)
        self.chips_row.setContentsMargins(0, 0, 0, 0)
        self.chips_row.setSpacing(8)
        self.target_combo = QComboBox()
        self.target_combo.setObjectName("targetCombo")
        self.target_combo.setToolTip("The target the plots show")
        self.target_combo.currentIndexChanged.connect(self._on_target_changed)
        self.target_combo.hide()
        self.about = label("", "muted", wrap=True)
        self.about.setObjectName("evaluationAbout")
        self.about.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notes = QLabel("")
        self.notes.setObjectName("evaluationNotes")
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet(f"color: {theme.WARNING};")
        self.notes.hide()
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(12)
        head.addWidget(self.chips)
        head.addWidget(self.about, 1)
        head.addWidget(self.target_combo, 0, Qt.AlignmentFlag.AlignVCenter)
        col.addLayout(head)
        col.addWidget(self.notes)
        # The figures in tabs on the left (the clickable one first), the samples on the right.
        self.figure_tabs = QTabWidget()
        self.figure_tabs.setObjectName("evaluateFigures")
        self.figure_tabs.setDocumentMode(True)
        self.samples = SamplesPanel()
        self.samples.mistakes_requested.connect(self.show_mistakes)
        self.split = QSplitter(Qt.Orientation.Horizontal)
        self.split.setObjectName("resultsSplit")
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.figure_tabs)
        self.split.addWidget(self.samples)
        self.split.setStretchFactor(0, 5)
        self.split.setStretchFactor(1, 4)
        self.split.setSizes([680, 560])
        col.addWidget(self.split, 1)
        self.addWidget(self.content)

    # --- the card ---------------------------------------------------------------------------------

    def show_card(self, title: str, text: str, button: str = "") -> None:
        """Show the card instead of results."""
        self.card.say(title, text, button)
        self.setCurrentWidget(self.card_page)

    def showing_results(self) -> bool:
        """True while results (not the card) are shown."""
        return self.currentWidget() is self.content

    # --- an evaluation ------------------------------------------------------------------------------

    def show_evaluation(self, evaluation: Evaluation, table: TableRows | None = None) -> None:
        """Show ``evaluation``: its figures, the plots and (first) its mistakes or largest errors."""
        self.evaluation = evaluation
        self.table = table
        self.target = 0
        self._show_chips(evaluation)
        self.about.setText(describe_evaluation(evaluation))
        self.notes.setText("\n".join(f"Note: {n}" for n in evaluation.notes))
        self.notes.setVisible(bool(evaluation.notes))
        regression = evaluation.proba is None
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        if regression and len(evaluation.labels) > 1:
            self.target_combo.addItems([str(n) for n in evaluation.labels])
        self.target_combo.blockSignals(False)
        self.target_combo.setVisible(self.target_combo.count() > 1)
        self.samples.set_evaluation(evaluation)
        self.draw(keep_page=False)
        self.show_mistakes()
        self.setCurrentWidget(self.content)

    def set_table(self, table: TableRows | None) -> None:
        """A table's feature values arrived: the samples list shows them from now on."""
        self.table = table
        self.samples.set_table(table)

    def _show_chips(self, evaluation: Evaluation) -> None:
        while self.chips_row.count():
            taken = self.chips_row.takeAt(0)
            w = taken.widget() if taken is not None else None
            if w is not None:
                w.hide()
                w.deleteLater()
        for fig in headline(evaluation):
            chip = FigureChip(fig.name, fig.value, fig.tip)
            self.chips_row.addWidget(chip)
        self.chips.updateGeometry()

    def chip_texts(self) -> dict[str, str]:
        """The headline figures as shown: name -> value."""
        out = {}
        for i in range(self.chips_row.count()):
            item = self.chips_row.itemAt(i)
            chip = item.widget() if item is not None else None
            if isinstance(chip, FigureChip):
                out[chip.name.text()] = chip.value.text()
        return out

    def draw(self, keep_page: bool = True) -> None:
        """(Re)build the figures of the evaluation in the theme's colours now (on the same
        page of figures with ``keep_page``)."""
        ev = self.evaluation
        if ev is None:
            return
        colors = Colors.current()
        self.drawn_dark = colors.dark
        selected_cell: tuple[int, int] | None = None
        selected_point: int | None = None
        normalized = False
        old = self.main_figure
        if isinstance(old, ConfusionMatrixFigure):
            selected_cell, normalized = old.selected, old.normalized
        elif isinstance(old, PointsFigure):
            selected_point = old.selected
        self._clear_figures()
        pages: list[tuple[str, QWidget]] = []
        if ev.proba is not None:
            matrix = ConfusionMatrixFigure(ev, colors)
            matrix.set_normalized(normalized)
            if selected_cell is not None:
                matrix.select_cell(*selected_cell)
            matrix.cell_clicked.connect(self.show_cell)
            self.main_figure = matrix
            pages = [
                ("Per class", PerClassTable(ev)),
                ("ROC", CurvesFigure(ev, "roc", colors)),
                ("Precision-recall", CurvesFigure(ev, "pr", colors)),
                ("Calibration", ReliabilityFigure(ev, colors)),
            ]
        else:
            scatter = scatter_figure(ev, colors, self.target)
            scatter.select_point(selected_point)
            scatter.point_clicked.connect(self.show_point)
            self.main_figure = scatter
            residuals = residuals_figure(ev, colors, self.target)
            residuals.point_clicked.connect(self.show_point)
            pages = [
                ("Residuals", residuals),
                ("Residual histogram", HistogramFigure(ev, colors, self.target)),
            ]
        current = self.figure_tabs.currentIndex()
        main_title = "Confusion matrix" if ev.proba is not None else "Predicted vs true"
        self.figure_tabs.addTab(self.main_figure, main_title)
        self.figures = {"main": self.main_figure}
        for title, widget in pages:
            self.figure_tabs.addTab(widget, title)
            self.figures[title] = widget
        if keep_page and 0 <= current < self.figure_tabs.count():
            self.figure_tabs.setCurrentIndex(current)

    def _clear_figures(self) -> None:
        self.figure_tabs.blockSignals(True)
        while self.figure_tabs.count():
            w = self.figure_tabs.widget(0)
            self.figure_tabs.removeTab(0)
            if w is not None:
                w.hide()
                w.deleteLater()
        self.figure_tabs.blockSignals(False)
        self.main_figure = None
        self.figures = {}

    def _on_target_changed(self, index: int) -> None:
        if index < 0 or self.evaluation is None:
            return
        self.target = index
        if isinstance(self.main_figure, PointsFigure):
            self.main_figure.select_point(None)
        self.draw()

    # --- what the samples list shows -------------------------------------------------------------

    def show_cell(self, true: int, predicted: int) -> None:
        """List the samples of confusion-matrix cell (``true``, ``predicted``)."""
        ev = self.evaluation
        if ev is None or ev.proba is None:
            return
        if isinstance(self.main_figure, ConfusionMatrixFigure):
            self.main_figure.select_cell(true, predicted)
        idx = ev.cell_samples(true, predicted)
        self.samples.show_samples(idx, cell_caption(ev, true, predicted, len(idx)), self.table)

    def show_point(self, index: int) -> None:
        """List the sample of a regression plot's point (and ring it on the plots)."""
        ev = self.evaluation
        if ev is None:
            return
        for fig in (self.main_figure, self.figures.get("Residuals")):
            if isinstance(fig, PointsFigure):
                fig.select_point(index)
        self.samples.show_samples(np.array([index]), point_caption(ev, index), self.table)

    def show_mistakes(self) -> None:
        """List the most confident mistakes (classification) or the largest errors (regression)."""
        ev = self.evaluation
        if ev is None:
            return
        if ev.proba is not None:
            if isinstance(self.main_figure, ConfusionMatrixFigure):
                self.main_figure.select_cell(None)
            idx = all_mistakes(ev)
            self.samples.show_samples(idx, mistakes_caption(len(idx)), self.table)
        else:
            for fig in (self.main_figure, self.figures.get("Residuals")):
                if isinstance(fig, PointsFigure):
                    fig.select_point(None)
            idx = by_error(ev)
            self.samples.show_samples(idx, largest_errors_caption(len(idx)), self.table)

    def clear(self) -> None:
        """Forget the evaluation shown (the card shows next)."""
        self.samples.set_evaluation(None)
        self._clear_figures()
        self.evaluation = None
        self.table = None

    def shutdown(self) -> None:
        """Stop background work (thumbnails)."""
        self.samples.cancel()

    def busy(self) -> bool:
        """True while the samples list still decodes thumbnails."""
        return self.samples.is_loading()

    def figure(self, key: str) -> Any:
        """The figure shown under ``key`` (``main``, ``ROC``, ``Residuals``…), or None."""
        return self.figures.get(key)


__all__ = ["FigureChip", "ResultsView", "StateCard"]
