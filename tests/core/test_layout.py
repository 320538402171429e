"""Canvas geometry without Qt: layout, free spots, edge detours, zoom limits, finding nodes."""

from __future__ import annotations

import pytest

from workbench.core.graph import Graph
from workbench.core.layout import (
    COLUMN_WIDTH,
    DETOUR_MARGIN,
    ROW_HEIGHT,
    auto_layout,
    detour_lane,
    find_nodes,
    free_position,
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
