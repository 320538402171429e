"""Where things go on the canvas: node boxes and their ports, automatic layout (layers flow
top to bottom), free spots, edge paths routed around nodes, zoom limits, the grid, pasting
and finding nodes by name. Plain geometry, no Qt."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TypeVar

from workbench.core.graph import Graph

#: A node's box, centred on ``Node.pos``; the rows and columns below leave room between boxes.
NODE_WIDTH = 180.0
NODE_HEIGHT = 56.0
NODE_SIZE = (NODE_WIDTH, NODE_HEIGHT)
ROW_HEIGHT = 80.0
COLUMN_WIDTH = 230.0
#: Room kept between an edge routed around nodes and those nodes.
DETOUR_MARGIN = 26.0
#: Edges longer than this (top to bottom) look for nodes in their way.
LONG_EDGE = 1.6 * ROW_HEIGHT
MIN_ZOOM = 0.1
MAX_ZOOM = 4.0
#: A newly shown model is not shrunk below this zoom, so its text stays readable.
READABLE_ZOOM = 0.8
#: The finest spacing of the canvas's background grid, in scene units.
GRID = 20.0
#: How close (in screen pixels) a dragged connection must end to a port to snap to it.
SNAP_PIXELS = 14.0

#: A point as (x, y).
Point = tuple[float, float]
#: A rectangle as (left, top, width, height).
Box = tuple[float, float, float, float]
#: One step of a path from where the path is: ``(end,)`` is a straight line and
#: ``(control1, control2, end)`` a cubic curve.
Step = tuple[Point, ...]

#: Where a node's output port sits, from the node's centre: the middle of the bottom edge.
OUTPUT_PORT_OFFSET: Point = (0.0, NODE_HEIGHT / 2)

_T = TypeVar("_T")


def input_port_offsets(count: int) -> list[Point]:
    """Where a node's ``count`` input ports sit, from its centre: spread evenly along the
    top edge, numbered left to right."""
    return [
        (-NODE_WIDTH / 2 + NODE_WIDTH * (i + 1) / (count + 1), -NODE_HEIGHT / 2)
        for i in range(count)
    ]


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


def curve(start: Point, end: Point) -> list[Step]:
    """An edge's plain path: leaving ``start`` (an output) downwards and arriving at ``end``
    (an input) from above; one going back up bends further out so it stays visible."""
    dy = end[1] - start[1]
    bend = max(30.0, abs(dy) / 2) if dy >= 0 else max(60.0, abs(dy) / 2)
    return [((start[0], start[1] + bend), (end[0], end[1] - bend), end)]


def detour(start: Point, end: Point, lane: float, bend: float = 30.0) -> list[Step]:
    """An edge's path down the vertical lane at x ``lane``: a curve out of ``start`` into the
    lane, straight down it, and a curve into ``end``."""
    (x1, y1), (x2, y2) = start, end
    return [
        ((x1, y1 + bend * 0.6), (lane, y1 + bend * 0.4), (lane, y1 + bend)),
        ((lane, y2 - bend),),
        ((lane, y2 - bend * 0.4), (x2, y2 - bend * 0.6), end),
    ]


def edge_route(start: Point, end: Point, boxes: Iterable[Box]) -> list[Step]:
    """The path of an edge from an output at ``start`` to an input at ``end``.

    A long edge (a skip connection) goes around the ``boxes`` in its way (see
    :func:`detour_lane`); any other edge is a plain :func:`curve`. ``boxes`` is only read
    for a long edge, so it may be a generator that is costly to run.
    """
    if end[1] - start[1] > LONG_EDGE:
        lane = detour_lane(start, end, boxes)
        if lane is not None:
            return detour(start, end, lane)
    return curve(start, end)


def nearest(points: Iterable[tuple[_T, Point]], target: Point, radius: float) -> _T | None:
    """The key of the point nearest to ``target`` and at most ``radius`` from it (the last
    of equally near points), or None when none is that near."""
    best: _T | None = None
    best_d = radius * radius
    for key, (x, y) in points:
        dist = (x - target[0]) ** 2 + (y - target[1]) ** 2
        if dist <= best_d:
            best, best_d = key, dist
    return best


def snap_radius(zoom: float) -> float:
    """:data:`SNAP_PIXELS` in scene units at ``zoom``, so snapping feels the same at any zoom."""
    return SNAP_PIXELS / max(zoom, 1e-6)


def zoom_factor(current: float, factor: float, minimum: float, maximum: float) -> float:
    """The factor that scales a view at ``current`` zoom by ``factor`` without leaving
    [``minimum``, ``maximum``]; exactly 1.0 when the zoom would not change."""
    target = min(maximum, max(minimum, current * factor))
    step = target / current
    return 1.0 if abs(step - 1.0) < 1e-9 else step


def fit_zoom(fitted: float, minimum: float = MIN_ZOOM) -> float:
    """The zoom that shows a whole model, given the zoom at which it just fits: never
    magnified beyond 100 % and never below ``minimum``."""
    return min(1.0, max(minimum, fitted))


def top_view_center(bounds: Box, visible_height: float, margin: float = 30.0) -> Point:
    """Where to centre a view ``visible_height`` tall so that it shows ``bounds`` from its
    top, ``margin`` above it (for a model too tall to fit readably)."""
    left, top, width, _ = bounds
    return (left + width / 2, top - margin + visible_height / 2)


def grid_spacing(scale: float, base: float = GRID, min_pixels: float = 14.0) -> float:
    """The finest grid spacing worth drawing at zoom ``scale``: ``base`` times a power of 5,
    at least ``min_pixels`` apart on screen."""
    step = base
    if scale <= 0:
        return step
    while step * scale < min_pixels:
        step *= 5
    return step


def moved_nodes(graph: Graph, shown: Mapping[str, Point]) -> dict[str, tuple[int, int]]:
    """The nodes whose ``shown`` position, rounded to whole units, is not where the graph has
    them, with that rounded position (nodes no longer in the graph are left out)."""
    moved: dict[str, tuple[int, int]] = {}
    for nid, (x, y) in shown.items():
        node = graph.nodes.get(nid)
        if node is None:
            continue
        pos = (round(x), round(y))
        if (float(pos[0]), float(pos[1])) != node.pos:
            moved[nid] = pos
    return moved


class PasteCascade:
    """How far pasted layers land from the copied ones: each paste of the same layers lands
    one step further, so the copies do not pile up on one spot."""

    STEP = 40.0

    def __init__(self) -> None:
        self._count = 0
        self._last: bytes = b""

    def offset(self, data: bytes) -> Point:
        """The offset for pasting ``data`` (the copied layers as the clipboard holds them)."""
        self._count = self._count + 1 if data == self._last else 1
        self._last = data
        step = self.STEP * self._count
        return (step, step)

    def restart(self) -> None:
        """Start again: the next paste lands one step from the copied layers."""
        self._count = 0
        self._last = b""


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
