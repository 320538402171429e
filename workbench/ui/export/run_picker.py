"""The run picker: which trained run (or the untrained model) is exported, and the card
that says to train first when the project has no run with a checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QComboBox, QFrame, QLabel, QPushButton, QVBoxLayout

from workbench.engine.run_pick import RunPick
from workbench.export.wording import RunChoice
from workbench.ui import theme
from workbench.ui.theme import label

if TYPE_CHECKING:
    from workbench.core.document import Document
    from workbench.ui.export.controller import ExportController

UNTRAINED_TEXT = "Untrained model (initial weights)"


class RunPicker(QObject):
    """The run combo with its detail line, and the "train first" card.

    The tab places the widgets (:attr:`label`, :attr:`combo`, :attr:`detail` in its form,
    :attr:`no_runs` below it); the picker fills and updates them.
    """

    def __init__(self, controller: ExportController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._pick = RunPick()
        self.combo = QComboBox()
        self.combo.setObjectName("runCombo")
        self.combo.setToolTip("The trained run whose weights are exported")
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(20)
        self.combo.activated.connect(self._on_activated)
        self.combo.currentIndexChanged.connect(lambda _i: self.show_detail())
        self.label = QLabel("Run")
        self.label.setBuddy(self.combo)
        self.detail = label("", "muted", wrap=True)
        self.detail.setObjectName("runDetail")
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
        self.no_runs.hide()

    def run_id(self) -> str | None:
        """The chosen run's id, or None for the untrained model."""
        data = self.combo.currentData()
        return str(data) if data else None

    def select_run(self, run_id: str | None) -> None:
        """Choose a run by id (None: the untrained model)."""
        index = self.combo.findData(run_id or "")
        if index >= 0:
            self.combo.setCurrentIndex(index)
            self._pick.chosen()

    def forget(self) -> None:
        """A (new) project: no run was chosen and none is known yet."""
        self._pick.forget()

    def set_runs(self, runs: list[RunChoice], loading: bool = False) -> None:
        """Fill the picker (newest first, then the untrained model)."""
        combo = self.combo
        previous = self.run_id() if combo.count() else None
        keep = self._pick.keep((r.run_id for r in runs), loading)
        combo.blockSignals(True)
        combo.clear()
        for r in runs:
            combo.addItem(r.label, r.run_id)
            combo.setItemData(combo.count() - 1, r.detail, Qt.ItemDataRole.ToolTipRole)
        if loading:
            combo.addItem("Looking for trained runs…", "")
        else:
            combo.addItem(UNTRAINED_TEXT, "")
            combo.setItemData(
                combo.count() - 1,
                "The model's freshly initialised weights: the file works but predicts nothing useful",
                Qt.ItemDataRole.ToolTipRole,
            )
        combo.setCurrentIndex(max(0, combo.findData(previous or "")) if keep else 0)
        combo.blockSignals(False)
        self.show_detail()

    def _on_activated(self, _index: int) -> None:
        self._pick.chosen()

    def show_detail(self) -> None:
        """The line under the picker: what the chosen run's export holds."""
        index = self.combo.currentIndex()
        if self.run_id():
            self.detail.setText(str(self.combo.itemData(index, Qt.ItemDataRole.ToolTipRole) or ""))
        elif self.controller.runs_loaded and self.controller.runs:
            self.detail.setText(
                "Freshly initialised weights: the file works, but its predictions mean nothing yet."
            )
        else:
            self.detail.setText("")
        self.detail.setVisible(bool(self.detail.text()))

    def show_no_runs(self, doc: Document | None) -> None:
        """Show the "train first" card when ``doc`` has no run with a checkpoint."""
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


__all__ = ["UNTRAINED_TEXT", "RunPicker"]
