"""What the builder knows about exporting a model, before anyone presses Export.

:func:`export_issues` looks at a graph (no torch, no Qt) and lists what stops or limits
an export: errors (the export cannot succeed: the graph has errors, a layer has no ONNX
form, an opset outside what the exporter writes) and warnings (the export works, but the
file behaves differently from what a user may assume: a sequence length fixed by a
learned position table or a Flatten over the time axis, token ids that must stay inside
the vocabulary). The Export tab shows them next to the Export button; the ONNX exporter
itself (:mod:`workbench.export.onnx_export`) refuses opsets outside the same range.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workbench.core.export_formats import EXPORT_FORMATS, FORMATS
from workbench.core.graph import Graph
from workbench.core.shapes import Analysis, analyze

#: The opsets torch's ONNX exporter (dynamo) writes natively. Below 18 it falls back to a
#: version converter that leaves many graphs at 18 or changes their results (measured
#: with torch 2.13: Softmax at opset 11 differs by 0.5), so the workbench does not offer them.
MIN_OPSET = 18
MAX_OPSET = 25
DEFAULT_OPSET = 18
__all__ = [
    "DEFAULT_OPSET",
    "FORMATS",
    "MAX_OPSET",
    "MIN_OPSET",
    "ExportIssue",
    "export_issues",
    "is_sequence_input",
]

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ExportIssue:
    """One thing to know before exporting, pinned to a node when it has one."""

    node: str | None
    message: str
    severity: Severity = "warning"


def is_sequence_input(dtype: str, shape: list[int] | tuple[int, ...]) -> bool:
    """Whether a model input has a time axis: token ids (T,) or float sequences (T, F)."""
    return dtype == "int64" or len(shape) == 2


def export_issues(
    graph: Graph, fmt: str = "onnx", opset: int = DEFAULT_OPSET, analysis: Analysis | None = None
) -> list[ExportIssue]:
    """Errors first, then warnings, for exporting ``graph`` as ``fmt`` (a name in
    :data:`~workbench.core.export_formats.EXPORT_FORMATS`; the ONNX checks apply to the
    formats that write ONNX)."""
    analysis = analysis or analyze(graph)
    issues: list[ExportIssue] = []
    if fmt not in FORMATS:
        return [
            ExportIssue(
                None, f"unknown export format '{fmt}' (choose {', '.join(FORMATS)})", "error"
            )
        ]
    if not analysis.ok:
        first = analysis.errors[0]
        where = f"{first.node}: " if first.node else ""
        issues.append(
            ExportIssue(
                first.node,
                f"the model has {len(analysis.errors)} error(s) to fix first; {where}{first.message}",
                "error",
            )
        )
        return issues
    if not EXPORT_FORMATS[fmt].onnx:
        return issues
    if not MIN_OPSET <= opset <= MAX_OPSET:
        issues.append(
            ExportIssue(
                None,
                f"opset {opset} is not supported: the exporter writes opsets {MIN_OPSET} to {MAX_OPSET}",
                "error",
            )
        )
    inputs = graph.of_type("Input")
    sequence = bool(inputs) and is_sequence_input(
        inputs[0].params.get("dtype", "float32"), inputs[0].params.get("shape", [])
    )
    output = graph.of_type("Output")[0].id
    needed = graph.ancestors(output) | {output}
    for nid in analysis.order:
        if nid not in needed:
            continue
        node = graph.nodes[nid]
        layer = node.layer
        if not layer.onnx:
            issues.append(
                ExportIssue(
                    nid,
                    f"{layer.name} cannot be exported to ONNX: {layer.onnx_note or 'not supported yet'}",
                    "error",
                )
            )
            continue
        info = analysis.nodes[nid]
        if layer.name == "PositionalEncoding" and node.params.get("kind") == "learned":
            t = info.inputs[0].shape[0] if info.inputs else "?"
            issues.append(
                ExportIssue(
                    nid,
                    f"a learned position table fixes the sequence length: the ONNX file takes sequences of exactly {t} steps (sinusoidal positions take any length)",
                )
            )
        elif layer.name == "Embedding":
            issues.append(
                ExportIssue(
                    nid,
                    f"token ids must lie in 0 to {int(node.params.get('num_embeddings', 0)) - 1}: the ONNX file fails on ids outside the vocabulary",
                )
            )
        elif (
            sequence
            and layer.name in ("Flatten", "Reshape")
            and info.inputs
            and len(info.inputs[0].shape) >= 2
        ):
            issues.append(
                ExportIssue(
                    nid,
                    f"{layer.name} merges the time axis into features, so the ONNX file takes sequences of exactly {info.inputs[0].shape[0]} steps",
                )
            )
    issues.sort(key=lambda i: i.severity != "error")
    return issues
