"""The Runs panel: a project's training runs side by side, to compare, rename, delete,
restore into the builder or open in Evaluate (controller, table model, panel, curves)."""

from workbench.ui.runs.controller import RunsController
from workbench.ui.runs.panel import RunsPanel

__all__ = ["RunsController", "RunsPanel"]
