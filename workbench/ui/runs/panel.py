"""The Runs panel: the project's runs in a sortable table above their overlaid curves.

Each panel is a view of the controller's shared table (:class:`~workbench.ui.runs.model.RunsTableModel`)
with a selection of its own: selecting runs draws their curves one colour per run, marks
the training settings that differ between them, and enables what can be done to them
(rename, delete, restore into the builder, open in Evaluate), also on right-click.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QMenu,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from workbench.engine.history import RunSummary, differing_hyperparameters
from workbench.engine.history_wording import NO_PROJECT_FILE, count_text, empty_text
from workbench.ui import theme
from workbench.ui.runs.compare import RUN_COLORS, ComparePlots
from workbench.ui.runs.model import DIFFERS_ROLE, RUN_ID_ROLE, RunsView
from workbench.ui.theme import label

if TYPE_CHECKING:
    from workbench.ui.runs.controller import RunsController

#: The widest the name column grows to fit its names (px); the rest is elided.
MAX_NAME_WIDTH = 260
MAX_COLUMN_WIDTH = 180
EMPTY_CARD_WIDTH = 520
#: The width of the colour dot beside a selected run's name (px).
DOT_ROOM = 24


class DiffDelegate(QStyledItemDelegate):
    """Draws a differing setting in its tint even in a selected row (where the selection's
    colour would hide it), in bold."""

    def initStyleOption(  # noqa: N802 - Qt override
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        if index.data(DIFFERS_ROLE):
            option.state &= ~QStyle.StateFlag.State_Selected


class RunsPanel(QWidget):
    """The runs table, its actions and the comparison plots; see the module docstring."""

    def __init__(self, controller: RunsController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.controller = controller
        self.view_model = RunsView(controller.model, self)
        self._keep: list[str] | None = None
        self._had_runs = False
        self._build()
        controller.runs_changed.connect(self._on_runs_changed)
        self.view_model.modelAboutToBeReset.connect(self._remember_selection)
        self.view_model.modelReset.connect(self._restore_selection)
        self._on_runs_changed()

    # --- construction ----------------------------------------------------------------------------

    def _build(self) -> None:
        self.heading = label("Runs", "heading")
        self.count = label("", "muted")
        self.count.setObjectName("runsCount")
        self.hide_shared = QCheckBox("Only settings that differ")
        self.hide_shared.setObjectName("hideSharedSettings")
        self.hide_shared.setToolTip(
            "Hide the training settings every run has in common; the columns that stay are "
            "the ones that tell the runs apart"
        )
        self.hide_shared.setChecked(True)
        self.hide_shared.toggled.connect(self._on_hide_shared)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.setSpacing(8)
        head.addWidget(self.heading)
        head.addWidget(self.count)
        head.addStretch(1)
        head.addWidget(self.hide_shared)

        self.rename_button = self._button("Rename", "Rename the selected run (F2)", self.rename)
        self.delete_button = self._button(
            "Delete…", "Delete the selected runs and their folders (Delete)", self.delete
        )
        self.restore_button = self._button(
            "Restore into builder",
            "Put the run's model into the builder (one undoable edit); the next Start on the "
            "Train tab trains a new run from its trained weights",
            self.restore,
        )
        self.evaluate_button = self._button(
            "Open in Evaluate", "Evaluate the selected run on the Evaluate tab", self.evaluate
        )
        self.refresh_button = self._button(
            "Refresh", "Read the runs folder again", lambda: self.controller.refresh()
        )
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.setSpacing(6)
        for b in (
            self.rename_button,
            self.delete_button,
            self.restore_button,
            self.evaluate_button,
        ):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.refresh_button)

        self.table = QTableView()
        self.table.setObjectName("runsTable")
        self.table.setModel(self.view_model)
        self.table.setItemDelegate(DiffDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.table.setSortingEnabled(True)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setHighlightSections(False)
        header.setStretchLastSection(False)
        header.setSortIndicatorShown(True)
        header.setMinimumSectionSize(36)
        self.table.sortByColumn(1, Qt.SortOrder.DescendingOrder)  # newest first
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.table.installEventFilter(self)

        self.compare = ComparePlots()
        split = QSplitter(Qt.Orientation.Vertical)
        split.setObjectName("runsSplit")
        split.setChildrenCollapsible(False)
        split.addWidget(self.table)
        split.addWidget(self.compare)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([200, 320])
        self.split = split

        self.empty = QFrame()
        self.empty.setObjectName("runsEmpty")
        self.empty.setStyleSheet(
            f"QFrame#runsEmpty {{ border: 1px solid {theme.BORDER}; border-radius: 10px; background: {theme.PANEL}; }}"
        )
        self.empty.setFixedWidth(EMPTY_CARD_WIDTH)
        card = QVBoxLayout(self.empty)
        card.setContentsMargins(28, 22, 28, 22)
        card.setSpacing(10)
        self.empty_title = label("", "heading")
        self.empty_title.setObjectName("runsEmptyTitle")
        self.empty_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text = label("", "muted", wrap=True)
        self.empty_text.setObjectName("runsEmptyText")
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        card.addWidget(self.empty_title)
        card.addWidget(self.empty_text)
        empty_page = QWidget()
        empty_col = QVBoxLayout(empty_page)
        # Centred by stretches, not by alignment: an aligned item gets a height for the
        # layout's width, too short for its wrapped text at its own width.
        centred = QHBoxLayout()
        centred.addStretch(1)
        centred.addWidget(self.empty)
        centred.addStretch(1)
        empty_col.addStretch(1)
        empty_col.addLayout(centred)
        empty_col.addStretch(2)

        self.stack = QStackedWidget()
        self.stack.addWidget(empty_page)
        self.stack.addWidget(split)

        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(6)
        col.addLayout(head)
        col.addLayout(buttons)
        col.addWidget(self.stack, 1)

    def _button(self, text: str, tip: str, slot: Any) -> QPushButton:
        b = QPushButton(text)
        b.setObjectName("secondary")
        b.setToolTip(tip)
        b.setCursor(Qt.CursorShape.PointingHandCursor)
        b.clicked.connect(lambda _=False: slot())
        return b

    # --- the runs --------------------------------------------------------------------------------

    def _on_runs_changed(self) -> None:
        c = self.controller
        runs = c.model.runs
        self.count.setText(count_text(len(runs), c.loading))
        doc = c.document
        if doc is not None and doc.path is None:
            self._show_empty(*NO_PROJECT_FILE)
        elif not runs and c.loaded:
            self._show_empty(*empty_text(doc.name if doc is not None else "this project"))
        else:
            self.stack.setCurrentIndex(1)
        if runs and not self._had_runs and not self.selected_ids():
            self.select_runs([runs[-1].id])  # the newest run's curves from the start
        self._had_runs = bool(runs)
        self._fit_columns()
        self._update_buttons()

    def _show_empty(self, title: str, text: str) -> None:
        self.empty_title.setText(title)
        self.empty_text.setText(text)
        self.stack.setCurrentIndex(0)

    def _fit_columns(self) -> None:
        self.table.resizeColumnsToContents()
        header = self.table.horizontalHeader()
        name = self.view_model.column_of("name")
        for column in range(self.view_model.columnCount()):
            size = header.sectionSize(column)
            if column == name:  # room for the colour dot a selected run gets
                header.resizeSection(column, min(size + DOT_ROOM, MAX_NAME_WIDTH))
            elif size > MAX_COLUMN_WIDTH:
                header.resizeSection(column, MAX_COLUMN_WIDTH)

    def _remember_selection(self) -> None:
        self._keep = self.selected_ids()

    def _restore_selection(self) -> None:
        keep, self._keep = self._keep, None
        selection = self.table.selectionModel()
        selection.blockSignals(True)  # one update below, not one per step
        try:
            self.select_runs(keep or [])
        finally:
            selection.blockSignals(False)
        self.table.viewport().update()
        self._on_selection_changed()

    def _on_hide_shared(self, hide: bool) -> None:
        self.view_model.set_hide_shared(hide)
        self._fit_columns()

    # --- selection -------------------------------------------------------------------------------

    def selected_ids(self) -> list[str]:
        """The selected runs' ids, oldest run first."""
        model = self.table.selectionModel()
        ids = {str(i.data(RUN_ID_ROLE)) for i in model.selectedRows()} if model else set()
        return [r.id for r in self.controller.model.runs if r.id in ids]

    def selected_runs(self) -> list[RunSummary]:
        """The selected runs, oldest first (the order their colours follow)."""
        ids = set(self.selected_ids())
        return [r for r in self.controller.model.runs if r.id in ids]

    def select_runs(self, run_ids: list[str]) -> None:
        """Select these runs (and no others)."""
        selection = QItemSelection()
        last = self.view_model.columnCount() - 1
        source = self.controller.model
        for run_id in run_ids:
            row = source.row_of(run_id)
            if row < 0:
                continue
            index = self.view_model.mapFromSource(source.index(row, 0))
            selection.select(index, self.view_model.index(index.row(), max(last, 0)))
        flags = (
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.selectionModel().select(selection, flags)
        if not selection.isEmpty():
            self.table.selectionModel().setCurrentIndex(
                selection.indexes()[0], QItemSelectionModel.SelectionFlag.NoUpdate
            )

    def _on_selection_changed(self, *_args: Any) -> None:
        if self._keep is not None:
            return  # a reset is under way; the selection comes back after it
        runs = self.selected_runs()
        colors = {r.id: RUN_COLORS[i % len(RUN_COLORS)] for i, r in enumerate(runs)}
        self.view_model.mark(runs, differing_hyperparameters(runs), colors)
        self.compare.set_runs(runs, len(self.controller.model.runs))
        self._update_buttons()

    def _update_buttons(self) -> None:
        runs = self.selected_runs()
        one = len(runs) == 1
        training = any(r.status == "running" for r in runs)
        busy = self.controller.is_busy()
        self.rename_button.setEnabled(one)
        self.delete_button.setEnabled(bool(runs) and not training and not busy)
        self.restore_button.setEnabled(one and not training and not busy)
        self.evaluate_button.setVisible(self.controller.evaluate_connected())
        self.evaluate_button.setEnabled(one and not training)
        self.refresh_button.setEnabled(self.controller.document is not None)

    # --- actions -----------------------------------------------------------------------------------

    def rename(self) -> None:
        """Edit the selected run's name in place."""
        runs = self.selected_ids()
        if len(runs) != 1:
            return
        row = self.controller.model.row_of(runs[0])
        index = self.view_model.mapFromSource(self.controller.model.index(row, 0))
        self.table.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.NoUpdate
        )  # the selection stays as it is
        self.table.edit(index)

    def delete(self) -> bool:
        """Delete the selected runs (asks first)."""
        ids = self.selected_ids()
        return bool(ids) and self.controller.delete(ids)

    def restore(self) -> bool:
        """Restore the selected run's model into the builder."""
        ids = self.selected_ids()
        return len(ids) == 1 and self.controller.restore(ids[0])

    def evaluate(self) -> None:
        """Open the selected run in the Evaluate tab."""
        ids = self.selected_ids()
        if len(ids) == 1:
            self.controller.open_in_evaluate(ids[0])

    def _context_menu(self, pos: Any) -> None:
        index = self.table.indexAt(pos)
        if not index.isValid():
            return
        if str(index.data(RUN_ID_ROLE)) not in self.selected_ids():
            self.select_runs([str(index.data(RUN_ID_ROLE))])
        self.context_menu().popup(self.table.viewport().mapToGlobal(pos))

    def context_menu(self) -> QMenu:
        """The right-click menu for the selected runs."""
        self._update_buttons()
        menu = QMenu(self)
        for button in (
            self.rename_button,
            self.delete_button,
            self.restore_button,
            self.evaluate_button,
        ):
            if button.isHidden():
                continue
            act = menu.addAction(button.text())
            act.setEnabled(button.isEnabled())
            act.setToolTip(button.toolTip())
            act.triggered.connect(lambda _=False, b=button: b.click())
        return menu

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt override
        if (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace)
            and self.table.state() != QAbstractItemView.State.EditingState
        ):
            self.delete()
            return True
        return super().eventFilter(watched, event)


__all__ = ["DiffDelegate", "RunsPanel"]
