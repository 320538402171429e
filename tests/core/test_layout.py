"""Canvas geometry without Qt: node boxes and ports, layout, free spots, edge paths, zoom
limits, the grid, moves and pastes, finding nodes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from workbench.core.graph import Graph
from workbench.core.layout import (
    COLUMN_WIDTH,
    DETOUR_MARGIN,
    GRID,
    LONG_EDGE,
    MIN_ZOOM,
    NODE_HEIGHT,
    NODE_WIDTH,
    OUTPUT_PORT_OFFSET,
    ROW_HEIGHT,
    SNAP_PIXELS,
    PasteCascade,
    auto_layout,
    curve,
    detour,
    detour_lane,
    edge_route,
    find_nodes,
    fit_zoom,
    free_position,
    grid_spacing,
    input_port_offsets,
    moved_nodes,
    nearest,
    snap_radius,
    top_view_center,
    zoom_factor,
)


def _chain() -> Graph:
    g = Graph()
    g.add_node("Input", node_id="input_1", pos=(500.0, 500.0))
    g.add_node("Linear", node_id="linear_1", pos=(0.0, 0.0))
    g.add_node("ReLU", node_id="relu_1", pos=(0.0, 0.0))
    g.add_node("Linear", node_id="linear_2", pos=(0.0, 0.0))
    g.connect("input_1", "linear_1")
    g.connect("linear_1", "relu_1")
    g.connect("relu_1", "linear_2")
    return g


# --- node boxes and ports ----------------------------------------------------------------------


def test_node_boxes_fit_between_rows_and_columns() -> None:
    assert NODE_HEIGHT < ROW_HEIGHT and NODE_WIDTH < COLUMN_WIDTH


def test_input_ports_spread_evenly_along_the_top_edge_and_the_output_sits_below() -> None:
    assert input_port_offsets(0) == []
    assert input_port_offsets(1) == [(0.0, -NODE_HEIGHT / 2)]
    xs = [x for x, _ in input_port_offsets(3)]
    assert xs == [-NODE_WIDTH / 4, 0.0, NODE_WIDTH / 4]  # numbered left to right
    assert all(y == -NODE_HEIGHT / 2 for _, y in input_port_offsets(3))
    assert OUTPUT_PORT_OFFSET == (0.0, NODE_HEIGHT / 2)


# --- auto_layout and free_position --------------------------------------------------------------


def test_auto_layout_runs_a_chain_straight_down() -> None:
    g = _chain()
    positions = auto_layout(g, origin=(10.0, 20.0))
    assert positions == {
        "input_1": (10.0, 20.0),
        "linear_1": (10.0, 20.0 + ROW_HEIGHT),
        "relu_1": (10.0, 20.0 + 2 * ROW_HEIGHT),
        "linear_2": (10.0, 20.0 + 3 * ROW_HEIGHT),
    }
    assert g.nodes["linear_2"].pos == (10.0, 20.0 + 3 * ROW_HEIGHT)


def test_auto_layout_puts_branches_side_by_side() -> None:
    g = Graph()
    g.add_node("Input", node_id="input_1")
    g.add_node("ReLU", node_id="a")
    g.add_node("ReLU", node_id="b")
    g.connect("input_1", "a")
    g.connect("input_1", "b")
    positions = auto_layout(g)
    assert positions["a"][1] == positions["b"][1] == ROW_HEIGHT
    assert abs(positions["a"][0] - positions["b"][0]) == COLUMN_WIDTH
    assert positions["a"][0] + positions["b"][0] == 0.0  # centred on the origin


def test_free_position_keeps_a_free_spot_and_avoids_taken_ones() -> None:
    g = Graph()
    assert free_position(g, (5.0, 7.0), (180.0, 56.0)) == (5.0, 7.0)
    g.add_node("ReLU", node_id="a", pos=(0.0, 0.0))
    x, y = free_position(g, (0.0, 0.0), (180.0, 56.0))
    assert abs(x) >= 180.0 + 16.0 or abs(y) >= 56.0 + 16.0
    # The nearest free spot: half a box sideways is not enough, one row down is.
    assert (x, y) in {(0.0, 72.0), (0.0, -72.0)}


# --- detour_lane --------------------------------------------------------------------------------


def test_no_detour_when_nothing_is_in_the_way() -> None:
    assert detour_lane((0.0, 0.0), (0.0, 400.0), []) is None
    beside = (100.0, 100.0, 180.0, 56.0)  # well to the right of the corridor
    assert detour_lane((0.0, 0.0), (0.0, 400.0), [beside]) is None
    touching = (2.0, 100.0, 50.0, 56.0)  # its left edge is the corridor's right edge
    assert detour_lane((0.0, 0.0), (0.0, 400.0), [touching]) is None


def test_detour_goes_around_the_boxes_on_the_shorter_side() -> None:
    # A box centred a little right of the edge: going left is shorter.
    box = (-80.0, 150.0, 180.0, 56.0)
    assert detour_lane((0.0, 0.0), (0.0, 400.0), [box]) == -80.0 - DETOUR_MARGIN
    # Centred a little left: going right is shorter.
    box = (-100.0, 150.0, 180.0, 56.0)
    assert detour_lane((0.0, 0.0), (0.0, 400.0), [box]) == 80.0 + DETOUR_MARGIN
    # A tie goes left.
    box = (-90.0, 150.0, 180.0, 56.0)
    assert detour_lane((0.0, 0.0), (0.0, 400.0), [box], margin=10.0) == -100.0


def test_detour_clears_every_box_in_the_way() -> None:
    boxes = [(-50.0, 100.0, 100.0, 50.0), (-200.0, 200.0, 300.0, 50.0)]
    lane = detour_lane((0.0, 0.0), (0.0, 400.0), boxes)
    assert lane == 100.0 + DETOUR_MARGIN


def test_detour_of_a_degenerate_corridor_is_none() -> None:
    assert detour_lane((0.0, 100.0), (0.0, 102.0), [(-5.0, 0.0, 10.0, 500.0)]) is None


# --- edge paths and the nearest port --------------------------------------------------------


def test_a_curve_leaves_downwards_and_arrives_from_above() -> None:
    ((c1, c2, end),) = curve((0.0, 0.0), (50.0, 200.0))
    assert end == (50.0, 200.0)
    assert c1 == (0.0, 100.0) and c2 == (50.0, 100.0)  # half the height each way
    ((c1, c2, _),) = curve((0.0, 0.0), (0.0, 20.0))
    assert c1 == (0.0, 30.0) and c2 == (0.0, -10.0)  # a short edge still bends 30
    ((c1, c2, _),) = curve((0.0, 100.0), (0.0, 0.0))  # going back up bends further out
    assert c1 == (0.0, 160.0) and c2 == (0.0, -60.0)


def test_a_detour_runs_down_its_lane_between_two_curves() -> None:
    steps = detour((0.0, 0.0), (10.0, 400.0), lane=-120.0)
    assert len(steps) == 3
    assert steps[0][-1] == (-120.0, 30.0)
    assert steps[1] == ((-120.0, 370.0),)  # a straight line down the lane
    assert steps[2][-1] == (10.0, 400.0)


def test_edge_route_goes_around_boxes_only_for_a_long_edge() -> None:
    in_the_way = [(-90.0, 150.0, 180.0, 56.0)]
    long_end = (0.0, LONG_EDGE + 100.0)
    route = edge_route((0.0, 0.0), long_end, in_the_way)
    lane = detour_lane((0.0, 0.0), long_end, in_the_way)
    assert lane is not None and route == detour((0.0, 0.0), long_end, lane)
    assert edge_route((0.0, 0.0), long_end, []) == curve((0.0, 0.0), long_end)

    def never() -> Iterator[tuple[float, float, float, float]]:
        raise AssertionError("a short edge looked at the boxes")
        yield from in_the_way

    short_end = (0.0, LONG_EDGE)
    assert edge_route((0.0, 0.0), short_end, never()) == curve((0.0, 0.0), short_end)


def test_nearest_picks_the_closest_point_within_the_radius() -> None:
    points = [("a", (0.0, 10.0)), ("b", (3.0, 4.0)), ("c", (100.0, 0.0))]
    assert nearest(points, (0.0, 0.0), 14.0) == "b"
    assert nearest(points, (0.0, 0.0), 4.0) is None
    assert nearest(points, (0.0, 0.0), 5.0) == "b"  # the radius itself counts
    assert nearest([("x", (1.0, 0.0)), ("y", (0.0, 1.0))], (0.0, 0.0), 2.0) == "y"  # last of equals
    assert nearest([], (0.0, 0.0), 10.0) is None


def test_snapping_covers_the_same_screen_distance_at_any_zoom() -> None:
    assert snap_radius(1.0) == SNAP_PIXELS
    assert snap_radius(2.0) == SNAP_PIXELS / 2
    assert snap_radius(0.5) == SNAP_PIXELS * 2
    assert snap_radius(0.0) > 0


# --- zoom_factor --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "factor", "expected"),
    [
        (1.0, 1.25, 1.25),
        (3.5, 2.0, 4.0 / 3.5),  # stops at the maximum
        (0.2, 0.1, 0.1 / 0.2),  # stops at the minimum
        (4.0, 1.25, 1.0),  # already at the maximum: no change
        (0.1, 0.5, 1.0),
    ],
)
def test_zoom_factor_stays_within_limits(current: float, factor: float, expected: float) -> None:
    assert zoom_factor(current, factor, 0.1, 4.0) == pytest.approx(expected)


def test_zoom_factor_is_exactly_one_when_nothing_changes() -> None:
    assert zoom_factor(4.0, 1.25, 0.1, 4.0) == 1.0
    assert zoom_factor(1.0, 1.0 + 1e-12, 0.1, 4.0) == 1.0


# --- fit, first view, grid -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fitted", "expected"), [(2.5, 1.0), (1.0, 1.0), (0.5, 0.5), (0.01, MIN_ZOOM)]
)
def test_fit_zoom_never_magnifies_and_never_goes_below_the_minimum(
    fitted: float, expected: float
) -> None:
    assert fit_zoom(fitted) == expected


def test_top_view_center_shows_the_top_of_a_tall_model() -> None:
    x, y = top_view_center((-100.0, 50.0, 200.0, 5000.0), visible_height=600.0)
    assert x == 0.0
    assert y - 300.0 == 50.0 - 30.0  # the view's top edge is 30 above the model's top


def test_grid_spacing_grows_by_fives_to_stay_visible() -> None:
    assert grid_spacing(1.0) == GRID
    assert grid_spacing(0.5) == 5 * GRID  # 20 * 0.5 = 10 px is too fine
    assert grid_spacing(0.1) == 25 * GRID
    assert grid_spacing(4.0) == GRID
    assert grid_spacing(0.0) == GRID


# --- moves and pastes ----------------------------------------------------------------------------


def test_moved_nodes_reports_rounded_positions_that_differ() -> None:
    g = _chain()
    shown = {
        "input_1": (500.2, 499.8),  # rounds to where it is
        "linear_1": (10.6, -3.4),
        "gone": (1.0, 1.0),  # no longer in the graph
    }
    assert moved_nodes(g, shown) == {"linear_1": (11, -3)}
    assert moved_nodes(g, {}) == {}


def test_pasting_the_same_layers_again_lands_a_step_further() -> None:
    cascade = PasteCascade()
    assert cascade.offset(b"a") == (40.0, 40.0)
    assert cascade.offset(b"a") == (80.0, 80.0)
    assert cascade.offset(b"b") == (40.0, 40.0)  # other layers start again
    cascade.restart()
    assert cascade.offset(b"b") == (40.0, 40.0)


# --- find_nodes ---------------------------------------------------------------------------------


def test_find_nodes_puts_exact_matches_first_then_top_to_bottom() -> None:
    g = _chain()
    auto_layout(g)
    assert find_nodes(g, "linear") == ["linear_1", "linear_2"]
    assert find_nodes(g, "  RELU ") == ["relu_1"]
    assert find_nodes(g, "linear_2") == ["linear_2"]
    assert find_nodes(g, "in") == ["input_1", "linear_1", "linear_2"]
    g.move_node("linear_1", (0.0, 1000.0))
    assert find_nodes(g, "lin") == ["linear_2", "linear_1"]
    assert find_nodes(g, "") == [] and find_nodes(g, "   ") == []
    assert find_nodes(g, "conv") == []


def test_find_nodes_ranks_an_exact_id_before_a_partial_one() -> None:
    g = Graph()
    g.add_node("ReLU", node_id="head_2", pos=(0.0, 0.0))
    g.add_node("Linear", node_id="head", pos=(0.0, 900.0))
    assert find_nodes(g, "head") == ["head", "head_2"]  # exact, though lower on the canvas
    assert find_nodes(g, "head_") == ["head_2"]
