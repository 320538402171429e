"""The Export tab, kept importable here; it lives in :mod:`workbench.ui.export`, split by
what each part owns, and its wording (Qt-free) in :mod:`workbench.export.wording`."""

from __future__ import annotations

from workbench.core.export_formats import default_file_name, path_for_format
from workbench.export.wording import RunChoice, describe_run, list_run_choices, one_line
from workbench.ui.export.checks import IssueRow
from workbench.ui.export.controller import ExportController
from workbench.ui.export.run_picker import UNTRAINED_TEXT
from workbench.ui.export.tab import ExportTab

__all__ = [
    "UNTRAINED_TEXT",
    "ExportController",
    "ExportTab",
    "IssueRow",
    "RunChoice",
    "default_file_name",
    "describe_run",
    "list_run_choices",
    "one_line",
    "path_for_format",
]
