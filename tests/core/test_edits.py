"""One-gesture graph edits: fixes from shape errors, inserting, deleting with reconnection."""

from __future__ import annotations

import pytest

from workbench.core import edits
from workbench.core.graph import Edge, Graph, GraphError
from workbench.core.layout import ROW_HEIGHT, auto_layout, free_position
from workbench.core.shapes import analyze
from workbench.core.templates import chain


def linear_on_image() -> Graph:
    g, _ = chain(
        [
            ("Input", {"shape": [1, 28, 28]}),
            ("Conv2d", {"out_channels": 4, "kernel_size": 3}),
            ("Linear", {"units": 8}),
            ("Output", {"num_classes": 3}),
        ]
    )
    auto_layout(g)
    return g


def test_a_linear_on_a_4d_input_carries_an_insert_flatten_fix():
    g = linear_on_image()
    (issue,) = analyze(g).issues_for("linear_1")
    assert issue.severity == "error"
    assert issue.fix == "Flatten"
    assert issue.fix_label == "Insert Flatten before this layer"
    assert issue.edge == Edge("conv2d_1", "linear_1")


def test_an_output_on_a_4d_input_offers_flatten_and_errors_without_a_fix_have_none():
    g, _ = chain([("Input", {"shape": [1, 8, 8]}), ("Output", {"num_classes": 3})])
    (issue,) = analyze(g).issues_for("output_1")
    assert issue.fix == "Flatten"
    g2, _ = chain([("Input", {"shape": [5]}), ("Conv2d", {}), ("Output", {})])
    assert all(i.fix is None for i in analyze(g2).issues)


def test_applying_the_fix_inserts_the_layer_on_the_input_and_the_model_is_valid():
    g = linear_on_image()
    below = g.nodes["linear_1"].pos
    out_before = g.nodes["output_1"].pos
    new = edits.insert_before(g, "linear_1", "Flatten")
    assert g.nodes[new].type == "Flatten"
    assert Edge("conv2d_1", new) in g.edges and Edge(new, "linear_1") in g.edges
    assert Edge("conv2d_1", "linear_1") not in g.edges
    assert analyze(g).ok
    # The new layer takes the fixed layer's place; everything below moves a row down.
    assert g.nodes[new].pos == below
    assert g.nodes["linear_1"].pos == (below[0], below[1] + ROW_HEIGHT)
    assert g.nodes["output_1"].pos == (out_before[0], out_before[1] + ROW_HEIGHT)


def test_insert_before_an_unconnected_input_is_refused():
    g = Graph()
    g.add_node("Linear")
    with pytest.raises(GraphError):
        edits.insert_before(g, "linear_1", "Flatten")


def test_deleting_a_middle_layer_reconnects_its_neighbours_when_shapes_fit():
    g, _ = chain(
        [("Input", {"shape": [8]}), ("Linear", {"units": 4}), ("ReLU", {}), ("Output", {})]
    )
    made, notes = edits.remove_and_reconnect(g, ["relu_1"])
    assert made == [Edge("linear_1", "output_1")] and notes == []
    assert Edge("linear_1", "output_1") in g.edges and analyze(g).ok


def test_deleting_a_middle_layer_does_not_reconnect_when_shapes_do_not_fit():
    g, _ = chain(
        [("Input", {"shape": [1, 8, 8]}), ("Flatten", {}), ("Linear", {"units": 4}), ("Output", {})]
    )
    made, notes = edits.remove_and_reconnect(g, ["flatten_1"])
    assert made == []
    assert len(notes) == 1 and "Flatten" in notes[0]
    assert not any(e.dst == "linear_1" for e in g.edges)


def test_deleting_a_multi_input_or_an_end_layer_does_not_bridge():
    g, _ = chain([("Input", {"shape": [8]}), ("Linear", {"units": 4}), ("Output", {})])
    made, _ = edits.remove_and_reconnect(g, ["input_1"])
    assert made == [] and "input_1" not in g.nodes


def test_duplicate_and_disconnect_all():
    g, _ = chain(
        [("Input", {"shape": [8]}), ("Linear", {"units": 4}), ("ReLU", {}), ("Output", {})]
    )
    new = edits.duplicate(g, ["linear_1", "relu_1"], (300, 0))
    assert [g.nodes[n].type for n in new] == ["Linear", "ReLU"]
    assert Edge(new[0], new[1]) in g.edges
    assert edits.disconnect_all(g, "relu_1") == 2
    assert not any("relu_1" in (e.src, e.dst) for e in g.edges)


def test_free_position_avoids_every_node_box():
    g, _ = chain([("Input", {"shape": [8]}), ("Linear", {"units": 4}), ("Output", {})])
    auto_layout(g)
    size = (180.0, 56.0)
    x, y = free_position(g, g.nodes["linear_1"].pos, size)
    for n in g:
        assert abs(x - n.pos[0]) >= size[0] or abs(y - n.pos[1]) >= size[1]
    # Close to where it was asked for: one box away, not across the canvas.
    lx, ly = g.nodes["linear_1"].pos
    assert abs(x - lx) <= 2 * size[0] and abs(y - ly) <= 2 * size[1]
    assert free_position(g, (5000.0, 5000.0), size) == (5000.0, 5000.0)
