"""The runs table's data: one row per run, the fixed columns then one per hyperparameter.

:class:`RunsTableModel` holds the project's runs and is shared by every Runs panel;
:class:`RunsView` is one panel's view of it: sorted, with the settings all runs share
hidden on request, and the hyperparameters that differ between that panel's selected runs
marked (the selection is the panel's own).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont, QIcon, QPainter, QPen, QPixmap

from workbench.engine.history import RunSummary
from workbench.engine.history_wording import (
    COLUMNS,
    SETTING,
    cell_text,
    cell_tip,
    column_title,
    differ_tip,
    setting_column,
    setting_names,
    shared_settings,
    sort_key,
)
from workbench.ui import theme

Index = QModelIndex | QPersistentModelIndex
#: The run's id, for any cell of its row.
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
#: True on a hyperparameter cell whose value differs between the selected runs.
DIFFERS_ROLE = Qt.ItemDataRole.UserRole + 2
#: Renames a run: (run id, typed name) -> the name it now has, or None when refused.
Renamer = Callable[[str, str], "str | None"]


def differ_tint() -> QColor:
    """The background of a differing setting: amber mixed into the panel's colour, so that
    it reads on the light and the dark look alike (read when drawn: a theme switch
    recolours it). Opaque, because a selected row's highlight is drawn beneath it."""
    amber, panel = QColor(theme.WARNING), QColor(theme.PANEL)
    share = 0.3
    return QColor(
        round(amber.red() * share + panel.red() * (1 - share)),
        round(amber.green() * share + panel.green() * (1 - share)),
        round(amber.blue() * share + panel.blue() * (1 - share)),
    )


