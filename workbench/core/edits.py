"""Graph edits the builder offers in one gesture: insert a layer before a node or on an
edge, delete layers and join their neighbours, duplicate, disconnect, copy and paste; and
what a gesture would do (which connection a drag makes, which layers a menu offers).

Each function that edits changes a :class:`~workbench.core.graph.Graph` in place, so a
caller runs it inside one :meth:`Document.edit <workbench.core.document.Document.edit>`
and the whole gesture is a single undo step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from workbench.core import catalog
from workbench.core.graph import Edge, Graph, GraphError
from workbench.core.layout import NODE_SIZE, NODE_WIDTH, ROW_HEIGHT, free_position
from workbench.core.shapes import Analysis, Issue, analyze
from workbench.core.text import CLIPBOARD_NOT_LAYERS


class PortRef(NamedTuple):
    """One port of a node: ``kind`` is "in" or "out"; ``port`` numbers the inputs from 0."""

    node: str
    kind: str
    port: int = 0


def connection(a: PortRef, b: PortRef) -> Edge | None:
    """The connection that dragging from port ``a`` to port ``b`` asks for: an output to
    an input, whichever end the drag started at; None for two ports of one kind or of one
    node."""
    if a.node == b.node or a.kind == b.kind:
        return None
    out, inp = (a, b) if a.kind == "out" else (b, a)
    return Edge(out.node, inp.node, inp.port)


def makes_cycle(graph: Graph, edge: Edge) -> bool:
    """Whether adding ``edge`` would make a cycle (the graph refuses those)."""
    return edge.src == edge.dst or edge.dst in graph.ancestors(edge.src)


def is_connected(graph: Graph, node_id: str) -> bool:
    """Whether any connection goes into or out of ``node_id``."""
    return any(node_id in (e.src, e.dst) for e in graph.edges)


def first_fix(analysis: Analysis, node_id: str) -> Issue | None:
    """The node's first issue that comes with a one-click fix on one of its connections."""
    for issue in analysis.issues_for(node_id):
        if issue.fix and issue.edge is not None:
            return issue
    return None


def fits_on_edge(layer: catalog.LayerType) -> bool:
    """Whether ``layer`` can be inserted on a connection: it takes exactly one input and is
    neither the model's Input nor its Output."""
    return (
        layer.name not in ("Input", "Output")
        and isinstance(layer.inputs, int)
        and layer.inputs == 1
    )


def menu_layers(on_edge: bool) -> dict[str, list[str]]:
    """The names of the layers a menu offers, by palette group: every layer, or with
    ``on_edge`` those that :func:`fits_on_edge`. Groups left empty are left out."""
    groups: dict[str, list[str]] = {}
    for group, layers in catalog.by_group().items():
        names = [layer.name for layer in layers if not on_edge or fits_on_edge(layer)]
        if names:
            groups[group] = names
    return groups


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


def duplicate_beside(graph: Graph, node_ids: Iterable[str]) -> list[str]:
    """Copy ``node_ids`` (and the edges among them) to the right of the originals, on the
    nearest spot where the copy overlaps nothing; return the new ids."""
    ids = list(node_ids)
    left = min(graph.nodes[n].pos[0] for n in ids)
    top = min(graph.nodes[n].pos[1] for n in ids)
    x, y = free_position(graph, (left + NODE_WIDTH + 30, top), NODE_SIZE)
    return duplicate(graph, ids, (x - left, y - top))


def copy_data(graph: Graph, node_ids: Iterable[str]) -> bytes:
    """``node_ids`` and the edges among them as the clipboard holds them (UTF-8 JSON)."""
    return json.dumps(graph.subgraph_dict(node_ids)).encode("utf-8")


def read_copy_data(raw: bytes) -> dict[str, Any]:
    """The layers in clipboard data that :func:`copy_data` wrote.

    Raises:
        GraphError: the data is not copied layers.
    """
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), list):
        raise GraphError(CLIPBOARD_NOT_LAYERS)
    return data


def paste(graph: Graph, data: dict[str, Any], offset: tuple[float, float]) -> list[str]:
    """Add the copied layers in ``data`` with fresh ids, moved by ``offset``; return the ids.

    Raises:
        GraphError: the graph refuses a connection among them, or the data is malformed.
    """
    try:
        return graph.paste(data, offset)
    except GraphError:
        raise
    except (KeyError, TypeError, IndexError, ValueError):
        raise GraphError(CLIPBOARD_NOT_LAYERS) from None


def replace_graph(graph: Graph, data: dict[str, Any]) -> None:
    """Make ``graph`` the model ``data`` describes (:meth:`Graph.to_dict` data), in place:
    a model restored from a run's record is one undo step.

    Raises:
        GraphError: ``data`` is not a valid graph (``graph`` is then left as it was).
    """
    try:
        new = Graph.from_dict(data)
    except GraphError:
        raise
    except (KeyError, TypeError, IndexError, ValueError) as e:
        raise GraphError(f"the recorded model is damaged ({type(e).__name__}: {e})") from None
    graph.nodes = new.nodes
    graph.edges = new.edges


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


def delete(
    graph: Graph, node_ids: Iterable[str], edges: Iterable[Edge] = ()
) -> tuple[list[Edge], list[str]]:
    """Delete connections and layers in one gesture: ``edges`` first (those of a deleted
    layer go with it anyway), then the layers, as :func:`remove_and_reconnect` does.

    Returns:
        What :func:`remove_and_reconnect` returns.
    """
    ids = list(node_ids)
    for e in edges:
        if e.src not in ids and e.dst not in ids:
            graph.disconnect(e)
    return remove_and_reconnect(graph, ids)


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
