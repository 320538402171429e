"""One-gesture graph edits: fixes from shape errors, inserting, deleting with reconnection,
duplicating, copy and paste, and what a drag or a menu offers."""

from __future__ import annotations

import pytest

from workbench.core import catalog, edits
from workbench.core.graph import Edge, Graph, GraphError
from workbench.core.layout import NODE_HEIGHT, NODE_WIDTH, ROW_HEIGHT, auto_layout, free_position
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


# --- what a gesture asks for -------------------------------------------------------------


def test_a_drag_between_ports_connects_an_output_to_an_input_either_way():
    out = edits.PortRef("a", "out")
    inp = edits.PortRef("b", "in", 1)
    assert edits.connection(out, inp) == Edge("a", "b", 1)
    assert edits.connection(inp, out) == Edge("a", "b", 1)  # dragged backwards
    assert edits.connection(out, edits.PortRef("b", "out")) is None  # two outputs
    assert edits.connection(edits.PortRef("b", "in", 0), inp) is None  # two inputs
    assert edits.connection(edits.PortRef("b", "out"), inp) is None  # one node


def test_makes_cycle_and_is_connected():
    g, _ = chain([("Linear", {}), ("Linear", {}), ("Linear", {})])
    assert edits.makes_cycle(g, Edge("linear_3", "linear_1"))
    assert edits.makes_cycle(g, Edge("linear_2", "linear_2"))
    assert not edits.makes_cycle(g, Edge("linear_1", "linear_3"))
    assert edits.is_connected(g, "linear_1")
    g.add_node("ReLU", node_id="alone")
    assert not edits.is_connected(g, "alone")


def test_first_fix_is_the_error_with_a_fix_on_a_connection():
    g = linear_on_image()
    issue = edits.first_fix(analyze(g), "linear_1")
    assert issue is not None and issue.fix == "Flatten"
    assert issue.edge == Edge("conv2d_1", "linear_1")
    assert edits.first_fix(analyze(g), "conv2d_1") is None
    g2 = Graph()
    g2.add_node("Linear")  # an error, but nothing connected to fix it on
    assert analyze(g2).issues_for("linear_1")
    assert edits.first_fix(analyze(g2), "linear_1") is None


def test_menus_offer_every_layer_and_on_a_connection_only_single_input_ones():
    every = edits.menu_layers(on_edge=False)
    on_edge = edits.menu_layers(on_edge=True)
    assert "Input" in every["Input & Output"] and "Add" in every["Merge"]
    names = [n for group in on_edge.values() for n in group]
    assert "ReLU" in names and "Linear" in names
    assert not {"Input", "Output", "Add", "Concat"} & set(names)
    assert all(on_edge.values())  # no empty groups
    assert list(on_edge) == [g for g in every if g in on_edge]  # palette order
    assert not edits.fits_on_edge(catalog.get("Output"))
    assert edits.fits_on_edge(catalog.get("Flatten"))


# --- duplicate, copy and paste, delete ---------------------------------------------------


def test_duplicate_beside_lands_right_of_the_originals_on_a_free_spot():
    g, _ = chain([("Input", {"shape": [8]}), ("Linear", {"units": 4}), ("Output", {})])
    auto_layout(g)
    new = edits.duplicate_beside(g, ["linear_1", "output_1"])
    assert Edge(new[0], new[1]) in g.edges
    x, y = g.nodes[new[0]].pos
    lx, ly = g.nodes["linear_1"].pos
    assert x > lx and y == ly
    # Nothing overlaps: the copies keep their places relative to each other.
    assert g.nodes[new[1]].pos[1] - y == g.nodes["output_1"].pos[1] - ly
    boxes = [n.pos for n in g]
    for i, (ax, ay) in enumerate(boxes):
        for bx, by in boxes[i + 1 :]:
            assert abs(ax - bx) >= NODE_WIDTH or abs(ay - by) >= NODE_HEIGHT


def test_copy_and_paste_round_trip_with_fresh_ids():
    g, _ = chain([("Input", {"shape": [8]}), ("Linear", {"units": 5}), ("Output", {})])
    raw = edits.copy_data(g, ["input_1", "linear_1"])
    new = edits.paste(g, edits.read_copy_data(raw), (40.0, 40.0))
    assert len(new) == 2 and not set(new) & {"input_1", "linear_1", "output_1"}
    assert g.nodes[new[1]].params["units"] == 5 and Edge(new[0], new[1]) in g.edges
    assert g.nodes[new[0]].pos == (g.nodes["input_1"].pos[0] + 40, g.nodes["input_1"].pos[1] + 40)


@pytest.mark.parametrize(
    "raw", [b"not json", b"\xff\xfe", b"[1, 2]", b'{"edges": []}', b'{"nodes": "x"}']
)
def test_clipboard_data_that_is_not_layers_is_refused_in_words(raw: bytes):
    with pytest.raises(GraphError, match="does not hold layers"):
        edits.read_copy_data(raw)


def test_pasting_malformed_layers_is_refused_in_words_and_a_graph_error_stays_itself():
    g = Graph()
    with pytest.raises(GraphError, match="does not hold layers"):
        edits.paste(g, {"nodes": [{"id": "x"}], "edges": []}, (0.0, 0.0))
    cyclic = {
        "nodes": [
            {"id": "a", "type": "Linear", "params": {}, "pos": [0, 0]},
            {"id": "b", "type": "Linear", "params": {}, "pos": [0, 80]},
        ],
        "edges": [{"src": "a", "dst": "b", "port": 0}, {"src": "b", "dst": "a", "port": 0}],
    }
    with pytest.raises(GraphError, match="cycle"):
        edits.paste(g, cyclic, (0.0, 0.0))


def test_delete_removes_loose_connections_and_layers_and_joins_neighbours():
    g, _ = chain(
        [("Input", {"shape": [8]}), ("Linear", {"units": 4}), ("ReLU", {}), ("Output", {})]
    )
    g.add_node("ReLU", node_id="side")
    g.connect("input_1", "side")
    # The edge into relu_1 goes with it; the edge to "side" is deleted on its own.
    made, notes = edits.delete(g, ["relu_1"], [Edge("linear_1", "relu_1"), Edge("input_1", "side")])
    assert made == [Edge("linear_1", "output_1")] and notes == []
    assert "relu_1" not in g.nodes and Edge("input_1", "side") not in g.edges
    assert edits.delete(g, [], [Edge("input_1", "linear_1")]) == ([], [])
    assert Edge("input_1", "linear_1") not in g.edges


def test_replace_graph_is_one_undo_step_and_refuses_damaged_data():
    from workbench.core.document import Document
    from workbench.core.templates import make_project

    doc = Document(make_project("mlp"))
    before = doc.graph.to_dict()
    restored, _ = chain([("Input", {"shape": [4]}), ("Linear", {"units": 3}), ("Output", {})])
    doc.edit("Restore model", lambda g: edits.replace_graph(g, restored.to_dict()))
    assert doc.graph.to_dict() == restored.to_dict() and doc.undo_label() == "Restore model"
    assert doc.undo() and doc.graph.to_dict() == before and not doc.can_undo()
    for damaged in (
        {"nodes": [{"id": "a"}], "edges": []},
        {"edges": []},
        {"nodes": "x", "edges": []},
    ):
        with pytest.raises(GraphError):
            doc.edit("Restore", lambda g, d=damaged: edits.replace_graph(g, d))
        assert doc.graph.to_dict() == before and not doc.can_undo()
