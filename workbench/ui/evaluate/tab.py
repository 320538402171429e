"""The Evaluate tab: which run on which split, the Evaluate and Cancel buttons with the
progress, a banner for a failure, and the pages under them (Results, and Try it).

:class:`EvaluateTab` shows what its controller
(:class:`~workbench.ui.evaluate.controller.EvaluateController`) tells it; the pickers and
buttons call the controller. The pages share the run picker: a page that wants to know
the chosen run has a ``set_run(project_path, run_id)`` method, which :meth:`EvaluateTab.add_page`
connects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from workbench.engine.evaluation.explore import RunOption, SplitOption, split_options
from workbench.engine.run_pick import RunPick
from workbench.ui.evaluate.results import ResultsView
from workbench.ui.evaluate.try_it import TryItPanel
from workbench.ui.theme import label
from workbench.ui.train.messages import Banner

if TYPE_CHECKING:
    from workbench.ui.evaluate.controller import EvaluateController


class EvaluateTab(QWidget):
    """The Evaluate page; see the module docstring.

    Signals:
        run_selected(object, object): The chosen run changed: the project path (a Path, or
            None for an unsaved project) and the run id (None when there is none).
    """

    run_selected = Signal(object, object)

    def __init__(self, controller: EvaluateController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("evaluateTab")
        self.controller = controller
        self.runs: list[RunOption] = []
        self._pick = RunPick()
        self._last_selected: tuple[Any, Any] = (None, None)
        self._build()

    def _build(self) -> None:
        self.run_combo = QComboBox()
        self.run_combo.setObjectName("evaluateRunCombo")
        self.run_combo.setToolTip("The trained run whose best weights are evaluated")
        self.run_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.run_combo.setMinimumContentsLength(34)
        self.run_combo.activated.connect(self._on_run_activated)
        self.run_combo.currentIndexChanged.connect(self._on_run_changed)
        self.split_combo = QComboBox()
        self.split_combo.setObjectName("evaluateSplitCombo")
        self.split_combo.setToolTip("The part of the dataset the run is evaluated on")
        self.split_combo.setMinimumContentsLength(22)
        self.split_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.split_combo.activated.connect(lambda _i: self.controller.choice_changed())
        run_label = QLabel("Run")
        run_label.setBuddy(self.run_combo)
        split_label = QLabel("Split")
        split_label.setBuddy(self.split_combo)
        self.evaluate_button = QPushButton("Evaluate")
        self.evaluate_button.setObjectName("primary")
        self.evaluate_button.setToolTip("Evaluate the run's best weights on the split")
        self.evaluate_button.clicked.connect(lambda: self.controller.evaluate())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("secondary")
        self.cancel_button.setToolTip("Stop the evaluation")
        self.cancel_button.clicked.connect(lambda: self.controller.cancel())
        self.report_button = QPushButton("Save report…")
        self.report_button.setObjectName("secondary")
        self.report_button.clicked.connect(lambda: self.controller.save_report())
        self.progress = QProgressBar()
        self.progress.setObjectName("evaluateProgress")
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(False)
        self.status_label = label("", "muted")
        self.status_label.setObjectName("evaluateStatus")
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.setSpacing(8)
        bar.addWidget(run_label)
        bar.addWidget(self.run_combo, 3)
        bar.addSpacing(6)
        bar.addWidget(split_label)
        bar.addWidget(self.split_combo, 1)
        bar.addSpacing(6)
        bar.addWidget(self.evaluate_button)
        bar.addWidget(self.cancel_button)
        bar.addWidget(self.progress)
        bar.addWidget(self.status_label, 2)
        bar.addWidget(self.report_button)
        self.run_detail = label("", "muted")
        self.run_detail.setObjectName("evaluateRunDetail")
        self.banner = Banner("evaluateBanner")

        self.results = ResultsView()
        self.results.card_action.connect(self._on_card_action)
        self.pages = QTabWidget()
        self.pages.setObjectName("evaluatePages")
        self.pages.setDocumentMode(True)
        self.pages.setTabBarAutoHide(True)  # one page: no tab bar
        self.pages.addTab(self.results, "Results")
        # Try it: the run's model on the user's own inputs; add_page has it follow the run picker
        self.try_it = TryItPanel()
        self.add_page(self.try_it, "Try it")

        col = QVBoxLayout(self)
        col.setContentsMargins(14, 10, 14, 6)
        col.setSpacing(6)
        col.addLayout(bar)
        col.addWidget(self.run_detail)
        col.addWidget(self.banner)
        col.addWidget(self.pages, 1)
        self.set_busy(False)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt override
        return QSize(1200, 700)

    def add_page(self, page: QWidget, title: str) -> int:
        """Add a page after Results; one with ``set_run(project_path, run_id)`` follows the
        run picker from now on (told the current run at once)."""
        index = self.pages.addTab(page, title)
        set_run = getattr(page, "set_run", None)
        if callable(set_run):
            self.run_selected.connect(set_run)
            set_run(*self._last_selected)
        return index

    # --- the pickers -------------------------------------------------------------------------------

    def set_runs(self, runs: list[RunOption], loading: bool = False) -> None:
        """Fill the run picker, newest first; the newest is chosen unless the user chose one
        that is still there (and no new run appeared since)."""
        combo = self.run_combo
        previous = self.run_id()
        keep = self._pick.keep((r.run_id for r in runs), loading, previous is not None)
        self.runs = list(runs)
        combo.blockSignals(True)
        combo.clear()
        for r in runs:
            combo.addItem(r.label, r.run_id)
            combo.setItemData(combo.count() - 1, r.detail, Qt.ItemDataRole.ToolTipRole)
        if loading and not runs:
            combo.addItem("Looking for trained runs…", "")
        elif not runs:
            combo.addItem("No trained run yet", "")
        combo.setCurrentIndex(max(0, combo.findData(previous)) if keep else 0)
        combo.blockSignals(False)
        self._on_run_changed(combo.currentIndex(), notify=False)

    def forget_runs(self) -> None:
        """A (new) project: no run was chosen and none is known yet."""
        self._pick.forget()

    def run_id(self) -> str | None:
        """The chosen run's id, or None."""
        data = self.run_combo.currentData()
        return str(data) if data else None

    def run_option(self) -> RunOption | None:
        """The chosen run's picker entry, or None."""
        rid = self.run_id()
        return next((r for r in self.runs if r.run_id == rid), None)

    def select_run(self, run_id: str, split: str | None = None) -> bool:
        """Choose run ``run_id`` (and ``split``) as if the user had; False if it is not listed."""
        index = self.run_combo.findData(run_id)
        if index < 0:
            return False
        self._pick.chosen()
        self.run_combo.setCurrentIndex(index)
        if split is not None:
            self.select_split(split)
        return True

    def split(self) -> str:
        """The chosen split: ``test``, ``val`` or ``train``."""
        return str(self.split_combo.currentData() or "test")

    def split_option(self) -> SplitOption | None:
        """The chosen split's picker entry."""
        index = self.split_combo.currentIndex()
        option = self.split_combo.itemData(index, Qt.ItemDataRole.UserRole + 1)
        return option if isinstance(option, SplitOption) else None

    def select_split(self, split: str) -> None:
        """Choose ``split``."""
        index = self.split_combo.findData(split)
        if index >= 0:
            self.split_combo.setCurrentIndex(index)

    def _fill_splits(self, option: RunOption | None) -> None:
        current = self.split() if self.split_combo.count() else "test"
        combo = self.split_combo
        combo.blockSignals(True)
        combo.clear()
        for s in split_options(option.split_sizes if option else None):
            combo.addItem(s.label, s.key)
            combo.setItemData(combo.count() - 1, s, Qt.ItemDataRole.UserRole + 1)
        index = combo.findData(current)
        combo.setCurrentIndex(max(0, index))
        combo.blockSignals(False)

    def _on_run_activated(self, _index: int) -> None:
        self._pick.chosen()

    def _on_run_changed(self, _index: int, notify: bool = True) -> None:
        option = self.run_option()
        self._fill_splits(option)
        self.run_detail.setText(option.detail if option else "")
        self.run_detail.setVisible(bool(option and option.detail))
        selected = (self.controller.project_path(), option.run_id if option else None)
        if selected != self._last_selected:
            self._last_selected = selected
            self.run_selected.emit(*selected)
        if notify:
            self.controller.choice_changed()

    # --- work in progress ---------------------------------------------------------------------------

    def set_busy(self, busy: bool, text: str = "") -> None:
        """Show the progress bar and Cancel while an evaluation runs."""
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        if busy:
            self.progress.setRange(0, 0)
        self.status_label.setText(text)
        self.update_controls()

    def show_progress(self, done: int, total: int) -> None:
        """The evaluation's progress (``total`` 0: unknown)."""
        if total > 0:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        else:
            self.progress.setRange(0, 0)

    def show_step(self, text: str) -> None:
        """What the evaluation does now (beside the progress bar)."""
        self.status_label.setText(text)

    def update_controls(self) -> None:
        """Enable Evaluate when a run and a split with samples are chosen and nothing runs."""
        problem = self.controller.evaluate_problem()
        self.evaluate_button.setEnabled(problem is None)
        self.evaluate_button.setToolTip(
            problem or "Evaluate the run's best weights on the split (in the background)"
        )
        report = self.controller.report_problem()
        self.report_button.setEnabled(report is None)
        self.report_button.setToolTip(
            report
            or "Write report.html (figures, tables, the run's settings and curves), "
            "metrics.json and predictions.csv into a folder"
        )
        self.run_combo.setEnabled(bool(self.runs))
        self.split_combo.setEnabled(bool(self.runs))

    # --- messages ------------------------------------------------------------------------------------

    def show_banner(self, message: str, kind: str = "error") -> None:
        """Show ``message`` over the results until dismissed."""
        self.banner.show_message(message, kind)

    def hide_banner(self) -> None:
        """Take the banner away."""
        self.banner.hide()

    def _on_card_action(self) -> None:
        self.controller.card_action()

    # --- events -----------------------------------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        QTimer.singleShot(0, self.controller.tab_shown)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt override
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            # The theme changed: plots draw their own colours, so they are drawn again.
            QTimer.singleShot(0, self.controller.theme_changed)


__all__ = ["EvaluateTab"]
