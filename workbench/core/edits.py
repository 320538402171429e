"""Graph edits the builder offers in one gesture: insert a layer before a node or on an
edge, delete a layer and join its neighbours, duplicate, disconnect.

Each function changes a :class:`~workbench.core.graph.Graph` in place, so a caller runs
it inside one :meth:`Document.edit <workbench.core.document.Document.edit>` and the whole
gesture is a single undo step.
"""

from __future__ import annotations

from collections.abc import Iterable

from workbench.core.graph import Edge, Graph, GraphError
from workbench.core.layout import ROW_HEIGHT
from workbench.core.shapes import analyze


def _shift_down(graph: Graph, start: str, dy: float) -> None:
    """Move ``start`` and every node below it that it feeds down by ``dy``."""
    succ: dict[str, list[str]] = {}
    for e in graph.edges:
        succ.setdefault(e.src, []).append(e.dst)
    top = graph.nodes[start].pos[1]
    seen: set[str] = set()
    stack = [start]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        stack.extend(succ.get(n, ()))
    for n in seen:
        x, y = graph.nodes[n].pos
        if y >= top:
            graph.move_node(n, (x, y + dy))


def insert_on_edge(graph: Graph, edge: Edge, type_name: str) -> str:
    """Put a new ``type_name`` layer on ``edge`` (src → new → dst); return its id.

    The new layer takes the place of the edge's destination, which moves one row down
    with everything below it, so a top-to-bottom chain stays tidy.

    Raises:
        GraphError: the edge is not in the graph, or the type is unknown.
    """
    if edge not in graph.edges:
        raise GraphError(f"there is no connection from {edge.src} to {edge.dst}")
    dst = graph.nodes[edge.dst]
    pos = dst.pos
    node = graph.add_node(type_name, pos=pos)
    if node.num_inputs < 1:
        raise GraphError(f"{type_name} takes no input, so it cannot go on a connection")
    _shift_down(graph, edge.dst, ROW_HEIGHT)
    graph.disconnect(edge)
    graph.connect(edge.src, node.id, 0)
    graph.connect(node.id, edge.dst, edge.port)
    return node.id


def insert_before(graph: Graph, node_id: str, type_name: str, port: int = 0) -> str:
    """Insert a ``type_name`` layer on the connection into ``node_id``'s input ``port``.

    This is how a shape error's fix (``Issue.fix``) is applied. Returns the new id.

    Raises:
        GraphError: nothing is connected to that input.
    """
    ports = graph.inputs_of(node_id)
    edge = ports[port] if 0 <= port < len(ports) else None
    if edge is None:
        raise GraphError(f"{node_id} has nothing connected to its input: connect a layer first")
    return insert_on_edge(graph, edge, type_name)


def disconnect_all(graph: Graph, node_id: str) -> int:
    """Remove every connection into and out of ``node_id``; return how many there were."""
    graph._node(node_id)  # raises GraphError for an unknown id
    before = len(graph.edges)
    graph.edges = [e for e in graph.edges if node_id not in (e.src, e.dst)]
    return before - len(graph.edges)


def duplicate(
    graph: Graph, node_ids: Iterable[str], offset: tuple[float, float] = (40.0, 40.0)
) -> list[str]:
    """Copy ``node_ids`` (and the edges among them) beside the originals; return the new ids."""
    return graph.paste(graph.subgraph_dict(list(node_ids)), offset)


def bridges(graph: Graph, node_ids: Iterable[str]) -> list[Edge]:
    """Connections that would join the neighbours of deleted single-input layers.

    For each node in ``node_ids`` with one input port fed by a node that stays, each of
    its outgoing connections to a node that stays becomes ``src → dst``.
    """
    gone = set(node_ids)
    out: list[Edge] = []
    for nid in gone:
        node = graph.nodes.get(nid)
        if node is None or node.num_inputs != 1:
            continue
        (inp,) = graph.inputs_of(nid)
        if inp is None or inp.src in gone:
            continue
        for e in graph.edges:
            if e.src == nid and e.dst not in gone:
                out.append(Edge(inp.src, e.dst, e.port))
    return out


def remove_and_reconnect(graph: Graph, node_ids: Iterable[str]) -> tuple[list[Edge], list[str]]:
    """Remove nodes; join the neighbours of a removed middle-of-a-chain layer where shapes allow.

    Returns:
        The connections made, and one note per connection left out because the shapes
        do not fit (e.g. a Linear would get a 4-D input).
    """
    ids = list(node_ids)
    planned = bridges(graph, ids)
    for nid in ids:
        graph.remove_node(nid)
    made: list[Edge] = []
    notes: list[str] = []
    for edge in planned:
        try:
            graph.connect(edge.src, edge.dst, edge.port)
        except GraphError as e:
            notes.append(str(e))
            continue
        errors = [i for i in analyze(graph).errors if i.node == edge.dst and i.edge == edge]
        if errors:
            graph.disconnect(edge)
            notes.append(f"{edge.src} was not connected to {edge.dst}: {errors[0].message}")
        else:
            made.append(edge)
    return made, notes
