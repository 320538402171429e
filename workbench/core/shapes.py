"""Whole-graph shape inference with parameter, FLOP and activation-memory counts.

:func:`analyze` runs on every edit, so it is pure Python and linear in the graph size.
Each problem is an :class:`Issue` pinned to the node (and, where it concerns one input,
the edge) it is about, with a message that says how to fix it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from workbench.core.catalog import ParamError, ShapeError, TensorSpec
from workbench.core.graph import Edge, Graph

Severity = Literal["error", "warning"]
BYTES_PER_ELEMENT = 4


@dataclass(frozen=True)
class Issue:
    """A problem found in the graph, pinned to a node and optionally an edge."""

    node: str | None
    message: str
    severity: Severity = "error"
    edge: Edge | None = None
    #: A one-click fix: the layer type to insert just before ``node`` (e.g. "Flatten").
    fix: str | None = None

    @property
    def fix_label(self) -> str:
        """The fix as a command, e.g. "Insert Flatten before this layer" ('' if none)."""
        return f"Insert {self.fix} before this layer" if self.fix else ""


@dataclass
class NodeInfo:
    """What inference learned about one node."""

    output: TensorSpec | None = None
    params: int = 0
    flops: int = 0
    inputs: list[TensorSpec] = field(default_factory=list)


@dataclass
class Analysis:
    """The result of :func:`analyze`."""

    nodes: dict[str, NodeInfo]
    issues: list[Issue]
    order: list[str]

    @property
    def errors(self) -> list[Issue]:
        """Issues of severity error."""
        return [i for i in self.issues if i.severity == "error"]

    @property
    def ok(self) -> bool:
        """True when the graph can be compiled."""
        return not self.errors

    @property
    def total_params(self) -> int:
        """Trainable parameters of the whole model."""
        return sum(i.params for i in self.nodes.values())

    @property
    def total_flops(self) -> int:
        """FLOPs of one forward pass per sample."""
        return sum(i.flops for i in self.nodes.values())

    def issues_for(self, node_id: str) -> list[Issue]:
        """Issues pinned to one node."""
        return [i for i in self.issues if i.node == node_id]

    def issues_by_node(self) -> dict[str, list[Issue]]:
        """The issues pinned to each node that has some."""
        out: dict[str, list[Issue]] = {}
        for issue in self.issues:
            if issue.node is not None:
                out.setdefault(issue.node, []).append(issue)
        return out

    def edge_errors(self) -> dict[Edge, str]:
        """The error message of each connection that has one (the last, if several)."""
        return {
            i.edge: i.message for i in self.issues if i.edge is not None and i.severity == "error"
        }

    def activation_bytes(self, batch_size: int = 1) -> int:
        """Estimated memory held by forward activations for a batch (float32).

        Every node output is counted once; training keeps them for the backward pass.
        """
        elements = sum(i.output.numel for i in self.nodes.values() if i.output is not None)
        return elements * batch_size * BYTES_PER_ELEMENT

    def parameter_bytes(self) -> int:
        """Memory held by the weights (float32)."""
        return self.total_params * BYTES_PER_ELEMENT


def worst_severity(issues: Iterable[Issue]) -> Severity | None:
    """ "error" when any of ``issues`` is an error, else "warning" when there are any."""
    severities = {i.severity for i in issues}
    if "error" in severities:
        return "error"
    return "warning" if severities else None


def analyze(graph: Graph) -> Analysis:
    """Infer every node's output shape, count params and FLOPs, and collect issues."""
    issues: list[Issue] = []
    infos: dict[str, NodeInfo] = {nid: NodeInfo() for nid in graph.nodes}
    try:
        order = graph.topo_order()
    except Exception as e:  # a cycle can only come from a hand-edited file
        return Analysis(infos, [Issue(None, str(e))], list(graph.nodes))

    inputs = graph.of_type("Input")
    outputs = graph.of_type("Output")
    if not inputs:
        issues.append(
            Issue(None, "The model has no Input: add one from the palette (Input & Output)")
        )
    elif len(inputs) > 1:
        for n in inputs[1:]:
            issues.append(
                Issue(n.id, f"Only one Input is supported; remove {n.id} or merge the inputs")
            )
    if not outputs:
        issues.append(
            Issue(
                None,
                "The model has no Output: add one from the palette and connect the last layer to it",
            )
        )
    elif len(outputs) > 1:
        for n in outputs[1:]:
            issues.append(Issue(n.id, f"Only one Output is supported; remove {n.id}"))

    in_ports: dict[str, list[Edge | None]] = {
        nid: [None] * graph.nodes[nid].num_inputs for nid in graph.nodes
    }
    for link in graph.edges:
        ports = in_ports[link.dst]
        if link.port < len(ports):
            ports[link.port] = link

    for nid in order:
        node = graph.nodes[nid]
        layer = node.layer
        info = infos[nid]
        specs: list[TensorSpec] = []
        missing = False
        for port, edge in enumerate(in_ports[nid]):
            if edge is None:
                where = f"input {port + 1}" if len(in_ports[nid]) > 1 else "input"
                issues.append(
                    Issue(
                        nid,
                        f"{node.type} has nothing connected to its {where}: drag a connection from a layer's output to it",
                    )
                )
                missing = True
                continue
            src = infos[edge.src].output
            if src is None:
                missing = True  # the upstream node already carries the error
                continue
            specs.append(src)
        if missing:
            continue
        info.inputs = specs
        try:
            out = layer.infer(node.params, specs)
        except (ShapeError, ParamError) as e:
            edge = in_ports[nid][0] if len(in_ports[nid]) == 1 else None
            fix = getattr(e, "insert", None) if edge is not None else None
            issues.append(Issue(nid, str(e), edge=edge, fix=fix))
            continue
        info.output = out
        info.params = int(layer.count_params(node.params, specs, out))
        info.flops = int(layer.flops(node.params, specs, out))

    # Nodes that do not lead to the Output are ignored by the compiler; say so.
    if len(outputs) == 1:
        feeding = graph.ancestors(outputs[0].id) | {outputs[0].id}
        for k, issue in enumerate(issues):
            # A half-built side branch must not block training the rest of the model.
            if issue.node is not None and issue.node not in feeding and issue.severity == "error":
                issues[k] = Issue(issue.node, issue.message, "warning", issue.edge, issue.fix)
        for nid in order:
            if nid not in feeding:
                issues.append(
                    Issue(
                        nid,
                        f"{nid} does not lead to the Output and will be ignored: connect it or delete it",
                        "warning",
                    )
                )
    return Analysis(infos, issues, order)
