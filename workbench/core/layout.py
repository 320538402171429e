"""Automatic layout of a graph on the canvas: layers flow top to bottom."""

from __future__ import annotations

from workbench.core.graph import Graph

ROW_HEIGHT = 80.0
COLUMN_WIDTH = 230.0


def auto_layout(
    graph: Graph, origin: tuple[float, float] = (0.0, 0.0)
) -> dict[str, tuple[float, float]]:
    """Place every node by its depth (longest path from a source) and return the positions.

    Nodes of one depth share a row, centred on the origin's x; the main chain of a
    model therefore runs straight down and branches sit beside it.
    """
    try:
        order = graph.topo_order()
    except Exception:
        order = list(graph.nodes)
    depth: dict[str, int] = {n: 0 for n in order}
    index = {n: i for i, n in enumerate(order)}
    preds: dict[str, list[str]] = {n: [] for n in order}
    for e in graph.edges:
        preds[e.dst].append(e.src)
    for n in order:
        if preds[n]:
            depth[n] = 1 + max(depth[p] for p in preds[n])
    rows: dict[int, list[str]] = {}
    for n in order:
        rows.setdefault(depth[n], []).append(n)
    positions: dict[str, tuple[float, float]] = {}
    ox, oy = origin
    for d, members in sorted(rows.items()):
        # Keep a node near the mean x of its parents so branches do not cross.
        def parent_x(n: str) -> float:
            xs = [positions[p][0] for p in preds[n] if p in positions]
            return sum(xs) / len(xs) if xs else ox

        members.sort(key=lambda n: (parent_x(n), index[n]))
        width = (len(members) - 1) * COLUMN_WIDTH
        for i, n in enumerate(members):
            positions[n] = (ox - width / 2 + i * COLUMN_WIDTH, oy + d * ROW_HEIGHT)
    for n, pos in positions.items():
        graph.move_node(n, pos)
    return positions


def free_position(
    graph: Graph,
    pos: tuple[float, float],
    size: tuple[float, float],
    gap: float = 16.0,
) -> tuple[float, float]:
    """The spot nearest to ``pos`` where a box of ``size`` (centred) overlaps no node.

    Every node is taken to be a box of ``size`` centred on its position; ``gap`` is the
    room kept between boxes. Candidates lie on a grid of one box plus the gap, searched
    outwards ring by ring, nearest first.
    """
    w, h = size[0] + gap, size[1] + gap
    boxes = [n.pos for n in graph]

    def free(x: float, y: float) -> bool:
        return all(abs(x - bx) >= w or abs(y - by) >= h for bx, by in boxes)

    x0, y0 = pos
    if free(x0, y0):
        return (x0, y0)
    for ring in range(1, 60):
        spots = [
            (x0 + i * w / 2, y0 + j * h)
            for i in range(-2 * ring, 2 * ring + 1)
            for j in range(-ring, ring + 1)
            if max(abs(i) / 2, abs(j)) >= ring - 0.5
        ]
        spots.sort(key=lambda p: ((p[0] - x0) ** 2 + (p[1] - y0) ** 2, p[1], p[0]))
        for x, y in spots:
            if free(x, y):
                return (x, y)
    return (x0, y0)