class RunsTableModel(QAbstractTableModel):
    """The project's runs as rows (oldest first); see the module docstring.

    Attributes:
        runs: The runs, as :func:`~workbench.engine.history.load_history` gave them.
        columns: The column keys: :data:`~workbench.engine.history_wording.COLUMNS`, then
            ``setting:<name>`` for each hyperparameter.
        shared: The hyperparameters every run has with the same value.
        renamer: Called when a name is edited in place (set by the controller).
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs: list[RunSummary] = []
        self.columns: list[str] = [c.key for c in COLUMNS]
        self.shared: set[str] = set()
        self.renamer: Renamer | None = None

    def set_runs(self, runs: Sequence[RunSummary]) -> None:
        """Show these runs (the columns follow their hyperparameters)."""
        self.beginResetModel()
        self.runs = list(runs)
        self.columns = [c.key for c in COLUMNS] + [
            setting_column(n) for n in setting_names(self.runs)
        ]
        self.shared = shared_settings(self.runs)
        self.endResetModel()

    def run_at(self, row: int) -> RunSummary:
        """The run of ``row``."""
        return self.runs[row]

    def row_of(self, run_id: str) -> int:
        """The row of run ``run_id``, or -1."""
        return next((i for i, r in enumerate(self.runs) if r.id == run_id), -1)

    def set_name(self, run_id: str, name: str) -> None:
        """Show run ``run_id`` under its new name."""
        row = self.row_of(run_id)
        if row < 0:
            return
        self.runs[row].name = name
        index = self.index(row, 0)
        self.dataChanged.emit(index, index)

    # --- Qt's model interface ------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: N802, B008 - Qt override
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self.runs[index.row()]
        key = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return cell_text(run, key)
        if role == Qt.ItemDataRole.EditRole:
            return run.name if key == "name" else cell_text(run, key)
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell_tip(run, key) or None
        if role == RUN_ID_ROLE:
            return run.id
        if role == Qt.ItemDataRole.ForegroundRole and key == "status":
            color = {
                "failed": theme.ERROR,
                "interrupted": theme.WARNING,
                "running": theme.ACCENT,
            }.get(run.status)
            return QBrush(QColor(color)) if color else None
        return None

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        key = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column_title(key)
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = next((c.tip for c in COLUMNS if c.key == key), "")
            return tip or f"Training setting {column_title(key)}"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and self.columns[index.column()] == "name":
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802 - Qt override
        if (
            not index.isValid()
            or role != Qt.ItemDataRole.EditRole
            or self.columns[index.column()] != "name"
            or self.renamer is None
        ):
            return False
        run = self.runs[index.row()]
        text = str(value)
        if text == run.name:
            return False
        return self.renamer(run.id, text) is not None


class RunsView(QSortFilterProxyModel):
    """One panel's view of the shared table: its sort, hidden columns and marked settings."""

    def __init__(self, source: RunsTableModel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSourceModel(source)
        self.table = source
        #: Hide the settings every run shares (with two runs or more).
        self.hide_shared = True
        #: The selected runs' ids and the settings that differ between them.
        self.selected: set[str] = set()
        self.differing: set[str] = set()
        self._tips: dict[str, str] = {}
        #: The colour of each selected run's curves, shown beside its name.
        self.colors: dict[str, str] = {}

    def set_hide_shared(self, hide: bool) -> None:
        """Show or hide the settings every run shares."""
        if hide != self.hide_shared:
            self.beginFilterChange()
            self.hide_shared = hide
            self.endFilterChange(QSortFilterProxyModel.Direction.Columns)

    def mark(
        self, runs: Sequence[RunSummary], differing: Sequence[str], colors: dict[str, str]
    ) -> None:
        """Mark the selected ``runs``: ``differing`` settings tinted, each name with its colour."""
        self.selected = {r.id for r in runs}
        self.differing = set(differing)
        self._tips = {name: differ_tip(name, runs) for name in differing}
        self.colors = dict(colors)
        rows, cols = self.rowCount(), self.columnCount()
        if rows and cols:
            self.dataChanged.emit(self.index(0, 0), self.index(rows - 1, cols - 1))
        if cols:
            self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, cols - 1)

    def source_column(self, column: int) -> int | None:
        """The table's column shown as this view's ``column`` (None without rows)."""
        if not self.rowCount() or not 0 <= column < self.columnCount():
            return None
        return self.mapToSource(self.index(0, column)).column()

    def column_of(self, key: str) -> int:
        """The view column showing ``key``, or -1 (hidden, missing, or no rows)."""
        if key not in self.table.columns or not self.table.runs:
            return -1
        source = self.table.columns.index(key)
        return self.mapFromSource(self.table.index(0, source)).column()

    def _setting(self, source_column: int | None) -> str | None:
        if source_column is None:
            return None
        key = self.table.columns[source_column]
        return key.removeprefix(SETTING) if key.startswith(SETTING) else None

    def filterAcceptsColumn(self, source_column: int, source_parent: Index) -> bool:  # noqa: N802 - Qt override
        name = self._setting(source_column)
        if name is None or not self.hide_shared:
            return True
        return name not in self.table.shared

    def lessThan(self, left: Index, right: Index) -> bool:  # noqa: N802 - Qt override
        key = self.table.columns[left.column()]
        a = sort_key(self.table.runs[left.row()], key)
        b = sort_key(self.table.runs[right.row()], key)
        return a < b

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        source = self.mapToSource(index)
        run_id = self.table.runs[source.row()].id
        name = self._setting(source.column())
        differs = name is not None and name in self.differing and run_id in self.selected
        if role == DIFFERS_ROLE:
            return differs
        if differs and role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(differ_tint())
        if differs and role == Qt.ItemDataRole.FontRole:
            font = QFont()
            font.setBold(True)
            return font
        if differs and role == Qt.ItemDataRole.ToolTipRole:
            return self._tips.get(name or "")
        if role == Qt.ItemDataRole.DecorationRole and source.column() == 0:
            color = self.colors.get(run_id)
            return _dot(color) if color else None
        return super().data(index, role)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            name = self._setting(self.source_column(section))
            if name is not None and name in self.differing:
                if role == Qt.ItemDataRole.FontRole:
                    font = QFont()
                    font.setBold(True)
                    return font
                if role == Qt.ItemDataRole.ForegroundRole:
                    return QBrush(QColor(theme.WARNING))
                if role == Qt.ItemDataRole.DisplayRole:
                    return f"≠ {name}"
                if role == Qt.ItemDataRole.ToolTipRole:
                    return self._tips.get(name)
        return super().headerData(section, orientation, role)


_DOTS: dict[str, QIcon] = {}


def _dot(color: str) -> QIcon:
    """A small filled circle in ``color``: which curve is the run's."""
    icon = _DOTS.get(color)
    if icon is None:
        pm = QPixmap(24, 24)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor("#ffffff"), 2.5))  # a ring: it shows on the selection's colour
        p.setBrush(QColor(color))
        p.drawEllipse(3, 3, 18, 18)
        p.end()
        icon = QIcon(pm)
        icon.addPixmap(pm, QIcon.Mode.Selected)  # not tinted by the selection: it names a curve
        _DOTS[color] = icon
    return icon


__all__ = ["DIFFERS_ROLE", "RUN_ID_ROLE", "RunsTableModel", "RunsView", "differ_tint"]
