"""Where things go on the canvas: automatic layout (layers flow top to bottom), free spots,
edges routed around nodes, zoom limits and finding nodes by name. Plain geometry, no Qt."""

from __future__ import annotations

from collections.abc import Iterable

from workbench.core.graph import Graph

ROW_HEIGHT = 80.0
COLUMN_WIDTH = 230.0
#: Room kept between an edge routed around nodes and those nodes.
DETOUR_MARGIN = 26.0

#: A rectangle as (left, top, width, height).
Box = tuple[float, float, float, float]


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


def _overlaps(box: Box, left: float, top: float, right: float, bottom: float) -> bool:
    """Whether ``box`` and the rectangle share some area (touching edges do not count)."""
    x, y, w, h = box
    if w == 0 or h == 0:
        return False
    bl, br = (x + w, x) if w < 0 else (x, x + w)
    bt, bb = (y + h, y) if h < 0 else (y, y + h)
    return bl < right and left < br and bt < bottom and top < bb


def detour_lane(
    start: tuple[float, float],
    end: tuple[float, float],
    boxes: Iterable[Box],
    margin: float = DETOUR_MARGIN,
) -> float | None:
    """The x of a vertical lane for an edge running down from ``start`` to ``end`` that
    passes beside the ``boxes`` in its way, or None when none is in the way.

    The way is the corridor between the two ends (2 units in from each). The lane runs
    ``margin`` to the left or the right of all the boxes in it, on the side that makes
    the shorter edge (left on a tie).
    """
    (x1, y1), (x2, y2) = start, end
    left, right = min(x1, x2) - 2, max(x1, x2) + 2
    top, bottom = y1 + 2, y2 - 2
    if right <= left or bottom <= top:
        return None
    blockers = [b for b in boxes if _overlaps(b, left, top, right, bottom)]
    if not blockers:
        return None
    lane_left = min(min(b[0], b[0] + b[2]) for b in blockers) - margin
    lane_right = max(max(b[0], b[0] + b[2]) for b in blockers) + margin
    cost_left = abs(x1 - lane_left) + abs(x2 - lane_left)
    cost_right = abs(x1 - lane_right) + abs(x2 - lane_right)
    return lane_left if cost_left <= cost_right else lane_right


def zoom_factor(current: float, factor: float, minimum: float, maximum: float) -> float:
    """The factor that scales a view at ``current`` zoom by ``factor`` without leaving
    [``minimum``, ``maximum``]; exactly 1.0 when the zoom would not change."""
    target = min(maximum, max(minimum, current * factor))
    step = target / current
    return 1.0 if abs(step - 1.0) < 1e-9 else step


def find_nodes(graph: Graph, text: str) -> list[str]:
    """Ids of the nodes whose id or type contains ``text`` (case-insensitive).

    Exact matches of the id or the type come first, then the rest, each from the top of
    the canvas down and left to right. Blank ``text`` finds nothing.
    """
    needle = text.strip().casefold()
    if not needle:
        return []
    hits = [n for n in graph if needle in n.id.casefold() or needle in n.type.casefold()]
    hits.sort(
        key=lambda n: (
            n.id.casefold() != needle and n.type.casefold() != needle,
            n.pos[1],
            n.pos[0],
        )
    )
    return [n.id for n in hits]
