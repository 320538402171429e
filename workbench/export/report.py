"""What an export raises and reports (torch-free, so the window can import it at start-up)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


def one_line(e: BaseException) -> str:
    """An exception as one line for a message: ``Type: first line`` (at most 200 characters)."""
    text = str(e).strip()
    first = text.splitlines()[0].strip() if text else ""
    if len(first) > 200:
        first = first[:197] + "..."
    return f"{type(e).__name__}: {first}" if first else type(e).__name__


class ExportError(ValueError):
    """The export failed or did not verify; the message is one line."""


@dataclass
class ExportReport:
    """What an export wrote and how it was verified."""

    path: Path
    opset: int
    #: The largest difference from PyTorch, absolute for outputs up to 1 and relative
    #: beyond (:func:`workbench.export.onnx_export.output_difference`).
    max_abs_diff: float
    batch_sizes_checked: tuple[int, ...]
    dynamic_axes: dict[int, str]
    seconds: float
    notes: list[str] = field(default_factory=list)
    sequence_lengths_checked: tuple[int, ...] = ()
    input_name: str = "x"
    #: Real dataset samples compared (0 when none) and their largest difference; filled in
    #: by :func:`workbench.export.service.export_trained`, which checks the file as
    #: ``workbench predict`` uses it.
    samples_checked: int = 0
    samples_max_abs_diff: float | None = None
    tolerance: float = 1e-4
    size_bytes: int = 0

    def summary(self) -> str:
        """One line: what was checked and the largest difference."""
        checks = f"batch sizes {', '.join(map(str, self.batch_sizes_checked))}"
        if len(self.sequence_lengths_checked) > 1:
            checks += f", sequence lengths {', '.join(map(str, self.sequence_lengths_checked))}"
        if self.samples_checked:
            checks += f" and on {self.samples_checked} dataset samples"
        return f"verified with onnxruntime against PyTorch at {checks}: largest difference {self.max_abs_diff:.2e} (tolerance {self.tolerance:g}; absolute up to 1, relative above)"
