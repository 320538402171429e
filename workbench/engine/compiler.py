"""Turns a valid model graph into a torch ``nn.Module``."""

from __future__ import annotations

import torch
from torch import nn

from workbench.core.graph import Graph
from workbench.core.shapes import Analysis, analyze
from workbench.engine.modules import build_layer


class CompileError(ValueError):
    """The graph has errors; the message lists the first of them."""


class GraphModule(nn.Module):
    """Runs the graph's layers in topological order.

    Only nodes that lead to the Output are built. Each layer is kept in a ModuleDict
    under its node id, so state-dict keys read like ``conv2d_1.weight``.
    """

    def __init__(self, graph: Graph, analysis: Analysis | None = None) -> None:
        super().__init__()
        analysis = analysis or analyze(graph)
        if not analysis.ok:
            first = analysis.errors[0]
            where = f"{first.node}: " if first.node else ""
            raise CompileError(
                f"the model has {len(analysis.errors)} error(s); {where}{first.message}"
            )
        output = graph.of_type("Output")[0].id
        needed = graph.ancestors(output) | {output}
        self.order: list[str] = [n for n in analysis.order if n in needed]
        self.input_id: str = graph.of_type("Input")[0].id
        self.output_id: str = output
        self.sources: dict[str, list[str]] = {}
        self.layers = nn.ModuleDict()
        for nid in self.order:
            node = graph.nodes[nid]
            ports = graph.inputs_of(nid)
            self.sources[nid] = [e.src for e in ports if e is not None]
            self.layers[nid] = build_layer(node.layer, node.params, analysis.nodes[nid].inputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values: dict[str, torch.Tensor] = {}
        for nid in self.order:
            if nid == self.input_id:
                values[nid] = self.layers[nid](x)
            else:
                values[nid] = self.layers[nid](*[values[s] for s in self.sources[nid]])
        return values[self.output_id]


def compile_graph(graph: Graph) -> GraphModule:
    """Build the torch module for ``graph``; raises CompileError if it has errors."""
    return GraphModule(graph)


def count_parameters(module: nn.Module) -> int:
    """Trainable parameters of a module."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
